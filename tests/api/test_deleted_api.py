"""The recycle bin's API (`/api/v1/orgs/{orgId}/deleted-users`, `deleted-groups`): a user
deleted over SCIM is listed and restored with its groups, its events recorded; 404 and 409
in the `/api/v1` envelope; another organisation's token and a read-only token refused."""

from __future__ import annotations

from typing import Any

import httpx2

from scimhub.api.services import Hub
from scimhub.directory.events import Events
from scimhub.directory.tokens import TokenKind, TokenScope
from tests.conftest import OrgClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _admin(hub: Hub, org: OrgClient, scope: TokenScope = TokenScope.WRITE) -> dict[str, str]:
    token = hub.tokens.create(org.org_id, name="bin app", kind=TokenKind.ADMIN, scope=scope)[0]
    return {"Authorization": f"Bearer {token}"}


def _created(r: httpx2.Response) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _error(r: httpx2.Response) -> tuple[int, str, str]:
    body = r.json()
    assert set(body) == {"error", "trackingId"}
    assert body["trackingId"] == r.headers["TrackingID"]
    (message,) = body["error"]["message"]
    return r.status_code, message["code"], message["description"]


def test_a_user_deleted_over_scim_is_listed_and_restored_with_its_events(
    hub: Hub, org: OrgClient
) -> None:
    admin, base = _admin(hub, org), f"/api/v1/orgs/{org.org_id}"
    user = _created(org.post("/Users", {"schemas": [USER], "userName": "ann", "title": "CTO"}))
    group = _created(
        org.post(
            "/Groups",
            {"schemas": [GROUP], "displayName": "Board", "members": [{"value": user["id"]}]},
        )
    )
    assert org.delete(f"/Users/{user['id']}").status_code == 204

    listed = org.http.get(f"{base}/deleted-users", headers=admin)
    assert listed.status_code == 200
    (entry,) = listed.json()["data"]
    assert listed.json()["total"] == 1
    assert (entry["id"], entry["name"], entry["resourceType"]) == (user["id"], "ann", "User")
    assert entry["deletedAt"].endswith("Z") and entry["deletedBy"]["kind"] == "scim"

    r = org.http.post(f"{base}/deleted-users/{user['id']}/restore", headers=admin)

    assert r.status_code == 200, r.text
    restored = r.json()
    assert restored["id"] == user["id"] and restored["title"] == "CTO"
    assert restored["meta"]["location"] == user["meta"]["location"]
    assert [g["value"] for g in restored["groups"]] == [group["id"]]
    assert org.get(f"/Users/{user['id']}").json() == restored
    events = Events(hub.db).page(org.org_id, after=None, limit=100).events
    assert [(e.type, e.data.get("id") or e.data.get("member_id")) for e in events[-2:]] == [
        ("user.restored", user["id"]),
        ("group.member_added", user["id"]),
    ]
    assert events[-2].source["name"] == "token:bin app"
    audit, _ = hub.audit.events(org.org_id, action="Restore user")
    assert audit[0].actor == "token:bin app" and audit[0].tracking_id == r.headers["TrackingID"]
    assert org.http.get(f"{base}/deleted-users", headers=admin).json() == {"data": [], "total": 0}
    # Restored once: not in the bin any more.
    again = org.http.post(f"{base}/deleted-users/{user['id']}/restore", headers=admin)
    assert _error(again)[:2] == (404, "702020")


def test_a_name_taken_meanwhile_is_409_naming_the_holder(hub: Hub, org: OrgClient) -> None:
    admin, base = _admin(hub, org), f"/api/v1/orgs/{org.org_id}"
    old = _created(org.post("/Groups", {"schemas": [GROUP], "displayName": "Ops"}))
    assert org.delete(f"/Groups/{old['id']}").status_code == 204
    new = _created(org.post("/Groups", {"schemas": [GROUP], "displayName": "OPS"}))
    assert org.http.get(f"{base}/deleted-groups", headers=admin).json()["total"] == 1

    r = org.http.post(f"{base}/deleted-groups/{old['id']}/restore", headers=admin)

    status, code, description = _error(r)
    assert (status, code) == (409, "702022")
    assert new["id"] in description and "Ops" in description


def test_other_orgs_and_read_only_tokens_cannot_restore(
    hub: Hub, org: OrgClient, other_org: OrgClient
) -> None:
    user = _created(org.post("/Users", {"schemas": [USER], "userName": "bob"}))
    assert org.delete(f"/Users/{user['id']}").status_code == 204
    path = f"/deleted-users/{user['id']}/restore"

    # The other org's token on this org: as if it did not exist.
    foreign = org.http.post(f"/api/v1/orgs/{org.org_id}{path}", headers=_admin(hub, other_org))
    assert _error(foreign)[:2] == (404, "702020")
    # Its own org's path: this id is not in its bin.
    own = org.http.post(f"/api/v1/orgs/{other_org.org_id}{path}", headers=_admin(hub, other_org))
    assert _error(own)[:2] == (404, "702020")
    reader = _admin(hub, org, TokenScope.READ)
    assert _error(org.http.post(f"/api/v1/orgs/{org.org_id}{path}", headers=reader))[0] == 403
    bad = org.http.get(f"/api/v1/orgs/{org.org_id}/deleted-users?limit=0", headers=reader)
    assert _error(bad)[:2] == (400, "702000")
    assert org.get(f"/Users/{user['id']}").status_code == 404  # still deleted
