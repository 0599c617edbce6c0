"""Bulk (RFC 7644 §3.7): request validation, bulkId references, response shape."""

from __future__ import annotations

from typing import Any

import pytest

from scimhub.scim.bulk import (
    BULK_REQUEST_URN,
    BULK_RESPONSE_URN,
    MAX_DATA_DEPTH,
    BulkResult,
    UnresolvedBulkId,
    bulk_response,
    parse_bulk,
    referenced_bulk_ids,
    substitute_bulk_ids,
)
from scimhub.scim.errors import InvalidSyntax, InvalidValue, PayloadTooLarge
from scimhub.scim.schemas import GROUP, USER


def request(*operations: Any, **extra: Any) -> dict[str, Any]:
    return {"schemas": [BULK_REQUEST_URN], "Operations": list(operations), **extra}


CREATE_USER: dict[str, Any] = {
    "method": "POST",
    "path": "/Users",
    "bulkId": "u1",
    "data": {"userName": "a@x"},
}
CREATE_GROUP: dict[str, Any] = {
    "method": "post",
    "path": "/groups",
    "bulkId": "g1",
    "data": {"displayName": "G", "members": [{"value": "bulkId:u1"}]},
}


def test_parse_valid_request() -> None:
    parsed = parse_bulk(
        request(
            CREATE_USER,
            CREATE_GROUP,
            {
                "method": "PATCH",
                "path": "/Users/abc",
                "version": 'W/"2"',
                "data": {"schemas": ["x"], "Operations": []},
            },
            {"method": "DELETE", "path": "/Groups/bulkId:g1", "data": {"ignored": True}},
            failOnErrors=1,
        ),
        max_operations=10,
    )
    assert parsed.fail_on_errors == 1
    first, second, third, fourth = parsed.operations
    assert (first.method, first.resource_type, first.resource_id, first.bulk_id) == (
        "POST",
        USER,
        None,
        "u1",
    )
    assert (second.method, second.resource_type) == ("POST", GROUP)
    assert (third.resource_id, third.version) == ("abc", 'W/"2"')
    assert (fourth.method, fourth.resource_id, fourth.data) == ("DELETE", "bulkId:g1", None)


def test_too_many_operations_names_the_maximum() -> None:
    with pytest.raises(PayloadTooLarge, match=r"exceed maxOperations \(2\)") as caught:
        parse_bulk(
            request(CREATE_USER, {**CREATE_USER, "bulkId": "u2"}, {**CREATE_USER, "bulkId": "u3"}),
            max_operations=2,
        )
    assert caught.value.status == 413


@pytest.mark.parametrize(
    ("body", "error", "fragment"),
    [
        ([], InvalidSyntax, "JSON object"),
        ({"Operations": [CREATE_USER]}, InvalidSyntax, "schemas"),
        (request(), InvalidSyntax, "non-empty"),
        (request("x"), InvalidSyntax, "operation 1"),
        (request({**CREATE_USER, "bulkId": None}), InvalidSyntax, "needs a 'bulkId'"),
        (request(CREATE_USER, CREATE_USER), InvalidSyntax, "unique"),
        (request({**CREATE_USER, "method": "GET"}), InvalidValue, "'method'"),
        (request({**CREATE_USER, "path": "Users"}), InvalidValue, "'path'"),
        (request({**CREATE_USER, "path": "/Widgets"}), InvalidValue, "unknown resource"),
        (request({**CREATE_USER, "path": "/Users/1"}), InvalidValue, "collection"),
        (request({"method": "PUT", "path": "/Users", "data": {}}), InvalidValue, "/Users/{id}"),
        (request({"method": "PUT", "path": "/Users/1/x", "data": {}}), InvalidValue, "{id}"),
        (request({"method": "PUT", "path": "/Users/1"}), InvalidSyntax, "'data' object"),
        (request({**CREATE_USER, "bulkId": 7}), InvalidValue, "bulkId"),
        (request({**CREATE_USER, "version": 2}), InvalidValue, "version"),
        (request({**CREATE_USER, "extra": 1}), InvalidSyntax, "unknown member"),
        (request(CREATE_USER, failOnErrors=0), InvalidValue, "failOnErrors"),
        (request(CREATE_USER, failOnErrors="1"), InvalidValue, "failOnErrors"),
    ],
)
def test_refusals(body: Any, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as caught:
        parse_bulk(body, max_operations=10)
    assert fragment in str(caught.value)


def test_deeply_nested_data_is_refused() -> None:
    data: Any = "leaf"
    for _ in range(MAX_DATA_DEPTH + 1):
        data = {"x": data}
    with pytest.raises(InvalidValue, match="nests deeper"):
        parse_bulk(request({**CREATE_USER, "data": data}), max_operations=10)


def test_bulk_id_references() -> None:
    data = CREATE_GROUP["data"]
    assert referenced_bulk_ids(data) == {"u1"}
    assert substitute_bulk_ids(data, {"u1": "id-1"}) == {
        "displayName": "G",
        "members": [{"value": "id-1"}],
    }
    assert data["members"] == [{"value": "bulkId:u1"}]  # not mutated
    with pytest.raises(UnresolvedBulkId) as caught:
        substitute_bulk_ids({"a": ["bulkId:x", {"b": "bulkId:y"}], "c": "bulkId:x"}, {})
    assert caught.value.bulk_ids == ("x", "y")
    assert "x, y" in caught.value.detail
    assert caught.value.scim_type == "invalidValue"


def test_bulk_response() -> None:
    error = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409"}
    assert bulk_response(
        [
            BulkResult("POST", 201, bulk_id="u1", version='W/"1"', location="https://h/Users/1"),
            BulkResult("DELETE", 409, response=error),
        ]
    ) == {
        "schemas": [BULK_RESPONSE_URN],
        "Operations": [
            {
                "method": "POST",
                "bulkId": "u1",
                "version": 'W/"1"',
                "location": "https://h/Users/1",
                "status": "201",
            },
            {"method": "DELETE", "response": error, "status": "409"},
        ],
    }
