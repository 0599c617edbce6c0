"""Bulk (RFC 7644 §3.7): bulkId references, failOnErrors, limits."""

from __future__ import annotations

from typing import Any

from tests.api.test_users import USER
from tests.conftest import OrgClient

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def bulk(*ops: dict[str, Any], fail_on_errors: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [BULK], "Operations": list(ops)}
    if fail_on_errors is not None:
        body["failOnErrors"] = fail_on_errors
    return body


def test_bulk_with_bulk_id_references_including_forward(org: OrgClient) -> None:
    r = org.post(
        "/Bulk",
        bulk(
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": {
                    "schemas": [GROUP],
                    "displayName": "Team",
                    "members": [{"value": "bulkId:u1"}],
                },
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "u1",
                "data": {"schemas": [USER], "userName": "one@example.com"},
            },
            {
                "method": "PATCH",
                "path": "/Users/bulkId:u1",
                "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "title", "value": "Lead"}],
                },
            },
        ),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]
    statuses = {
        op["bulkId"] if "bulkId" in op else op["method"]: op["status"] for op in body["Operations"]
    }
    assert statuses == {"g": "201", "u1": "201", "PATCH": "200"}
    groups = org.get("/Groups").json()["Resources"]
    user = org.get("/Users").json()["Resources"][0]
    assert groups[0]["members"][0]["value"] == user["id"]
    assert user["title"] == "Lead"


def test_fail_on_errors_stops_processing(org: OrgClient) -> None:
    r = org.post(
        "/Bulk",
        bulk(
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER]}},
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "b",
                "data": {"schemas": [USER], "userName": "b@example.com"},
            },
            fail_on_errors=1,
        ),
    )
    ops = r.json()["Operations"]
    assert len(ops) == 1 and ops[0]["status"] == "400"
    assert ops[0]["response"]["scimType"] == "invalidValue"
    assert org.get("/Users").json()["totalResults"] == 0


def test_unresolvable_reference_is_reported(org: OrgClient) -> None:
    r = org.post(
        "/Bulk",
        bulk(
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": {
                    "schemas": [GROUP],
                    "displayName": "X",
                    "members": [{"value": "bulkId:nope"}],
                },
            }
        ),
    )
    op = r.json()["Operations"][0]
    assert op["status"] == "409"


def test_too_many_operations_is_413(org: OrgClient, settings: Any) -> None:
    ops = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": str(i),
            "data": {"schemas": [USER], "userName": f"{i}@x.com"},
        }
        for i in range(settings.max_bulk_operations + 1)
    ]
    r = org.post("/Bulk", bulk(*ops))
    assert r.status_code == 413
    assert str(settings.max_bulk_operations) in r.json()["detail"]
    assert org.get("/Users").json()["totalResults"] == 0
