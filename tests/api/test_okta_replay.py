"""Okta's SCIM 2.0 client, replayed request by request: first the checks of Okta's published
"SCIM 2.0 Spec Test" (the Runscope suite an integration must pass), then the requests Okta's
provisioning sends for the lifecycle of a user and of a pushed group, in Okta's own shapes
(its search before create with startIndex and count, PUT of the whole user with `id`,
`groups: []` and `password`, PATCH `replace` without a path to deactivate, group renames
whose value carries the group's `id`, member changes by `members[value eq "..."]`)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import OrgClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# What Okta's client sends with every request.
OKTA = {
    "Accept": "application/scim+json",
    "Accept-Charset": "utf-8",
    "Content-Type": "application/scim+json; charset=utf-8",
    "User-Agent": "Okta SCIM Client 1.0.0",
}


def okta_user(user_name: str, **extra: Any) -> dict[str, Any]:
    """A user as Okta's default SCIM 2.0 app profile creates it."""
    return {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
        **extra,
    }


def okta(org: OrgClient, method: str, path: str, **kw: Any) -> Any:
    return org.request(method, path, headers=OKTA, **kw)


def search(org: OrgClient, resource: str, attribute: str, value: str) -> dict[str, Any]:
    r = okta(
        org,
        "GET",
        f"/{resource}",
        params={"filter": f'{attribute} eq "{value}"', "startIndex": "1", "count": "100"},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["schemas"] == [LIST]
    return body


def provision(org: OrgClient, user_name: str) -> dict[str, Any]:
    """Okta's create: search on userName, POST when nothing matched."""
    assert search(org, "Users", "userName", user_name)["totalResults"] == 0
    r = okta(org, "POST", "/Users", json=okta_user(user_name))
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


# -- Okta's SCIM 2.0 Spec Test ------------------------------------------------------------


def test_spec_users_endpoint_and_get_by_id(org: OrgClient) -> None:
    provision(org, "first.user@okta.local")
    r = okta(org, "GET", "/Users", params={"count": "1", "startIndex": "1"})
    assert r.status_code == 200
    body = r.json()
    assert LIST in body["schemas"] and body["Resources"]
    for key in ("itemsPerPage", "startIndex", "totalResults"):
        assert isinstance(body[key], int)
    first = body["Resources"][0]
    assert first["id"] and first["userName"] and first["active"] is True
    assert first["name"]["familyName"] and first["name"]["givenName"]
    assert first["emails"][0]["value"]
    one = okta(org, "GET", f"/Users/{first['id']}")
    assert one.status_code == 200 and one.json()["id"] == first["id"]
    assert one.json()["name"]["givenName"] == "Test"


def test_spec_unknown_users(org: OrgClient) -> None:
    assert search(org, "Users", "userName", "nobody@okta.local")["totalResults"] == 0
    for missing in (str(uuid.uuid4()), "00919288221112222"):
        r = okta(org, "GET", f"/Users/{missing}")
        assert r.status_code == 404
        body = r.json()
        assert ERROR in body["schemas"] and body["detail"] and body["status"] == "404"


def test_spec_create_verify_duplicate_and_case(org: OrgClient) -> None:
    created = provision(org, "Random.User@okta.local")
    assert created["active"] is True and created["id"]
    assert created["name"] == {"givenName": "Test", "familyName": "User"}
    assert USER in created["schemas"] and created["userName"] == "Random.User@okta.local"
    assert "password" not in created  # returned: never
    again = okta(org, "GET", f"/Users/{created['id']}").json()
    assert again["userName"] == "Random.User@okta.local"
    duplicate = okta(org, "POST", "/Users", json=okta_user("Random.User@okta.local"))
    assert duplicate.status_code == 409 and duplicate.json()["scimType"] == "uniqueness"
    # userName is case-insensitive: Okta's caps search finds the same user
    found = search(org, "Users", "userName", "RANDOM.USER@OKTA.LOCAL")
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == created["id"]


def test_spec_groups_endpoint_and_401(org: OrgClient) -> None:
    r = okta(org, "GET", "/Groups")
    assert r.status_code == 200 and isinstance(r.json()["totalResults"], int)
    bad = org.http.get(
        f"{org.base}/Users",
        params={"filter": 'userName eq "X"'},
        headers={**OKTA, "Authorization": "non-token"},
    )
    assert bad.status_code == 401
    body = bad.json()
    assert ERROR in body["schemas"] and body["detail"] and body["status"] == "401"


# -- the provisioning lifecycle -----------------------------------------------------------


def test_user_lifecycle(org: OrgClient) -> None:
    user = provision(org, "test.user@okta.local")
    uid = user["id"]

    # Profile push: Okta GETs the user, then PUTs the whole resource back, id included
    current = okta(org, "GET", f"/Users/{uid}").json()
    changed = okta_user(
        "test.user@okta.local", id=uid, name={"givenName": "Another", "familyName": "User"}
    )
    r = okta(org, "PUT", f"/Users/{uid}", json=changed)
    assert r.status_code == 200, r.text
    assert r.json()["name"]["givenName"] == "Another"
    assert r.json()["meta"]["version"] != current["meta"]["version"]

    # Deactivate (unassigned in Okta), then reactivate: PATCH replace without a path
    for active in (False, True):
        body = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": active}}]}
        r = okta(org, "PATCH", f"/Users/{uid}", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["active"] is active
    inactive = okta(org, "GET", "/Users", params={"filter": "active eq false"}).json()
    assert inactive["totalResults"] == 0

    # Password sync: a PUT with the new password, never echoed
    r = okta(org, "PUT", f"/Users/{uid}", json={**changed, "password": "n3w-Secret!"})
    assert r.status_code == 200 and "password" not in r.json()

    # Okta's import reads every user a page at a time
    page = okta(org, "GET", "/Users", params={"startIndex": "1", "count": "100"}).json()
    assert [u["id"] for u in page["Resources"]] == [uid]


@pytest.mark.parametrize("with_id", [True, False])
def test_group_push(org: OrgClient, with_id: bool) -> None:
    ann = provision(org, "ann@okta.local")
    bob = provision(org, "bob@okta.local")

    assert search(org, "Groups", "displayName", "Engineering")["totalResults"] == 0
    r = okta(
        org,
        "POST",
        "/Groups",
        json={"schemas": [GROUP], "displayName": "Engineering", "members": []},
    )
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    r = okta(org, "GET", f"/Groups/{gid}", params={"excludedAttributes": "members"})
    assert r.status_code == 200 and "members" not in r.json()

    # Rename: Okta's value carries the group's own id (a read-only attribute, unchanged)
    value: dict[str, Any] = {"displayName": "Engineering EU"}
    if with_id:
        value["id"] = gid
    rename = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": value}]}
    r = okta(org, "PATCH", f"/Groups/{gid}", json=rename)
    assert r.status_code in (200, 204), r.text
    assert okta(org, "GET", f"/Groups/{gid}").json()["displayName"] == "Engineering EU"

    def members() -> list[str]:
        return sorted(m["value"] for m in okta(org, "GET", f"/Groups/{gid}").json()["members"])

    add = {
        "schemas": [PATCH],
        "Operations": [
            {
                "op": "add",
                "path": "members",
                "value": [{"value": ann["id"], "display": "ann@okta.local"}],
            }
        ],
    }
    assert okta(org, "PATCH", f"/Groups/{gid}", json=add).status_code in (200, 204)
    assert members() == [ann["id"]]
    swap = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "remove", "path": f'members[value eq "{ann["id"]}"]'},
            {
                "op": "add",
                "path": "members",
                "value": [{"value": bob["id"], "display": "bob@okta.local"}],
            },
        ],
    }
    assert okta(org, "PATCH", f"/Groups/{gid}", json=swap).status_code in (200, 204)
    assert members() == [bob["id"]]
    # a replace of the whole member list, path-less, as some Okta apps send it
    everyone = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "replace", "value": {"members": [{"value": ann["id"]}, {"value": bob["id"]}]}}
        ],
    }
    assert okta(org, "PATCH", f"/Groups/{gid}", json=everyone).status_code in (200, 204)
    assert members() == sorted([ann["id"], bob["id"]])

    assert okta(org, "DELETE", f"/Groups/{gid}").status_code == 204
    assert okta(org, "GET", f"/Groups/{gid}").status_code == 404


def test_a_rename_naming_another_groups_id_is_refused(org: OrgClient) -> None:
    """The id in Okta's rename must be the group's own: another id is a mutability error,
    never a silent re-key."""
    r = okta(org, "POST", "/Groups", json={"schemas": [GROUP], "displayName": "Sales"})
    gid = r.json()["id"]
    rename = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "value": {"id": str(uuid.uuid4()), "displayName": "X"}}],
    }
    r = okta(org, "PATCH", f"/Groups/{gid}", json=rename)
    assert r.status_code == 400 and r.json()["scimType"] == "mutability", r.text
    assert okta(org, "GET", f"/Groups/{gid}").json()["displayName"] == "Sales"
