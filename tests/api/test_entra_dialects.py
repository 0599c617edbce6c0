"""Microsoft Entra's provisioning service, replayed request by request in both dialects
(the default one, and the one behind the `aadOptscim062020` flag)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import OrgClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTRA_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def entra_user(upn: str, manager: str | None = None) -> dict[str, Any]:
    """A user as Entra's default attribute mappings POST it."""
    body: dict[str, Any] = {
        "schemas": [USER, ENTERPRISE],
        "externalId": upn.split("@")[0],
        "userName": upn,
        "active": True,
        "displayName": "Ryan Sanders",
        "title": "Engineer",
        "emails": [{"primary": True, "type": "work", "value": upn}],
        "name": {"formatted": "Ryan Sanders", "familyName": "Sanders", "givenName": "Ryan"},
        "addresses": [{"type": "work", "country": "US"}],
        "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}],
        "roles": [],
        ENTERPRISE: {"employeeNumber": "1001", "department": "Engineering"},
    }
    if manager:
        body[ENTERPRISE]["manager"] = manager
    return body


def provision_user(org: OrgClient, upn: str, manager: str | None = None) -> str:
    # 1. match on userName; 2. create when nothing matched
    found = org.get("/Users", params={"filter": f'userName eq "{upn}"'})
    assert found.status_code == 200 and found.json()["totalResults"] == 0
    created = org.post("/Users", entra_user(upn, manager))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_test_connection(org: OrgClient) -> None:
    r = org.get("/Users", params={"filter": 'userName eq "0b8f6c1e-8d7e-4e8c-9a3f-4c5d6e7f8a9b"'})
    assert r.status_code == 200 and r.json()["totalResults"] == 0


def test_default_dialect_user_updates(org: OrgClient) -> None:
    boss = provision_user(org, "boss@contoso.com")
    uid = provision_user(org, "ryan@contoso.com")
    r = org.patch(
        f"/Users/{uid}",
        ops(
            {"op": "Replace", "path": "displayName", "value": "Ryan S."},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "rs@contoso.com"},
            {
                "op": "Replace",
                "path": 'addresses[type eq "work"].streetAddress',
                "value": "1 Main St",
            },
            {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0199"},
            {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Research"},
            {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss},
            {"op": "Replace", "path": "name.givenName", "value": "Rian"},
        ),
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["displayName"] == "Ryan S."
    assert doc["emails"] == [{"primary": True, "type": "work", "value": "rs@contoso.com"}]
    assert doc["addresses"] == [{"type": "work", "country": "US", "streetAddress": "1 Main St"}]
    assert {"type": "mobile", "value": "+1 555 0199"} in doc["phoneNumbers"]
    assert doc[ENTERPRISE]["department"] == "Research"
    assert doc[ENTERPRISE]["manager"]["value"] == boss
    assert doc["name"]["givenName"] == "Rian"
    # soft delete in Entra: active sent as the string "False"
    off = org.patch(f"/Users/{uid}", ops({"op": "Replace", "path": "active", "value": "False"}))
    assert off.status_code == 200 and off.json()["active"] is False
    on = org.patch(f"/Users/{uid}", ops({"op": "Replace", "path": "active", "value": "True"}))
    assert on.json()["active"] is True


def test_aadoptscim062020_user_updates(org: OrgClient) -> None:
    boss = provision_user(org, "boss@contoso.com")
    uid = provision_user(org, "ryan@contoso.com")
    r = org.patch(
        f"/Users/{uid}",
        ops(
            {
                "op": "replace",
                "value": {
                    "displayName": "Ryan Sanders II",
                    "name.givenName": "Ry",
                    "active": False,
                    f"{ENTERPRISE}:department": "Legal",
                    f"{ENTERPRISE}:manager": {"value": boss},
                },
            }
        ),
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["displayName"] == "Ryan Sanders II" and doc["name"]["givenName"] == "Ry"
    assert doc["name"]["familyName"] == "Sanders"  # siblings untouched
    assert doc["active"] is False
    assert doc[ENTERPRISE]["department"] == "Legal"
    assert doc[ENTERPRISE]["manager"]["value"] == boss


@pytest.mark.parametrize("dialect", ["default", "aadOptscim062020"])
def test_group_lifecycle(org: OrgClient, dialect: str) -> None:
    members = [provision_user(org, f"m{i}@contoso.com") for i in range(3)]
    found = org.get(
        "/Groups", params={"filter": 'displayName eq "Finance"', "excludedAttributes": "members"}
    )
    assert found.json()["totalResults"] == 0
    created = org.post(
        "/Groups",
        {
            "schemas": [GROUP, ENTRA_GROUP],
            "externalId": "g-fin",
            "displayName": "Finance",
            "members": [],
        },
    )
    assert created.status_code == 201, created.text
    gid = created.json()["id"]
    add_op = "Add" if dialect == "default" else "add"
    r = org.patch(
        f"/Groups/{gid}",
        ops({"op": add_op, "path": "members", "value": [{"value": m} for m in members]}),
    )
    assert r.status_code in (200, 204)
    if dialect == "default":
        removal = {"op": "Remove", "path": "members", "value": [{"value": members[0]}]}
    else:
        removal = {"op": "remove", "path": f'members[value eq "{members[0]}"]'}
    assert org.patch(f"/Groups/{gid}", ops(removal)).status_code in (200, 204)
    rename = {
        "op": "Replace" if dialect == "default" else "replace",
        "path": "displayName",
        "value": "Finance EMEA",
    }
    assert org.patch(f"/Groups/{gid}", ops(rename)).status_code in (200, 204)
    doc = org.get(f"/Groups/{gid}").json()
    assert doc["displayName"] == "Finance EMEA"
    assert {m["value"] for m in doc["members"]} == set(members[1:])
    # matched case-insensitively on the next cycle
    again = org.get(
        "/Groups",
        params={"filter": 'displayName eq "finance emea"', "excludedAttributes": "members"},
    ).json()
    assert again["totalResults"] == 1 and "members" not in again["Resources"][0]


def test_duplicate_user_name_from_two_source_users_is_409(org: OrgClient) -> None:
    provision_user(org, "dup@contoso.com")
    r = org.post("/Users", entra_user("DUP@contoso.com"))
    assert r.status_code == 409 and r.json()["scimType"] == "uniqueness"


def test_hard_delete(org: OrgClient) -> None:
    uid = provision_user(org, "gone@contoso.com")
    assert org.delete(f"/Users/{uid}").status_code == 204
    assert org.get(f"/Users/{uid}").status_code == 404
    assert org.delete(f"/Users/{uid}").status_code == 404
