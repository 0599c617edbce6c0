"""Users over HTTP: CRUD, ETags, uniqueness, lifecycle, projection, tenancy."""

from __future__ import annotations

from typing import Any

from tests.conftest import OrgClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def new_user(name: str = "bjensen@example.com", **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": name,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        **extra,
    }


def test_create_returns_201_with_meta_location_and_etag(org: OrgClient) -> None:
    r = org.post("/Users", new_user(externalId="ext-1"))
    assert r.status_code == 201
    assert r.headers["content-type"].startswith("application/scim+json")
    doc = r.json()
    assert doc["userName"] == "bjensen@example.com"
    assert doc["active"] is True
    assert doc["externalId"] == "ext-1"
    meta = doc["meta"]
    assert meta["resourceType"] == "User"
    assert meta["location"] == f"https://hub.test{org.base}/Users/{doc['id']}"
    assert r.headers["Location"] == meta["location"]
    assert r.headers["ETag"] == meta["version"] == 'W/"1"'
    assert meta["created"].endswith("Z")
    assert r.headers["TrackingID"].startswith("SCIMHUB_")


def test_get_put_delete_lifecycle(org: OrgClient) -> None:
    uid = org.post("/Users", new_user()).json()["id"]
    got = org.get(f"/Users/{uid}")
    assert got.status_code == 200 and got.json()["id"] == uid
    replaced = org.put(f"/Users/{uid}", new_user(displayName="Babs", active=False))
    assert replaced.status_code == 200
    body = replaced.json()
    assert body["displayName"] == "Babs" and body["active"] is False
    assert body["meta"]["version"] == 'W/"2"'
    # inactive users stay listable
    listed = org.get("/Users", params={"filter": 'userName eq "bjensen@example.com"'}).json()
    assert listed["totalResults"] == 1 and listed["Resources"][0]["active"] is False
    assert org.delete(f"/Users/{uid}").status_code == 204
    missing = org.get(f"/Users/{uid}")
    assert missing.status_code == 404
    assert missing.json()["schemas"] == [ERROR]
    assert missing.json()["status"] == "404"
    assert missing.json()["detail"].endswith(f"TrackingID: {missing.headers['TrackingID']}")


def test_username_unique_case_insensitive(org: OrgClient) -> None:
    assert org.post("/Users", new_user("Alice@Example.com")).status_code == 201
    dup = org.post("/Users", new_user("alice@example.COM"))
    assert dup.status_code == 409
    assert dup.json()["scimType"] == "uniqueness"


def test_username_unique_only_within_org(org: OrgClient, other_org: OrgClient) -> None:
    assert org.post("/Users", new_user("same@example.com")).status_code == 201
    assert other_org.post("/Users", new_user("same@example.com")).status_code == 201


def test_patch_rename_to_taken_username_conflicts(org: OrgClient) -> None:
    org.post("/Users", new_user("a@example.com"))
    uid = org.post("/Users", new_user("b@example.com")).json()["id"]
    r = org.patch(
        f"/Users/{uid}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "userName", "value": "A@example.com"}],
        },
    )
    assert r.status_code == 409 and r.json()["scimType"] == "uniqueness"
    assert org.get(f"/Users/{uid}").json()["userName"] == "b@example.com"


def test_if_match_and_if_none_match(org: OrgClient) -> None:
    created = org.post("/Users", new_user()).json()
    uid, v1 = created["id"], created["meta"]["version"]
    assert org.get(f"/Users/{uid}", headers={"If-None-Match": v1}).status_code == 304
    ok = org.put(f"/Users/{uid}", new_user(displayName="x"), headers={"If-Match": v1})
    assert ok.status_code == 200
    stale = org.put(f"/Users/{uid}", new_user(displayName="y"), headers={"If-Match": v1})
    assert stale.status_code == 412
    assert org.get(f"/Users/{uid}").json()["displayName"] == "x"
    assert org.get(f"/Users/{uid}", headers={"If-None-Match": v1}).status_code == 200
    assert org.delete(f"/Users/{uid}", headers={"If-Match": v1}).status_code == 412


def test_enterprise_extension_round_trip(org: OrgClient) -> None:
    body = new_user(schemas=[USER, ENTERPRISE])
    body[ENTERPRISE] = {"department": "Sales", "employeeNumber": "42"}
    doc = org.post("/Users", body).json()
    assert doc[ENTERPRISE] == {"department": "Sales", "employeeNumber": "42"}
    assert ENTERPRISE in doc["schemas"]


def test_password_is_never_returned(org: OrgClient) -> None:
    r = org.post("/Users", new_user(password="s3cret-Pa55"))
    assert r.status_code == 201
    assert "password" not in r.json()
    assert "s3cret" not in r.text
    uid = r.json()["id"]
    got = org.get(f"/Users/{uid}", params={"attributes": "password,userName"})
    assert "password" not in got.json()


def test_attributes_and_excluded_attributes(org: OrgClient) -> None:
    uid = org.post("/Users", new_user(displayName="B")).json()["id"]
    only = org.get(f"/Users/{uid}", params={"attributes": "userName,name.givenName"}).json()
    assert only["userName"] == "bjensen@example.com"
    assert only["name"] == {"givenName": "Barbara"}
    assert "displayName" not in only and "emails" not in only
    assert only["id"] == uid  # returned=always
    without = org.get(f"/Users/{uid}", params={"excludedAttributes": "emails,name"}).json()
    assert "emails" not in without and "name" not in without
    assert without["displayName"] == "B"


def test_tenancy_other_orgs_token_sees_nothing(org: OrgClient, other_org: OrgClient) -> None:
    uid = org.post("/Users", new_user()).json()["id"]
    # other org's token on this org's URL: the org is invisible to it
    foreign = OrgClient(org.http, org.org_id, other_org.token)
    assert foreign.get(f"/Users/{uid}").status_code == 404
    assert foreign.get("/Users").status_code == 404
    # this org's user id through the other org: not found
    assert other_org.get(f"/Users/{uid}").status_code == 404
    assert other_org.delete(f"/Users/{uid}").status_code == 404
    assert other_org.get("/Users").json()["totalResults"] == 0
    assert org.get(f"/Users/{uid}").status_code == 200


def test_missing_or_wrong_token_is_401(org: OrgClient) -> None:
    r = org.http.get(f"{org.base}/Users")
    assert r.status_code == 401
    assert r.json()["status"] == "401"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    bad = OrgClient(org.http, org.org_id, "scimhub_not-a-real-token")
    assert bad.get("/Users").status_code == 401


def test_revoked_and_expired_tokens_are_refused(org: OrgClient, hub: Any) -> None:
    from datetime import timedelta

    secret, info = hub.tokens.create(org.org_id, name="temp")
    client = OrgClient(org.http, org.org_id, secret)
    assert client.get("/Users").status_code == 200
    hub.tokens.revoke(org.org_id, info.id)
    assert client.get("/Users").status_code == 401
    expired, _ = hub.tokens.create(org.org_id, expires_in=timedelta(seconds=-1))
    assert OrgClient(org.http, org.org_id, expired).get("/Users").status_code == 401


def test_tokens_are_stored_hashed(org: OrgClient, hub: Any) -> None:
    from sqlalchemy import select

    from scimhub.store.tables import tokens

    with hub.db.read() as conn:
        stored = [
            r.token_hash
            for r in conn.execute(select(tokens.c.token_hash).where(tokens.c.org_id == org.org_id))
        ]
    assert stored and org.token not in stored
    assert all(len(h) == 64 for h in stored)


def test_requests_are_logged_for_the_provisioning_log(org: OrgClient, hub: Any) -> None:
    r = org.post("/Users", new_user())
    org.get("/Users/nope")
    entries, total = hub.requests.entries(org.org_id)
    assert total >= 2
    by_tid = {e.tracking_id: e for e in entries}
    created = by_tid[r.headers["TrackingID"]]
    assert created.method == "POST" and created.status == 201
    assert created.resource_type == "User"
    failures, _ = hub.requests.entries(org.org_id, status_class="failure")
    assert [e.status for e in failures] == [404]


def test_tracking_ids_count_up_within_a_process_and_client_ids_are_kept(org: OrgClient) -> None:
    first = org.get("/Users").headers["TrackingID"]
    second = org.get("/Users").headers["TrackingID"]
    prefix1, uuid1, n1 = first.split("_")
    prefix2, uuid2, n2 = second.split("_")
    assert prefix1 == prefix2 == "SCIMHUB" and uuid1 == uuid2 and int(n2) > int(n1)
    mine = "CONSOLE_0b8f6c1e-8d7e-4e8c-9a3f-4c5d6e7f8a9b_7"
    assert org.get("/Users", headers={"TrackingID": mine}).headers["TrackingID"] == mine
    forged = org.get("/Users", headers={"TrackingID": "x\r\ninjected"}).headers["TrackingID"]
    assert forged.startswith("SCIMHUB_")
