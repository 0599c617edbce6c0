"""Query requests and list responses (RFC 7644 §3.4.2, §3.4.3).

A `SearchRequest` is the same whether it came as GET query parameters or as a POST
`/.search` body, so the route and store see one shape. Paging follows §3.4.2.4: a
`startIndex` below 1 means 1, a negative `count` means 0, and `count` is clamped to the
service's maximum (advertised as `filter.maxResults` in the ServiceProviderConfig).
Every integer is bounded before it reaches SQL, whatever its size, so no input can overflow
a database's OFFSET or LIMIT.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import ast
from .errors import InvalidSyntax, InvalidValue
from .filter import parse_attr_path, parse_filter
from .projection import checked_names, parse_attribute_list
from .schemas import has_schema
from .values import json_type

SEARCH_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
LIST_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
DEFAULT_COUNT = 100
# Far beyond any result set, and inside every database's integer range for OFFSET.
MAX_START_INDEX = 2**31 - 1
# ASCII digits only (`int()` also reads "٣"); 30 of them keep `int()` cheap, and clamping
# makes any larger count of digits pointless.
_INTEGER_RE = re.compile(r"\s*[+-]?[0-9]{1,30}\s*")

_PARAMETERS = (
    "filter",
    "sortBy",
    "sortOrder",
    "startIndex",
    "count",
    "attributes",
    "excludedAttributes",
)
_BY_LOWER = {name.lower(): name for name in _PARAMETERS}


@dataclass(frozen=True, slots=True)
class SearchRequest:
    filter: ast.Filter | None = None
    sort_by: ast.AttrPath | None = None
    sort_order: str = "ascending"  # or "descending"
    start_index: int = 1
    count: int = DEFAULT_COUNT
    attributes: list[str] | None = None
    excluded_attributes: list[str] | None = None


def from_query(
    params: Mapping[str, str], *, max_count: int, default_count: int = DEFAULT_COUNT
) -> SearchRequest:
    """From GET query parameters (names matched case-insensitively; others are ignored,
    they belong to the route). Raises InvalidFilter, InvalidPath or InvalidValue."""
    found = {_BY_LOWER[k.lower()]: v for k, v in params.items() if k.lower() in _BY_LOWER}
    return _build(
        found.get("filter"),
        found.get("sortBy"),
        found.get("sortOrder"),
        _integer_text(found, "startIndex"),
        _integer_text(found, "count"),
        parse_attribute_list(found.get("attributes")),
        parse_attribute_list(found.get("excludedAttributes")),
        max_count=max_count,
        default_count=default_count,
    )


def from_search_body(
    body: Any, *, max_count: int, default_count: int = DEFAULT_COUNT
) -> SearchRequest:
    """From a POST `/.search` body (§3.4.3). Raises InvalidSyntax for a malformed message,
    InvalidValue for members of the wrong type."""
    if not isinstance(body, dict):
        raise InvalidSyntax("a SearchRequest must be a JSON object")
    fields = {k.lower(): v for k, v in body.items()}
    if not has_schema(fields.get("schemas"), SEARCH_REQUEST_URN):
        raise InvalidSyntax(f"'schemas' must contain '{SEARCH_REQUEST_URN}'")
    unknown = fields.keys() - _BY_LOWER.keys() - {"schemas"}
    if unknown:
        raise InvalidSyntax(f"unknown SearchRequest member(s) {sorted(unknown)}")
    found = {_BY_LOWER[k]: v for k, v in fields.items() if k in _BY_LOWER}
    for name in ("filter", "sortBy", "sortOrder"):
        _expect(found, name, str, "a string")
    return _build(
        found.get("filter"),
        found.get("sortBy"),
        found.get("sortOrder"),
        _integer_member(found, "startIndex"),
        _integer_member(found, "count"),
        _name_list(found, "attributes"),
        _name_list(found, "excludedAttributes"),
        max_count=max_count,
        default_count=default_count,
    )


def paging_from_query(
    params: Mapping[str, str], *, max_count: int, default_count: int
) -> tuple[int, int]:
    """`startIndex` and `count` alone, bounded as in `from_query`, for lists that take no
    filter (a group's Members). Raises InvalidValue."""
    found = {_BY_LOWER[k.lower()]: v for k, v in params.items() if k.lower() in _BY_LOWER}
    return (
        _start_index(_integer_text(found, "startIndex")),
        _count(_integer_text(found, "count"), default_count, max_count),
    )


def list_response(
    resources: Sequence[Mapping[str, Any]], total: int, start_index: int
) -> dict[str, Any]:
    """A ListResponse (§3.4.2): `itemsPerPage` is the number actually returned."""
    return {
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": start_index,
        "Resources": list(resources),
    }


def _build(
    filter_text: str | None,
    sort_by: str | None,
    sort_order: str | None,
    start_index: int | None,
    count: int | None,
    attributes: list[str] | None,
    excluded: list[str] | None,
    *,
    max_count: int,
    default_count: int,
) -> SearchRequest:
    order = (sort_order or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise InvalidValue(f"'sortOrder' must be ascending or descending, got {sort_order!r}")
    return SearchRequest(
        filter=parse_filter(filter_text) if filter_text is not None else None,
        sort_by=parse_attr_path(sort_by) if sort_by else None,
        sort_order=order,
        start_index=_start_index(start_index),
        count=_count(count, default_count, max_count),
        attributes=attributes,
        excluded_attributes=excluded,
    )


def _start_index(value: int | None) -> int:
    return min(max(1, value or 1), MAX_START_INDEX)


def _count(value: int | None, default: int, maximum: int) -> int:
    return min(max(0, value if value is not None else default), maximum)


def _integer_text(params: Mapping[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    if not _INTEGER_RE.fullmatch(text):
        raise InvalidValue(f"'{name}' must be an integer of at most 30 digits, got {text[:40]!r}")
    return int(text)


def _integer_member(found: Mapping[str, Any], name: str) -> int | None:
    """A body member that must be a JSON integer. orjson reads integers beyond 64 bits as
    floats (10**25 becomes 1e+25), so a float without a fraction counts as one: the body
    then means what the same number means as a query parameter."""
    value = found.get(name)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        got = repr(value) if isinstance(value, float) else json_type(value)
        raise InvalidValue(f"'{name}' must be an integer, got {got}")
    return value


def _expect(found: Mapping[str, Any], name: str, kind: type, expected: str) -> None:
    value = found.get(name)
    if value is not None and not isinstance(value, kind):
        raise InvalidValue(f"'{name}' must be {expected}, got {json_type(value)}")


def _name_list(found: Mapping[str, Any], name: str) -> list[str] | None:
    """A list of attribute names; a comma-separated string is accepted too, as some
    clients copy the query-parameter form into the body."""
    value = found.get(name)
    if value is None or isinstance(value, str):
        return parse_attribute_list(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return checked_names(value)
    raise InvalidValue(f"'{name}' must be an array of attribute names")
