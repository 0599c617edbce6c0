"""Read-only SCIM tokens (`scimhub token create --scope read`): GET and every search,
including the `/.search` POSTs; any write (POST, PUT, PATCH, DELETE, Bulk) is 403 before
the body is read, and nothing changes. The default scope still writes."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from scimhub.api.services import Hub
from scimhub.directory.tokens import TokenKind, TokenScope
from tests.api.test_users import ERROR, new_user
from tests.conftest import OrgClient

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


@pytest.fixture
def reader(hub: Hub, org: OrgClient) -> OrgClient:
    secret, info = hub.tokens.create(org.org_id, name="reporting app", scope=TokenScope.READ)
    assert info.scope is TokenScope.READ and info.kind is TokenKind.SCIM
    return OrgClient(org.http, org.org_id, secret)


@pytest.fixture
def seeded(org: OrgClient) -> dict[str, Any]:
    user = org.post("/Users", new_user("reader@example.com")).json()
    group = org.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": "Readers", "members": [{"value": user["id"]}]},
    ).json()
    return {"user": user, "group": group}


def _search(filter: str) -> dict[str, Any]:
    return {"schemas": [SEARCH], "filter": filter}


def test_a_read_token_gets_and_searches_users_groups_and_members(
    reader: OrgClient, seeded: dict[str, Any]
) -> None:
    uid, gid = seeded["user"]["id"], seeded["group"]["id"]
    for path in (
        "/Users",
        f"/Users/{uid}",
        "/Groups",
        f"/Groups/{gid}",
        f"/Groups/{gid}/Members",
        "/ServiceProviderConfig",
        "/Schemas",
    ):
        assert reader.get(path).status_code == 200, path
    assert reader.request("HEAD", f"/Users/{uid}").status_code == 200
    found = reader.get("/Users", params={"filter": 'userName eq "reader@example.com"'})
    assert found.json()["totalResults"] == 1
    for path, query in (
        ("/Users/.search", 'userName eq "reader@example.com"'),
        ("/Groups/.search", 'displayName eq "Readers"'),
        ("/.search", 'id eq "' + uid + '"'),
    ):
        r = reader.post(path, _search(query))
        assert r.status_code == 200 and r.json()["totalResults"] == 1, (path, r.text)


def _refused(r: httpx2.Response) -> None:
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["schemas"] == [ERROR] and body["status"] == "403"
    assert "scimType" not in body  # none of RFC 7644's types fits; the detail says why
    assert "this token is read-only" in body["detail"]
    assert body["detail"].endswith(f"TrackingID: {r.headers['TrackingID']}")


def test_a_read_token_cannot_write_anything_and_nothing_changes(
    hub: Hub, org: OrgClient, reader: OrgClient, seeded: dict[str, Any]
) -> None:
    """The attack: an app holding a read token tries every way SCIM has to change the
    directory."""
    uid, gid = seeded["user"]["id"], seeded["group"]["id"]
    before = {
        "users": org.get("/Users").json(),
        "groups": org.get("/Groups").json(),
        "members": org.get(f"/Groups/{gid}/Members").json(),
    }
    remove_members = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "members"}]}
    deactivate = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    bulk_ops = [
        {"method": "POST", "path": "/Users", "data": new_user("bulk@example.com")},
        {"method": "DELETE", "path": f"/Users/{uid}"},
    ]
    for method, path, body in (
        ("POST", "/Users", new_user("intruder@example.com")),
        ("PUT", f"/Users/{uid}", new_user("renamed@example.com")),
        ("PATCH", f"/Users/{uid}", deactivate),
        ("DELETE", f"/Users/{uid}", None),
        ("POST", "/Groups", {"schemas": [GROUP], "displayName": "Intruders"}),
        ("PUT", f"/Groups/{gid}", {"schemas": [GROUP], "displayName": "Renamed"}),
        ("PATCH", f"/Groups/{gid}", remove_members),
        ("DELETE", f"/Groups/{gid}", None),
        ("POST", "/Bulk", {"schemas": [BULK], "Operations": bulk_ops}),
        ("DELETE", "/Users/.search", None),  # a search path, but not a search
    ):
        _refused(reader.request(method, path, json=body))
    after = {
        "users": org.get("/Users").json(),
        "groups": org.get("/Groups").json(),
        "members": org.get(f"/Groups/{gid}/Members").json(),
    }
    assert after == before
    # refused before the body was read: an oversized or broken body is still a 403
    _refused(reader.request("POST", "/Users", content=b"{" * 10))
    # the refusals are in the provisioning log, with the token that tried
    hub.requests.flush()
    entries = hub.requests.entries(org.org_id, status_class="failure", limit=50)[0]
    token_ids = {e.token_id for e in entries if e.status == 403}
    assert token_ids == {next(t.id for t in hub.tokens.list(org.org_id) if t.scope == "read")}


def test_the_default_scope_still_writes_and_listings_show_the_scope(
    hub: Hub, org: OrgClient, reader: OrgClient
) -> None:
    assert org.post("/Users", new_user("writer@example.com")).status_code == 201
    scopes = {t.name: t.scope for t in hub.tokens.list(org.org_id)}
    assert scopes == {"SCIM client": TokenScope.WRITE, "reporting app": TokenScope.READ}


def test_a_read_admin_token_is_a_read_only_administrator_of_the_integration_api(
    hub: Hub, org: OrgClient
) -> None:
    secret = hub.tokens.create(org.org_id, kind=TokenKind.ADMIN, scope=TokenScope.READ)[0]
    base = f"/extIntegration/azureAD/{org.org_id}/v1"
    headers = {"Authorization": f"Bearer {secret}"}
    assert org.http.get(f"{base}/status", headers=headers).status_code == 200
    refused = org.http.post(f"{base}/allowSync", json={"enabled": False}, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"][0]["code"] == "701060"
