"""attributes / excludedAttributes (RFC 7644 §3.4.2.5) and `returned` (RFC 7643 §7)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scimhub.scim.errors import InvalidPath
from scimhub.scim.projection import Projection, needs, parse_attribute_list, project
from scimhub.scim.schemas import ENTERPRISE_URN, GROUP, USER, USER_URN

SAMPLES = Path(__file__).parent / "samples"


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return loaded


USER_DOC = load("user_enterprise.json")
GROUP_DOC = load("group.json")


def test_no_parameters_returns_default_attributes_and_never_the_password() -> None:
    leaked = {**USER_DOC, "password": "secret"}
    assert project(USER, leaked, None, None) == USER_DOC


def test_attributes_whitelist_keeps_id_and_schemas() -> None:
    assert project(USER, USER_DOC, ["userName"], None) == {
        "schemas": [USER_URN],
        "id": USER_DOC["id"],
        "userName": "grace@example.org",
    }


def test_attributes_with_sub_attributes_and_case() -> None:
    result = project(USER, USER_DOC, ["NAME.givenName", "emails.value", "meta.version"], None)
    assert result == {
        "schemas": [USER_URN],
        "id": USER_DOC["id"],
        "name": {"givenName": "Grace"},
        "emails": [{"value": "grace@example.org"}],
        "meta": {"version": 'W/"1"'},
    }


def test_attributes_with_urn_qualified_names() -> None:
    result = project(
        USER, USER_DOC, [f"{ENTERPRISE_URN}:department", f"{ENTERPRISE_URN}:manager.value"], None
    )
    assert result == {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "id": USER_DOC["id"],
        ENTERPRISE_URN: {
            "department": "Compilers",
            "manager": {"value": USER_DOC[ENTERPRISE_URN]["manager"]["value"]},
        },
    }


def test_whole_extension_by_urn() -> None:
    result = project(USER, USER_DOC, [ENTERPRISE_URN], None)
    assert result[ENTERPRISE_URN] == USER_DOC[ENTERPRISE_URN]
    assert "userName" not in result


def test_excluded_attributes() -> None:
    result = project(USER, USER_DOC, None, ["emails", "name.familyName", ENTERPRISE_URN, "id"])
    assert "emails" not in result
    assert result["name"] == {"formatted": "Grace Hopper", "givenName": "Grace"}
    assert ENTERPRISE_URN not in result
    assert result["schemas"] == [USER_URN]
    assert result["id"] == USER_DOC["id"]  # returned=always cannot be excluded


def test_unknown_names_are_ignored_but_malformed_ones_refused() -> None:
    assert project(USER, USER_DOC, ["userName", "shoeSize", "name.shoe"], ["hat"]) == {
        "schemas": [USER_URN],
        "id": USER_DOC["id"],
        "userName": "grace@example.org",
    }
    with pytest.raises(InvalidPath):
        project(USER, USER_DOC, ["emails["], None)


def test_group_members() -> None:
    assert "members" not in project(GROUP, GROUP_DOC, None, ["members"])
    only_values = project(GROUP, GROUP_DOC, ["members.value"], None)
    assert only_values["members"] == [{"value": m["value"]} for m in GROUP_DOC["members"]]


@pytest.mark.parametrize(
    ("attributes", "excluded", "expected"),
    [
        (None, None, True),
        (None, ["members"], False),
        (None, ["MEMBERS"], False),
        (None, ["members.display"], True),
        (["displayName"], None, False),
        (["members.value"], None, True),
        (["members"], ["members"], False),
    ],
)
def test_needs_members(
    attributes: list[str] | None, excluded: list[str] | None, expected: bool
) -> None:
    assert needs(GROUP, attributes, excluded, "members") is expected


def test_needs_for_always_and_never() -> None:
    projection = Projection(USER, ["userName"], None)
    assert projection.needs("id")
    assert not projection.needs("password")
    assert not projection.needs("groups")
    assert Projection(USER, None, None).needs("groups")
    assert not Projection(USER, None, None).needs("unknown")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        (" , ", None),
        ("userName, name.givenName ,emails", ["userName", "name.givenName", "emails"]),
    ],
)
def test_parse_attribute_list(text: str | None, expected: list[str] | None) -> None:
    assert parse_attribute_list(text) == expected
