"""The pure parts of Bulk (RFC 7644 §3.7): validating a BulkRequest, resolving `bulkId:`
references, and shaping the BulkResponse. Running the operations is the API's job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidSyntax, InvalidValue, PayloadTooLarge
from .schemas import RESOURCE_TYPES, ResourceType, has_schema
from .values import json_type

BULK_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
BULK_ID_PREFIX = "bulkId:"
_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_OPERATION_KEYS = frozenset({"method", "path", "bulkid", "version", "data"})
# SCIM data nests a few levels (PatchOp → operation → value → element); refusing deeper
# input keeps the recursive walks below far from Python's recursion limit.
MAX_DATA_DEPTH = 32


class UnresolvedBulkId(InvalidValue):
    """Data refers to `bulkId:x` for operations that have not (yet) created anything."""

    def __init__(self, bulk_ids: Sequence[str]) -> None:
        self.bulk_ids = tuple(sorted(set(bulk_ids)))
        super().__init__(f"unresolved bulkId reference(s): {', '.join(self.bulk_ids)}")


@dataclass(frozen=True, slots=True)
class BulkOperation:
    """One operation; `resource_id` is None for POST (the path names a collection) and may
    itself be a `bulkId:` reference."""

    method: str  # POST PUT PATCH DELETE
    path: str
    resource_type: ResourceType
    resource_id: str | None
    bulk_id: str | None = None
    version: str | None = None
    data: Any = None


@dataclass(frozen=True, slots=True)
class BulkRequest:
    fail_on_errors: int | None
    operations: list[BulkOperation]


@dataclass(frozen=True, slots=True)
class BulkResult:
    """The outcome of one operation (§3.7.3): `location` when it succeeded, `response` (a
    SCIM error body) when it failed."""

    method: str
    status: int
    bulk_id: str | None = None
    version: str | None = None
    location: str | None = None
    response: Mapping[str, Any] | None = None


def parse_bulk(body: Any, *, max_operations: int) -> BulkRequest:
    """Validate a BulkRequest. Too many operations → PayloadTooLarge naming the maximum
    (§3.7.4); malformed → InvalidSyntax; bad member values → InvalidValue."""
    if not isinstance(body, dict):
        raise InvalidSyntax("a BulkRequest must be a JSON object")
    fields = {k.lower(): v for k, v in body.items()}
    if not has_schema(fields.get("schemas"), BULK_REQUEST_URN):
        raise InvalidSyntax(f"'schemas' must contain '{BULK_REQUEST_URN}'")
    operations = fields.get("operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("'Operations' must be a non-empty array")
    if len(operations) > max_operations:
        raise PayloadTooLarge(
            f"{len(operations)} operations exceed maxOperations ({max_operations})"
        )
    parsed = [_operation(number, raw) for number, raw in enumerate(operations, 1)]
    bulk_ids = [op.bulk_id for op in parsed if op.bulk_id is not None]
    if len(bulk_ids) != len(set(bulk_ids)):
        raise InvalidSyntax("each bulkId must be unique within the request")
    return BulkRequest(_fail_on_errors(fields.get("failonerrors")), parsed)


def _fail_on_errors(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidValue("'failOnErrors' must be a positive integer")
    return value


def _operation(number: int, raw: Any) -> BulkOperation:
    where = f"operation {number}"
    if not isinstance(raw, dict):
        raise InvalidSyntax(f"{where} must be an object")
    fields = {k.lower(): v for k, v in raw.items()}
    if unknown := fields.keys() - _OPERATION_KEYS:
        raise InvalidSyntax(f"{where} has unknown member(s) {sorted(unknown)}")
    method = fields.get("method")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise InvalidValue(f"{where}: 'method' must be one of {', '.join(sorted(_METHODS))}")
    method = method.upper()
    bulk_id, version, data = fields.get("bulkid"), fields.get("version"), fields.get("data")
    if bulk_id is not None and (not isinstance(bulk_id, str) or not bulk_id):
        raise InvalidValue(f"{where}: 'bulkId' must be a non-empty string")
    if method == "POST" and bulk_id is None:
        raise InvalidSyntax(f"{where}: POST needs a 'bulkId' (RFC 7644 §3.7)")
    if version is not None and not isinstance(version, str):
        raise InvalidValue(f"{where}: 'version' must be a string")
    if method != "DELETE" and not isinstance(data, dict):
        raise InvalidSyntax(f"{where}: {method} needs a 'data' object, got {json_type(data)}")
    if _depth(data) > MAX_DATA_DEPTH:
        raise InvalidValue(f"{where}: 'data' nests deeper than {MAX_DATA_DEPTH} levels")
    path = fields.get("path")
    resource_type, resource_id = _target(where, method, path)
    return BulkOperation(
        method,
        str(path),
        resource_type,
        resource_id,
        bulk_id,
        version,
        data if method != "DELETE" else None,
    )


def _target(where: str, method: str, path: Any) -> tuple[ResourceType, str | None]:
    """`/Users` for POST, `/Users/{id}` for the others."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise InvalidValue(f"{where}: 'path' must be a string such as '/Users'")
    endpoint, _, resource_id = path[1:].partition("/")
    rt = next((r for r in RESOURCE_TYPES if r.endpoint[1:].lower() == endpoint.lower()), None)
    if rt is None:
        raise InvalidValue(f"{where}: unknown resource endpoint '/{endpoint}'")
    if method == "POST":
        if resource_id:
            raise InvalidValue(f"{where}: POST path must name a collection, e.g. '{rt.endpoint}'")
        return rt, None
    if not resource_id or "/" in resource_id:
        raise InvalidValue(f"{where}: {method} path must be '{rt.endpoint}/{{id}}'")
    return rt, resource_id


def _depth(value: Any) -> int:
    """How deeply a JSON value nests, measured without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def referenced_bulk_ids(value: Any) -> set[str]:
    """The bulkIds a value refers to (`"bulkId:qwerty"` strings anywhere in it), so the
    executor can order operations so references resolve (§3.7.2)."""
    if isinstance(value, str):
        return {value[len(BULK_ID_PREFIX) :]} if value.startswith(BULK_ID_PREFIX) else set()
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return set().union(*(referenced_bulk_ids(item) for item in value))
    return set()


def substitute_bulk_ids(value: Any, resolved: Mapping[str, str]) -> Any:
    """A copy of `value` with each `"bulkId:x"` string replaced by the id created for `x`.
    Raises UnresolvedBulkId listing every reference `resolved` lacks."""
    missing = referenced_bulk_ids(value) - resolved.keys()
    if missing:
        raise UnresolvedBulkId(sorted(missing))
    return _substitute(value, resolved)


def _substitute(value: Any, resolved: Mapping[str, str]) -> Any:
    if isinstance(value, str) and value.startswith(BULK_ID_PREFIX):
        return resolved[value[len(BULK_ID_PREFIX) :]]
    if isinstance(value, dict):
        return {k: _substitute(v, resolved) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, resolved) for v in value]
    return value


def bulk_response(results: Sequence[BulkResult]) -> dict[str, Any]:
    """A BulkResponse (§3.7.3); statuses are strings, as the RFC's examples show."""
    return {"schemas": [BULK_RESPONSE_URN], "Operations": [_result(result) for result in results]}


def _result(result: BulkResult) -> dict[str, Any]:
    doc: dict[str, Any] = {"method": result.method}
    if result.bulk_id is not None:
        doc["bulkId"] = result.bulk_id
    if result.version is not None:
        doc["version"] = result.version
    if result.location is not None:
        doc["location"] = result.location
    if result.response is not None:
        doc["response"] = dict(result.response)
    doc["status"] = str(result.status)
    return doc
