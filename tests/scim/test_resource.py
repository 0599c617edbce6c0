"""POST/PUT body normalisation (RFC 7643 §2-3, §8) and the document model's invariants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scimhub.scim.errors import InvalidSyntax, InvalidValue, UndefinedAttribute
from scimhub.scim.render import render
from scimhub.scim.resource import normalize
from scimhub.scim.schemas import ENTERPRISE_URN, GROUP, GROUP_URN, USER, USER_URN, ResourceType

SAMPLES = Path(__file__).parent / "samples"
DERIVED = ("groups", "members")


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return loaded


@pytest.mark.parametrize(
    ("name", "rt"),
    [
        ("user_minimal.json", USER),
        ("user_full.json", USER),
        ("user_enterprise.json", USER),
        ("group.json", GROUP),
    ],
)
def test_rfc_examples_round_trip(name: str, rt: ResourceType) -> None:
    """Each RFC 7643 §8 example normalises to a document without id/meta/derived/password,
    and rendering it with those restored gives the example back (less the password, which
    is returned=never, and readOnly sub-attributes the store derives)."""
    original = sample(name)
    result = normalize(rt, original)
    assert not {"id", "meta", "password", *DERIVED} & result.doc.keys()
    assert result.doc["schemas"] == original["schemas"]
    derived = {k: original[k] for k in DERIVED if k in original}
    rendered = render(
        result.doc, resource_id=original["id"], meta=original["meta"], derived=derived
    )
    expected = {k: v for k, v in original.items() if k != "password"}
    if ENTERPRISE_URN in expected:  # manager.displayName is readOnly: derived, not stored
        del expected[ENTERPRISE_URN]["manager"]["displayName"]
    assert rendered == expected
    assert list(rendered)[:2] == ["schemas", "id"]
    assert list(rendered)[-1] == "meta"
    assert normalize(rt, rendered).doc == result.doc  # idempotent


def test_full_user_password_and_groups() -> None:
    result = normalize(USER, sample("user_full.json"))
    assert result.password == "n0t-a-real-Secret"
    assert "groups" not in result.doc
    assert result.members == []


def test_group_members_come_back_separately_without_display() -> None:
    result = normalize(GROUP, sample("group.json"))
    assert result.doc == {"schemas": [GROUP_URN], "displayName": "Engineering"}
    assert [m["value"] for m in result.members] == [
        "7c1e0f42-3b5a-4d8e-9f10-a2b3c4d5e6f7",
        "9e8d7c6b-5a49-4382-b1a0-fedcba987654",
    ]
    assert all("display" not in m and "$ref" in m for m in result.members)


def test_names_map_case_insensitively_to_canonical() -> None:
    result = normalize(
        USER,
        {
            "USERNAME": "a@x",
            "Name": {"GIVENNAME": "A"},
            "emails": [{"VALUE": "a@x", "Primary": "true"}],
            ENTERPRISE_URN.upper(): {"Department": "D"},
        },
    )
    assert result.doc == {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "userName": "a@x",
        "name": {"givenName": "A"},
        "emails": [{"value": "a@x", "primary": True}],
        ENTERPRISE_URN: {"department": "D"},
    }


def test_urn_prefixed_top_level_keys() -> None:
    result = normalize(
        USER,
        {
            f"{USER_URN}:userName": "a@x",
            f"{ENTERPRISE_URN}:employeeNumber": "7",
            f"{ENTERPRISE_URN}:manager": {"value": "m"},
        },
    )
    assert result.doc == {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "userName": "a@x",
        ENTERPRISE_URN: {"employeeNumber": "7", "manager": {"value": "m"}},
    }


def test_ignored_silently() -> None:
    result = normalize(
        USER,
        {
            "schemas": [USER_URN, "urn:example:unknown"],
            "id": "client-chosen",
            "meta": {"version": "x"},
            "userName": "a@x",
            "groups": [{"value": "g"}],
            "nickName": None,
            "roles": [],
            "emails": [None],
            "name": {},
            ENTERPRISE_URN: {"schemas": [ENTERPRISE_URN], "department": None},
            "x509Certificates": [{"display": None}],
        },
    )
    assert result.doc == {"schemas": [USER_URN], "userName": "a@x"}


def test_single_object_for_multi_valued_is_wrapped_and_duplicates_collapse() -> None:
    result = normalize(
        USER,
        {"userName": "a@x", "emails": {"value": "a@x"}, "roles": [{"value": "r"}, {"value": "r"}]},
    )
    assert result.doc["emails"] == [{"value": "a@x"}]
    assert result.doc["roles"] == [{"value": "r"}]


@pytest.mark.parametrize(
    ("flag", "expected"),
    [(True, True), (False, False), ("True", True), ("false", False), ("FALSE", False)],
)
def test_boolean_strings(flag: Any, expected: bool) -> None:
    assert normalize(USER, {"userName": "a", "active": flag}).doc["active"] is expected


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"userName": "a", "active": "yes"}, "'active' must be a boolean"),
        ({"userName": "a", "active": 1}, "'active' must be a boolean"),
        ({"userName": 5}, "'userName' must be a string, got number 5"),
        ({"userName": "a", "name": "Ada"}, "'name' must be an object"),
        ({"userName": "a", "emails": ["a@x"]}, "'emails' must be an object"),
        ({"userName": "a", "emails": [{"value": 1}]}, "'emails.value' must be a string"),
        ({"userName": "a", "x509Certificates": [{"value": "not base64!"}]}, "base64"),
        ({"userName": "a", "favouriteColour": "blue"}, "unknown attribute 'favouriteColour'"),
        ({"userName": "a", "name": {"nick": "x"}}, "unknown attribute 'name.nick'"),
        ({"userName": "a", "urn:example:ext:User:x": 1}, "is not defined"),
        ({"userName": "a", ENTERPRISE_URN: "dept"}, "must be an object"),
        ({"userName": "a", ENTERPRISE_URN: {"floor": 3}}, "unknown attribute 'floor'"),
        ({"userName": "a", "username": "b"}, "given twice"),
        ({"userName": "a", "name": {"givenName": "x", "GivenName": "y"}}, "given twice"),
        ({"userName": "a\x00b"}, "must be a string"),
        ({}, "required attribute 'userName'"),
        ({"userName": "   "}, "required attribute 'userName'"),
        ({"userName": None}, "required attribute 'userName'"),
        ({"userName": "a", "schemas": "urn"}, "'schemas' must be an array"),
        (
            {
                "userName": "a",
                "emails": [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
            },
            "at most one",
        ),
    ],
)
def test_user_refusals(body: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize(USER, body)
    assert fragment in caught.value.detail


def test_group_refusals() -> None:
    with pytest.raises(InvalidValue, match="displayName"):
        normalize(GROUP, {"members": [{"value": "u"}]})
    with pytest.raises(InvalidValue, match="needs a 'value'"):
        normalize(GROUP, {"displayName": "g", "members": [{"type": "User"}]})
    with pytest.raises(InvalidValue, match="unknown attribute 'userName'"):
        normalize(GROUP, {"displayName": "g", "userName": "x"})


@pytest.mark.parametrize("body", [[], "text", None, 3])
def test_body_must_be_an_object(body: Any) -> None:
    with pytest.raises(InvalidSyntax):
        normalize(USER, body)


CUSTOM_URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


@pytest.mark.parametrize(
    "extra",
    [
        {CUSTOM_URN: {"schemas": [CUSTOM_URN], "costCenter": "CC1"}},  # nested, as Entra POSTs
        {f"{CUSTOM_URN}:costCenter": "CC1"},
    ],
)
def test_an_undefined_extension_attribute_is_named_with_whose_write_it_is(
    extra: dict[str, Any],
) -> None:
    body = {"schemas": [USER_URN, CUSTOM_URN], "userName": "ann", "externalId": "a1", **extra}
    with pytest.raises(UndefinedAttribute) as caught:
        normalize(USER, body)
    assert caught.value.name == f"{CUSTOM_URN}:costCenter"
    assert caught.value.subject == "ann"
    del body["userName"]
    with pytest.raises(UndefinedAttribute) as caught:
        normalize(USER, body)
    assert caught.value.subject == "a1"
