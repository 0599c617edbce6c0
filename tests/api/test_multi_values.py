"""The bound on a resource's multi-valued attributes over HTTP (SCIMHUB_MAX_MULTI_VALUES,
1000 by default): 400 invalidValue naming the attribute and the limit, nothing written;
group members are rows and are not bounded by it."""

from __future__ import annotations

from typing import Any

from scimhub.api.services import Hub
from scimhub.directory.locator import Locator
from tests.conftest import OrgClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
LIMIT = 1000


def emails(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"value": f"u{i}@example.com"} for i in range(start, start + count)]


def assert_too_many(r: Any, attribute: str, count: int) -> None:
    assert r.status_code == 400, r.text
    error = r.json()
    assert error["scimType"] == "invalidValue"
    assert f"'{attribute}' has {count} values; at most {LIMIT} are accepted" in error["detail"]


def test_post_with_too_many_emails_is_refused_and_creates_nothing(org: OrgClient) -> None:
    r = org.post(
        "/Users", {"schemas": [USER], "userName": "many@example.com", "emails": emails(LIMIT + 1)}
    )
    assert_too_many(r, "emails", LIMIT + 1)
    assert r.json()["detail"].endswith(f"TrackingID: {r.headers['TrackingID']}")
    assert org.get("/Users").json()["totalResults"] == 0


def test_the_limit_itself_is_accepted(org: OrgClient) -> None:
    r = org.post(
        "/Users", {"schemas": [USER], "userName": "full@example.com", "emails": emails(LIMIT)}
    )
    assert r.status_code == 201, r.text
    assert len(r.json()["emails"]) == LIMIT


def test_put_and_patch_past_the_limit_change_nothing(org: OrgClient) -> None:
    created = org.post(
        "/Users", {"schemas": [USER], "userName": "p@example.com", "emails": emails(LIMIT)}
    ).json()
    uid = created["id"]
    assert_too_many(
        org.put(
            f"/Users/{uid}",
            {"schemas": [USER], "userName": "p@example.com", "phoneNumbers": emails(LIMIT + 5)},
        ),
        "phoneNumbers",
        LIMIT + 5,
    )
    assert_too_many(
        org.patch(
            f"/Users/{uid}",
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "path": "emails", "value": emails(1, start=LIMIT)}],
            },
        ),
        "emails",
        LIMIT + 1,
    )
    assert org.get(f"/Users/{uid}").json()["meta"]["version"] == created["meta"]["version"]


def test_a_bulk_operation_past_the_limit_fails_alone(org: OrgClient) -> None:
    r = org.post(
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "many",
                    "data": {
                        "schemas": [USER],
                        "userName": "m@example.com",
                        "roles": emails(LIMIT + 1),
                    },
                },
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "fine",
                    "data": {"schemas": [USER], "userName": "f@example.com"},
                },
            ],
        },
    )
    assert r.status_code == 200, r.text
    first, second = r.json()["Operations"]
    assert first["status"] == "400" and first["response"]["scimType"] == "invalidValue"
    assert "'roles' has 1001 values; at most 1000" in first["response"]["detail"]
    assert second["status"] == "201"


def test_group_members_past_the_limit_are_allowed(org: OrgClient, hub: Hub) -> None:
    """Members are rows: a change costs what it changes, and the payload and Bulk limits
    bound a request. The values bound is for what a resource's document holds."""
    loc = Locator("https://hub.test", org.org_id)
    ids = [
        hub.users.create(org.org_id, {"userName": f"m{i}@example.com"}, loc)["id"]
        for i in range(LIMIT + 1)
    ]
    gid = org.post("/Groups", {"schemas": [GROUP], "displayName": "Big"}).json()["id"]
    r = org.patch(
        f"/Groups/{gid}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}],
        },
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["members"]) == LIMIT + 1
