"""PATCH (RFC 7644 §3.5.2): message validation and the semantics of every path form."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scimhub.scim.ast import AttrPath, Compare, PatchPath
from scimhub.scim.errors import (
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    UndefinedAttribute,
)
from scimhub.scim.patch import (
    PATCH_OP_URN,
    MemberChange,
    PatchOp,
    PatchResult,
    apply_patch,
    parse_patch,
)
from scimhub.scim.resource import normalize
from scimhub.scim.schemas import ENTERPRISE_URN, GROUP, GROUP_URN, USER, USER_URN


def user(**attrs: Any) -> dict[str, Any]:
    return normalize(USER, {"userName": "ada@example.org", **attrs}).doc


def patch(doc: dict[str, Any], *operations: dict[str, Any], rt: Any = USER) -> PatchResult:
    return apply_patch(
        rt, doc, parse_patch({"schemas": [PATCH_OP_URN], "Operations": list(operations)})
    )


WORK = {"value": "ada@work.example", "type": "work", "primary": True}
HOME = {"value": "ada@home.example", "type": "home"}


# -- parse_patch --------------------------------------------------------------------------


def test_parse_operations_in_order_with_case_insensitive_names() -> None:
    ops = parse_patch(
        {
            "schemas": [PATCH_OP_URN],
            "Operations": [
                {"op": "Add", "path": "title", "value": "x"},
                {"OP": "REPLACE", "Value": {"title": "y"}},
                {"op": "remove", "path": 'emails[type eq "work"]'},
            ],
        }
    )
    assert ops == [
        PatchOp("add", PatchPath(AttrPath("title")), "x"),
        PatchOp("replace", None, {"title": "y"}),
        PatchOp("remove", PatchPath(AttrPath("emails"), Compare(AttrPath("type"), "eq", "work"))),
    ]


@pytest.mark.parametrize(
    ("body", "error", "fragment"),
    [
        ([], InvalidSyntax, "JSON object"),
        ({"Operations": [{"op": "add", "value": {}}]}, InvalidSyntax, "schemas"),
        ({"schemas": ["urn:other"], "Operations": []}, InvalidSyntax, "schemas"),
        ({"schemas": [PATCH_OP_URN]}, InvalidSyntax, "non-empty array"),
        ({"schemas": [PATCH_OP_URN], "Operations": []}, InvalidSyntax, "non-empty array"),
        ({"schemas": [PATCH_OP_URN], "Operations": {"op": "add"}}, InvalidSyntax, "array"),
        ({"schemas": [PATCH_OP_URN], "Operations": ["add"]}, InvalidSyntax, "operation 1"),
        (
            {"schemas": [PATCH_OP_URN], "Operations": [{"op": "merge", "value": 1}]},
            InvalidSyntax,
            "'op' must be",
        ),
        (
            {"schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "path": "x", "vaule": 1}]},
            InvalidSyntax,
            "unknown member",
        ),
        (
            {"schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "Op": "add", "value": 1}]},
            InvalidSyntax,
            "twice",
        ),
        ({"schemas": [PATCH_OP_URN], "Operations": [{"op": "remove"}]}, NoTarget, "needs a 'path'"),
        (
            {"schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "path": "title"}]},
            InvalidValue,
            "needs a 'value'",
        ),
        (
            {
                "schemas": [PATCH_OP_URN],
                "Operations": [{"op": "replace", "path": "x", "value": None}],
            },
            InvalidValue,
            "needs a 'value'",
        ),
        (
            {"schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "path": 5, "value": 1}]},
            InvalidPath,
            "string",
        ),
        (
            {"schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "path": "a[", "value": 1}]},
            InvalidPath,
            "operation 1",
        ),
    ],
)
def test_parse_rejects(body: Any, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=fragment.replace("[", r"\[")):
        parse_patch(body)


# -- simple and complex attributes --------------------------------------------------------


def test_never_mutates_the_input() -> None:
    doc = user(emails=[WORK], name={"givenName": "Ada"})
    before = copy.deepcopy(doc)
    patch(
        doc,
        {"op": "replace", "path": "name.givenName", "value": "Augusta"},
        {"op": "add", "path": "emails", "value": [HOME]},
        {"op": "remove", "path": 'emails[type eq "work"].primary'},
    )
    assert doc == before


def test_replace_simple_and_changed_flag() -> None:
    doc = user(title="Engineer")
    result = patch(doc, {"op": "replace", "path": "title", "value": "Architect"})
    assert result.doc["title"] == "Architect"
    assert result.changed
    same = patch(doc, {"op": "replace", "path": "TITLE", "value": "Engineer"})
    assert same.doc == doc
    assert not same.changed


def test_add_and_replace_on_missing_single_attribute_set_it() -> None:
    assert patch(user(), {"op": "add", "path": "title", "value": "A"}).doc["title"] == "A"
    assert patch(user(), {"op": "replace", "path": "title", "value": "B"}).doc["title"] == "B"


def test_remove_single_attribute_and_missing_is_noop() -> None:
    result = patch(user(title="x"), {"op": "remove", "path": "title"})
    assert "title" not in result.doc
    assert patch(user(), {"op": "remove", "path": "title"}).changed is False


def test_sub_attribute_paths_create_and_remove_the_parent() -> None:
    doc = patch(user(), {"op": "add", "path": "name.givenName", "value": "Ada"}).doc
    assert doc["name"] == {"givenName": "Ada"}
    doc = patch(doc, {"op": "replace", "path": "name.familyName", "value": "King"}).doc
    assert doc["name"] == {"givenName": "Ada", "familyName": "King"}
    doc = patch(
        doc, {"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}
    ).doc
    assert "name" not in doc


def test_complex_value_merges_sub_attributes() -> None:
    """§3.5.2.3: sub-attributes not in the value are left unchanged, for add and replace."""
    doc = user(name={"givenName": "Ada", "familyName": "King"})
    for op in ("add", "replace"):
        result = patch(doc, {"op": op, "path": "name", "value": {"givenName": "Augusta"}})
        assert result.doc["name"] == {"givenName": "Augusta", "familyName": "King"}


def test_extension_paths() -> None:
    doc = patch(
        user(), {"op": "add", "path": f"{ENTERPRISE_URN}:department", "value": "Research"}
    ).doc
    assert doc[ENTERPRISE_URN] == {"department": "Research"}
    assert doc["schemas"] == [USER_URN, ENTERPRISE_URN]
    doc = patch(
        doc, {"op": "replace", "path": f"{ENTERPRISE_URN}:manager.value", "value": "boss"}
    ).doc
    assert doc[ENTERPRISE_URN]["manager"] == {"value": "boss"}
    doc = patch(
        doc,
        {"op": "remove", "path": f"{ENTERPRISE_URN}:department"},
        {"op": "remove", "path": f"{ENTERPRISE_URN}:manager"},
    ).doc
    assert ENTERPRISE_URN not in doc
    assert doc["schemas"] == [USER_URN]


def test_path_naming_the_whole_extension() -> None:
    doc = user(**{ENTERPRISE_URN: {"department": "R&D", "costCenter": "7"}})
    added = patch(
        doc,
        {
            "op": "add",
            "path": ENTERPRISE_URN,
            "value": {"schemas": [ENTERPRISE_URN], "division": "Labs"},
        },
    )
    assert added.doc[ENTERPRISE_URN] == {"department": "R&D", "costCenter": "7", "division": "Labs"}
    replaced = patch(
        doc, {"op": "replace", "path": ENTERPRISE_URN.lower(), "value": {"manager": "boss"}}
    )
    assert replaced.doc[ENTERPRISE_URN] == {"manager": {"value": "boss"}}
    removed = patch(doc, {"op": "remove", "path": ENTERPRISE_URN})
    assert ENTERPRISE_URN not in removed.doc
    assert removed.doc["schemas"] == [USER_URN]
    with pytest.raises(InvalidValue, match="object of attributes"):
        patch(doc, {"op": "add", "path": ENTERPRISE_URN, "value": "R&D"})


def test_remove_from_absent_extension_is_noop() -> None:
    assert not patch(user(), {"op": "remove", "path": f"{ENTERPRISE_URN}:department"}).changed


# -- multi-valued attributes --------------------------------------------------------------


def test_add_appends_and_dedupes() -> None:
    doc = user(emails=[WORK])
    result = patch(doc, {"op": "add", "path": "emails", "value": [WORK, HOME]})
    assert result.doc["emails"] == [WORK, HOME]
    assert patch(result.doc, {"op": "add", "path": "emails", "value": HOME}).changed is False


def test_replace_whole_multi_valued() -> None:
    result = patch(user(emails=[WORK]), {"op": "replace", "path": "emails", "value": [HOME]})
    assert result.doc["emails"] == [HOME]
    cleared = patch(user(emails=[WORK]), {"op": "replace", "path": "emails", "value": []})
    assert "emails" not in cleared.doc


def test_new_primary_demotes_the_old_one() -> None:
    new = {"value": "ada@new.example", "primary": True}
    result = patch(user(emails=[WORK, HOME]), {"op": "add", "path": "emails", "value": [new]})
    assert result.doc["emails"] == [{"value": "ada@work.example", "type": "work"}, HOME, new]


def test_primary_via_filter_demotes_others_in_place() -> None:
    result = patch(
        user(emails=[WORK, HOME]),
        {"op": "replace", "path": 'emails[type eq "home"].primary', "value": "True"},
    )
    assert result.doc["emails"] == [
        {"value": "ada@work.example", "type": "work"},
        {**HOME, "primary": True},
    ]


def test_two_primaries_in_one_value_are_refused() -> None:
    with pytest.raises(InvalidValue, match="primary"):
        patch(
            user(),
            {
                "op": "add",
                "path": "emails",
                "value": [{"value": "a@x", "primary": True}, {"value": "b@x", "primary": True}],
            },
        )


def test_value_filter_replace_whole_element() -> None:
    result = patch(
        user(emails=[WORK, HOME]),
        {
            "op": "replace",
            "path": 'emails[type eq "home"]',
            "value": {"value": "ada@cottage.example", "type": "home"},
        },
    )
    assert result.doc["emails"] == [WORK, {"value": "ada@cottage.example", "type": "home"}]


def test_value_filter_add_merges_into_element() -> None:
    result = patch(
        user(emails=[HOME]),
        {"op": "add", "path": 'emails[type eq "home"]', "value": {"display": "Home"}},
    )
    assert result.doc["emails"] == [{**HOME, "display": "Home"}]


def test_value_filter_sub_attribute_updates_matches_only() -> None:
    result = patch(
        user(emails=[WORK, HOME]),
        {"op": "replace", "path": 'emails[TYPE EQ "WORK"].value', "value": "a@b.c"},
    )
    assert result.doc["emails"] == [{**WORK, "value": "a@b.c"}, HOME]


def test_value_filter_creates_element_when_eq_conjunction_matches_nothing() -> None:
    result = patch(
        user(emails=[HOME]),
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "w@x"},
    )
    assert result.doc["emails"] == [HOME, {"type": "work", "value": "w@x"}]
    both = patch(
        user(),
        {
            "op": "add",
            "path": 'addresses[type eq "work" and country eq "GB"].locality',
            "value": "London",
        },
    )
    assert both.doc["addresses"] == [{"type": "work", "country": "GB", "locality": "London"}]


@pytest.mark.parametrize(
    "path",
    [
        'emails[type ne "work"].value',
        'emails[type eq "work" or type eq "home"].value',
        'emails[value co "x"].type',
        'emails[type eq "work"]',
    ],
)
def test_value_filter_matching_nothing_is_no_target(path: str) -> None:
    with pytest.raises(NoTarget):
        patch(
            user(),
            {"op": "replace", "path": path, "value": "x" if "]." in path else {"value": "y"}},
        )


def test_remove_with_filter() -> None:
    result = patch(user(emails=[WORK, HOME]), {"op": "remove", "path": 'emails[type eq "work"]'})
    assert result.doc["emails"] == [HOME]
    none = patch(user(emails=[HOME]), {"op": "remove", "path": 'emails[type eq "work"]'})
    assert none.changed is False
    last = patch(user(emails=[HOME]), {"op": "remove", "path": 'emails[type eq "home"]'})
    assert "emails" not in last.doc


def test_remove_sub_attribute_of_matching_elements() -> None:
    result = patch(
        user(emails=[WORK, HOME]), {"op": "remove", "path": 'emails[type eq "work"].primary'}
    )
    assert result.doc["emails"] == [{"value": "ada@work.example", "type": "work"}, HOME]


def test_sub_attribute_of_every_element_without_filter() -> None:
    result = patch(user(emails=[WORK, HOME]), {"op": "remove", "path": "emails.type"})
    assert result.doc["emails"] == [
        {"value": "ada@work.example", "primary": True},
        {"value": "ada@home.example"},
    ]
    with pytest.raises(NoTarget):
        patch(user(), {"op": "replace", "path": "emails.type", "value": "work"})


def test_remove_with_value_array_on_ordinary_multi_valued() -> None:
    roles = [{"value": "admin"}, {"value": "auditor", "type": "x"}]
    result = patch(
        user(roles=roles), {"op": "remove", "path": "roles", "value": [{"value": "ADMIN"}]}
    )
    assert result.doc["roles"] == [{"value": "auditor", "type": "x"}]


# -- path-less ----------------------------------------------------------------------------


def test_pathless_add_appends_and_sets() -> None:
    result = patch(
        user(emails=[WORK]),
        {
            "op": "add",
            "value": {"emails": [HOME], "nickName": "Ada", ENTERPRISE_URN: {"department": "R&D"}},
        },
    )
    assert result.doc["emails"] == [WORK, HOME]
    assert result.doc["nickName"] == "Ada"
    assert result.doc[ENTERPRISE_URN] == {"department": "R&D"}


def test_pathless_ignores_echoed_id_meta_schemas() -> None:
    result = patch(
        user(),
        {
            "op": "replace",
            "value": {"id": "x", "meta": {"version": 'W/"9"'}, "schemas": [USER_URN], "title": "T"},
        },
    )
    assert result.doc == {**user(), "title": "T"}


@pytest.mark.parametrize("value", ["title", ["title"], 3])
def test_pathless_value_must_be_object(value: Any) -> None:
    with pytest.raises(InvalidValue, match="path-less"):
        patch(user(), {"op": "replace", "value": value})


# -- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["id", "meta", "meta.created", "groups", f"{ENTERPRISE_URN}:manager.displayName"]
)
def test_read_only_targets(path: str) -> None:
    with pytest.raises(Mutability, match="read-only"):
        patch(user(), {"op": "replace", "path": path, "value": "x"})


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("nickname.first", "unknown sub-attribute"),
        ("favouriteColour", "unknown attribute"),
        ("urn:example:ext:1.0:User:x", "is not defined"),
        ('emails[colour eq "x"].value', "unknown attribute"),
        ('emails[type eq "work"].colour', "unknown sub-attribute"),
        ('title[value eq "x"]', "not a multi-valued"),
        ('name.givenName[value eq "x"]', "not a sub-attribute"),
    ],
)
def test_invalid_paths(path: str, fragment: str) -> None:
    with pytest.raises(InvalidPath, match=fragment):
        patch(user(), {"op": "replace", "path": path, "value": "x"})


def test_wrong_types_are_invalid_value_and_name_the_operation() -> None:
    with pytest.raises(InvalidValue, match="operation 2: 'active' must be a boolean"):
        patch(
            user(),
            {"op": "add", "path": "title", "value": "ok"},
            {"op": "replace", "path": "active", "value": "maybe"},
        )
    with pytest.raises(InvalidValue, match=r"unknown attribute 'name\.nick'"):
        patch(user(), {"op": "add", "path": "name", "value": {"nick": "x"}})


def test_removing_a_required_attribute() -> None:
    with pytest.raises(InvalidValue, match="required attribute 'userName'"):
        patch(user(), {"op": "remove", "path": "userName"})
    renamed = patch(
        user(),
        {"op": "remove", "path": "userName"},
        {"op": "add", "path": "userName", "value": "grace@example.org"},
    )
    assert renamed.doc["userName"] == "grace@example.org"


def test_password_is_returned_separately_never_in_the_doc() -> None:
    result = patch(user(), {"op": "replace", "path": "password", "value": "s3cret!"})
    assert result.password == "s3cret!"
    assert "password" not in result.doc
    pathless = patch(user(), {"op": "replace", "value": {"password": "other"}})
    assert pathless.password == "other"
    with pytest.raises(Mutability):
        patch(user(), {"op": "remove", "path": "password"})
    with pytest.raises(InvalidValue):
        patch(user(), {"op": "replace", "path": "password", "value": ""})


# -- deferred members ---------------------------------------------------------------------


def group() -> dict[str, Any]:
    return normalize(GROUP, {"displayName": "Engineering"}).doc


def test_member_operations_are_deferred_in_order() -> None:
    result = patch(
        group(),
        {
            "op": "add",
            "path": "members",
            "value": [{"value": "u1", "display": "ignored"}, {"value": "u2"}, {"value": "u1"}],
        },
        {"op": "remove", "path": 'members[value eq "u1"]'},
        {"op": "remove", "path": 'members[value eq "u2" or value eq "u3"]'},
        {"op": "remove", "path": 'members[type eq "Group"]'},
        {"op": "replace", "path": "members", "value": [{"value": "u9"}]},
        {"op": "remove", "path": "members"},
        rt=GROUP,
    )
    assert result.deferred == [
        MemberChange("add", values=["u1", "u2"]),
        MemberChange("remove", values=["u1"]),
        MemberChange("remove", values=["u2", "u3"]),
        MemberChange("remove", filter=Compare(AttrPath("type"), "eq", "Group")),
        MemberChange("replace", values=["u9"]),
        MemberChange("remove"),
    ]
    assert result.doc == group()
    assert result.changed is False


def test_member_filter_names_are_canonical() -> None:
    result = patch(group(), {"op": "remove", "path": 'members[VALUE eq "u1"]'}, rt=GROUP)
    assert result.deferred == [MemberChange("remove", values=["u1"])]


def test_pathless_members_and_display_name_together() -> None:
    result = patch(
        group(),
        {"op": "replace", "value": {"displayName": "Eng", "members": [{"value": "u1"}]}},
        rt=GROUP,
    )
    assert result.doc["displayName"] == "Eng"
    assert result.deferred == [MemberChange("replace", values=["u1"])]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": 'members[value eq "u1"].value', "value": "u2"},
        {"op": "replace", "path": 'members[value eq "u1"]', "value": {"value": "u2"}},
        {"op": "add", "path": "members.display", "value": "x"},
    ],
)
def test_members_are_not_modified_in_place(operation: dict[str, Any]) -> None:
    with pytest.raises(Mutability):
        patch(group(), operation, rt=GROUP)


def test_member_without_value_is_refused() -> None:
    with pytest.raises(InvalidValue, match="needs a 'value'"):
        patch(group(), {"op": "add", "path": "members", "value": [{"type": "User"}]}, rt=GROUP)


def test_group_display_name_is_required() -> None:
    with pytest.raises(InvalidValue, match="displayName"):
        patch(group(), {"op": "replace", "path": "displayName", "value": ""}, rt=GROUP)
    assert patch(
        group(), {"op": "replace", "path": "displayName", "value": "New"}, rt=GROUP
    ).doc == {"schemas": [GROUP_URN], "displayName": "New"}


CUSTOM_URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


@pytest.mark.parametrize(
    "op",
    [
        {"op": "Add", "path": f"{CUSTOM_URN}:costCenter", "value": "CC1"},
        {"op": "Replace", "value": {CUSTOM_URN: {"costCenter": "CC1"}}},  # an undefined URN
        {"op": "replace", "value": {f"{CUSTOM_URN}:costCenter": "CC1"}},
    ],
)
def test_an_undefined_extension_attribute_names_it_and_the_user(op: dict[str, Any]) -> None:
    with pytest.raises(UndefinedAttribute) as caught:
        patch(user(), op)
    assert caught.value.name == f"{CUSTOM_URN}:costCenter"
    assert caught.value.subject == "ada@example.org"
    assert caught.value.detail.startswith("operation 1: attribute ")


def test_a_complex_value_under_a_known_schema_is_not_read_as_an_extension() -> None:
    manager = {f"{ENTERPRISE_URN}:manager": {"value": "boss-id"}}
    done = patch(user(), {"op": "replace", "value": manager})
    assert done.doc[ENTERPRISE_URN]["manager"]["value"] == "boss-id"
