"""HEAD is GET without the content (RFC 9110 §9.3.2): whatever body it carries, it reads
and never writes. Starlette answers HEAD on every GET route, so each one is attacked here."""

from __future__ import annotations

from typing import Any

from tests.conftest import OrgClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def rename(attribute: str, value: str) -> dict[str, Any]:
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": attribute, "value": value}],
    }


def test_head_on_users_with_a_user_body_creates_nothing(org: OrgClient) -> None:
    r = org.request("HEAD", "/Users", json={"schemas": [USER], "userName": "head@example.com"})
    assert r.status_code == 200 and r.content == b""
    assert org.get("/Users").json()["totalResults"] == 0


def test_head_on_groups_with_a_group_body_creates_nothing(org: OrgClient) -> None:
    r = org.request("HEAD", "/Groups", json={"schemas": [GROUP], "displayName": "Head"})
    assert r.status_code == 200 and r.content == b""
    assert org.get("/Groups").json()["totalResults"] == 0


def test_head_on_a_user_with_a_patch_or_put_body_changes_nothing(org: OrgClient) -> None:
    created = org.post("/Users", {"schemas": [USER], "userName": "ada@example.com"}).json()
    uid = created["id"]
    for body in (
        rename("displayName", "Changed"),
        {"schemas": [USER], "userName": "renamed@example.com"},
    ):
        r = org.request("HEAD", f"/Users/{uid}", json=body)
        assert r.status_code == 200 and r.content == b""
        assert r.headers["ETag"] == created["meta"]["version"]
    after = org.get(f"/Users/{uid}").json()
    assert after["userName"] == "ada@example.com" and "displayName" not in after
    assert after["meta"]["version"] == created["meta"]["version"]


def test_head_on_a_group_with_a_patch_body_changes_nothing(org: OrgClient) -> None:
    created = org.post("/Groups", {"schemas": [GROUP], "displayName": "Before"}).json()
    gid = created["id"]
    r = org.request("HEAD", f"/Groups/{gid}", json=rename("displayName", "After"))
    assert r.status_code == 200 and r.content == b""
    after = org.get(f"/Groups/{gid}").json()
    assert after["displayName"] == "Before"
    assert after["meta"]["version"] == created["meta"]["version"]


def test_head_answers_like_get_including_not_modified_and_not_found(org: OrgClient) -> None:
    uid = org.post("/Users", {"schemas": [USER], "userName": "b@example.com"}).json()["id"]
    got = org.get(f"/Users/{uid}")
    head = org.request("HEAD", f"/Users/{uid}")
    assert head.status_code == 200 and head.headers["ETag"] == got.headers["ETag"]
    assert head.headers["content-length"] == got.headers["content-length"]
    etag = got.headers["ETag"]
    assert org.request("HEAD", f"/Users/{uid}", headers={"If-None-Match": etag}).status_code == 304
    assert org.request("HEAD", "/Users/no-such-id").status_code == 404
