"""Query parameters, SearchRequest bodies and ListResponses (RFC 7644 §3.4.2-3)."""

from __future__ import annotations

from typing import Any

import pytest

from scimhub.scim.ast import AttrPath, Compare
from scimhub.scim.errors import InvalidFilter, InvalidPath, InvalidSyntax, InvalidValue
from scimhub.scim.listing import (
    LIST_RESPONSE_URN,
    MAX_START_INDEX,
    SEARCH_REQUEST_URN,
    SearchRequest,
    from_query,
    from_search_body,
    list_response,
    paging_from_query,
)


def test_defaults() -> None:
    assert from_query({}, max_count=1000) == SearchRequest()


def test_all_query_parameters_case_insensitively() -> None:
    request = from_query(
        {
            "Filter": 'userName eq "a"',
            "SORTBY": "name.familyName",
            "sortOrder": "Descending",
            "startIndex": "11",
            "count": "5",
            "attributes": "userName,emails",
            "excludedAttributes": "groups",
            "unrelated": "x",
        },
        max_count=1000,
    )
    assert request == SearchRequest(
        filter=Compare(AttrPath("userName"), "eq", "a"),
        sort_by=AttrPath("name", "familyName"),
        sort_order="descending",
        start_index=11,
        count=5,
        attributes=["userName", "emails"],
        excluded_attributes=["groups"],
    )


@pytest.mark.parametrize(
    ("params", "start", "count"),
    [
        ({"startIndex": "0", "count": "-3"}, 1, 0),
        ({"startIndex": "-5"}, 1, 100),
        ({"count": "5000"}, 1, 1000),
        ({"startIndex": "9" * 25}, MAX_START_INDEX, 100),
    ],
)
def test_paging_is_clamped(params: dict[str, str], start: int, count: int) -> None:
    request = from_query(params, max_count=1000)
    assert (request.start_index, request.count) == (start, count)


def test_default_count_never_exceeds_the_maximum() -> None:
    assert from_query({}, max_count=50).count == 50
    assert from_query({}, max_count=1000, default_count=20).count == 20


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"count": "ten"}, InvalidValue),
        ({"startIndex": "1.5"}, InvalidValue),
        ({"count": "1_000"}, InvalidValue),
        ({"startIndex": "\u0663"}, InvalidValue),  # ARABIC-INDIC DIGIT THREE: int() reads it
        ({"count": "9" * 31}, InvalidValue),
        ({"sortOrder": "upwards"}, InvalidValue),
        ({"filter": "userName eq"}, InvalidFilter),
        ({"filter": ""}, InvalidFilter),
        ({"sortBy": "name["}, InvalidPath),
        ({"attributes": "a[b"}, InvalidPath),
    ],
)
def test_query_refusals(params: dict[str, str], error: type[Exception]) -> None:
    with pytest.raises(error):
        from_query(params, max_count=100)


def test_search_body() -> None:
    request = from_search_body(
        {
            "schemas": [SEARCH_REQUEST_URN],
            "filter": 'displayName sw "Eng"',
            "attributes": ["displayName"],
            "excludedAttributes": "members",
            "sortBy": "displayName",
            "startIndex": 2,
            "count": 10,
        },
        max_count=100,
    )
    assert request == SearchRequest(
        filter=Compare(AttrPath("displayName"), "sw", "Eng"),
        sort_by=AttrPath("displayName"),
        start_index=2,
        count=10,
        attributes=["displayName"],
        excluded_attributes=["members"],
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ([], InvalidSyntax),
        ({"filter": "x pr"}, InvalidSyntax),
        ({"schemas": [SEARCH_REQUEST_URN], "filtre": "x pr"}, InvalidSyntax),
        ({"schemas": [SEARCH_REQUEST_URN], "count": "10"}, InvalidValue),
        ({"schemas": [SEARCH_REQUEST_URN], "startIndex": True}, InvalidValue),
        ({"schemas": [SEARCH_REQUEST_URN], "count": 1.5}, InvalidValue),
        ({"schemas": [SEARCH_REQUEST_URN], "filter": 5}, InvalidValue),
        ({"schemas": [SEARCH_REQUEST_URN], "attributes": [1]}, InvalidValue),
        ({"schemas": [SEARCH_REQUEST_URN], "filter": "x eq"}, InvalidFilter),
    ],
)
def test_search_body_refusals(body: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        from_search_body(body, max_count=100)


def test_paging_alone_is_bounded_like_a_query() -> None:
    assert paging_from_query({}, max_count=500, default_count=500) == (1, 500)
    assert paging_from_query(
        {"StartIndex": "9" * 30, "count": "-1"}, max_count=500, default_count=500
    ) == (MAX_START_INDEX, 0)
    with pytest.raises(InvalidValue):
        paging_from_query({"count": "\u00b2"}, max_count=500, default_count=500)


@pytest.mark.parametrize(
    ("member", "start"), [(1e25, MAX_START_INDEX), (3.0, 3), (-1e30, 1), (2**70, MAX_START_INDEX)]
)
def test_search_body_integers_of_any_size(member: float, start: int) -> None:
    """orjson reads integers past 64 bits as floats: one without a fraction is an integer."""
    body = {"schemas": [SEARCH_REQUEST_URN], "startIndex": member}
    assert from_search_body(body, max_count=100).start_index == start


def test_list_response() -> None:
    resources = [{"id": "a"}, {"id": "b"}]
    assert list_response(resources, 12, 3) == {
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": 12,
        "itemsPerPage": 2,
        "startIndex": 3,
        "Resources": resources,
    }
    assert list_response([], 0, 1)["totalResults"] == 0
