"""Entra ID's request shapes (identity-sync-facts.md §4), both PATCH dialects, end to end
through normalize → parse_patch → apply_patch."""

from __future__ import annotations

from typing import Any

import pytest

from scimhub.scim.patch import PATCH_OP_URN, MemberChange, apply_patch, parse_patch
from scimhub.scim.resource import normalize
from scimhub.scim.schemas import ENTERPRISE_URN, ENTRA_GROUP_URN, GROUP, GROUP_URN, USER, USER_URN


def message(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP_URN], "Operations": list(operations)}


ENTRA_USER_POST = {
    "schemas": [USER_URN, ENTERPRISE_URN],
    "externalId": "alice",
    "userName": "alice@contoso.example",
    "active": True,
    "displayName": "Alice Liddell",
    "emails": [{"primary": True, "type": "work", "value": "alice@contoso.example"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "Alice Liddell", "familyName": "Liddell", "givenName": "Alice"},
    "roles": [],
    "title": None,
    ENTERPRISE_URN: {"department": "Wonderland", "manager": "bob-id"},
}


def alice() -> dict[str, Any]:
    return normalize(USER, ENTRA_USER_POST).doc


def test_user_post_shape() -> None:
    assert alice() == {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "externalId": "alice",
        "userName": "alice@contoso.example",
        "active": True,
        "displayName": "Alice Liddell",
        "emails": [{"primary": True, "type": "work", "value": "alice@contoso.example"}],
        "name": {"formatted": "Alice Liddell", "familyName": "Liddell", "givenName": "Alice"},
        ENTERPRISE_URN: {"department": "Wonderland", "manager": {"value": "bob-id"}},
    }


def test_group_post_shape_with_entra_schema_urn() -> None:
    result = normalize(
        GROUP,
        {
            "schemas": [GROUP_URN, ENTRA_GROUP_URN],
            "externalId": "g1",
            "displayName": "Readers",
            "members": [],
        },
    )
    assert result.doc == {"schemas": [GROUP_URN], "externalId": "g1", "displayName": "Readers"}
    assert result.members == []


class TestDefaultDialect:
    """Capitalised ops, "False" strings, one Replace per attribute, removal by value array."""

    def test_disable_user(self) -> None:
        result = apply_patch(
            USER,
            alice(),
            parse_patch(message({"op": "Replace", "path": "active", "value": "False"})),
        )
        assert result.doc["active"] is False
        assert result.changed

    def test_one_replace_per_attribute(self) -> None:
        result = apply_patch(
            USER,
            alice(),
            parse_patch(
                message(
                    {"op": "Replace", "path": "displayName", "value": "Alice L."},
                    {"op": "Replace", "path": "name.familyName", "value": "Hargreaves"},
                    {"op": "Replace", "path": f"{ENTERPRISE_URN}:department", "value": "Oxford"},
                    {"op": "Add", "path": f"{ENTERPRISE_URN}:manager", "value": "carol-id"},
                    {
                        "op": "Replace",
                        "path": 'emails[type eq "work"].value',
                        "value": "alice.h@contoso.example",
                    },
                    {
                        "op": "Add",
                        "path": 'phoneNumbers[type eq "mobile"].value',
                        "value": "+1 555",
                    },
                    {
                        "op": "Add",
                        "path": 'addresses[type eq "work"].streetAddress',
                        "value": "1 Rabbit Hole",
                    },
                )
            ),
        )
        doc = result.doc
        assert doc["displayName"] == "Alice L."
        assert doc["name"]["familyName"] == "Hargreaves"
        assert doc[ENTERPRISE_URN] == {"department": "Oxford", "manager": {"value": "carol-id"}}
        assert doc["emails"] == [
            {"primary": True, "type": "work", "value": "alice.h@contoso.example"}
        ]
        assert doc["phoneNumbers"] == [{"type": "mobile", "value": "+1 555"}]
        assert doc["addresses"] == [{"type": "work", "streetAddress": "1 Rabbit Hole"}]

    @pytest.mark.parametrize("value", [[{"value": "dave-id"}], {"value": "dave-id"}, "dave-id"])
    def test_manager_value_shapes(self, value: Any) -> None:
        result = apply_patch(
            USER,
            alice(),
            parse_patch(
                message({"op": "Replace", "path": f"{ENTERPRISE_URN}:manager", "value": value})
            ),
        )
        assert result.doc[ENTERPRISE_URN]["manager"] == {"value": "dave-id"}

    def test_group_member_add_then_remove_by_value_array(self) -> None:
        group = normalize(GROUP, {"schemas": [GROUP_URN], "displayName": "Readers"}).doc
        result = apply_patch(
            GROUP,
            group,
            parse_patch(
                message(
                    {"op": "Add", "path": "members", "value": [{"value": "alice-id"}]},
                    {
                        "op": "Remove",
                        "path": "members",
                        "value": [{"value": "bob-id"}, {"value": "carol-id"}],
                    },
                )
            ),
        )
        assert result.deferred == [
            MemberChange("add", values=["alice-id"]),
            MemberChange("remove", values=["bob-id", "carol-id"]),
        ]
        assert result.doc == group


class TestOptScim062020Dialect:
    """Lower-case ops, real booleans, one path-less replace, removal by value filter."""

    def test_pathless_replace_with_dotted_and_urn_keys(self) -> None:
        result = apply_patch(
            USER,
            alice(),
            parse_patch(
                message(
                    {
                        "op": "replace",
                        "value": {
                            "active": False,
                            "displayName": "Alice L.",
                            "name.givenName": "Al",
                            f"{ENTERPRISE_URN}:department": "Looking Glass",
                            f"{ENTERPRISE_URN}:manager": "erin-id",
                            'emails[type eq "work"].value': "al@contoso.example",
                        },
                    }
                )
            ),
        )
        doc = result.doc
        assert doc["active"] is False
        assert doc["name"] == {
            "formatted": "Alice Liddell",
            "familyName": "Liddell",
            "givenName": "Al",
        }
        assert doc[ENTERPRISE_URN] == {
            "department": "Looking Glass",
            "manager": {"value": "erin-id"},
        }
        assert doc["emails"][0]["value"] == "al@contoso.example"

    def test_member_removal_by_value_filter(self) -> None:
        group = normalize(GROUP, {"displayName": "Readers"}).doc
        result = apply_patch(
            GROUP,
            group,
            parse_patch(
                message(
                    {"op": "add", "path": "members", "value": [{"value": "alice-id"}]},
                    {"op": "remove", "path": 'members[value eq "alice-id"]'},
                )
            ),
        )
        assert result.deferred == [
            MemberChange("add", values=["alice-id"]),
            MemberChange("remove", values=["alice-id"]),
        ]
