"""The shapes of the SCIM requests Entra sends, in its two PATCH dialects. The
`aadOptscim062020` flag on the tenant URL selects the RFC-compliant one; without it
Entra sends its historical shape. Both must be accepted by a target."""

from __future__ import annotations

import enum
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .mappings import ENTERPRISE

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ADSCIM_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
FLAG = "aadOptscim062020"
MANAGER = f"{ENTERPRISE}:manager"
_FILTERED = re.compile(r'^(\w+)\[type eq "([^"]+)"\]\.(\w+)$')


class Dialect(enum.Enum):
    DEFAULT = "default"  # capitalised ops, "True"/"False" strings, one Replace per path
    SCIM_2020 = FLAG  # lower-case ops, booleans, one path-less replace, filtered removes


def parse_base(base_address: str) -> tuple[str, Dialect]:
    """Split the flag off the tenant URL: it configures Entra, it is not sent."""
    parts = urlsplit(base_address.strip())
    query = parse_qsl(parts.query, keep_blank_values=True)
    dialect = Dialect.SCIM_2020 if any(k == FLAG for k, _ in query) else Dialect.DEFAULT
    rest = urlencode([(k, v) for k, v in query if k != FLAG])
    return urlunsplit(parts._replace(query=rest)).rstrip("/"), dialect


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    if path.startswith("urn:"):
        schema, attr = path.rsplit(":", 1)
        body.setdefault(schema, {})[attr] = {"value": value} if path == MANAGER else value
        if schema not in body["schemas"]:
            body["schemas"].append(schema)
    elif m := _FILTERED.match(path):
        attr, kind, sub = m.groups()
        entries = body.setdefault(attr, [])
        entry = next((e for e in entries if e.get("type") == kind), None)
        if entry is None:
            entry = {"type": kind, "primary": not entries}
            entries.append(entry)
        entry[sub] = value
    elif "." in path:
        attr, sub = path.split(".", 1)
        body.setdefault(attr, {})[sub] = value
    else:
        body[path] = value


def create_user(values: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [USER_SCHEMA, ENTERPRISE], "meta": {"resourceType": "User"}}
    for path, value in values.items():
        _set(body, path, value)
    return body


def create_group(values: dict[str, Any]) -> dict[str, Any]:
    """Groups are created empty; members follow in PATCH requests."""
    body: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA, ADSCIM_GROUP_SCHEMA],
        "meta": {"resourceType": "Group"},
        "members": [],
    }
    for path, value in values.items():
        if path != "members":
            _set(body, path, value)
    return body


def _default_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "True" if value else "False"
    return value


def patch(dialect: Dialect, changes: dict[str, Any], removed: list[str]) -> dict[str, Any]:
    ops: list[dict[str, Any]] = []
    if dialect is Dialect.DEFAULT:
        ops += [
            {"op": "Replace", "path": p, "value": _default_value(v)} for p, v in changes.items()
        ]
        ops += [{"op": "Remove", "path": p} for p in removed]
    else:
        if changes:
            value = {p: ({"value": v} if p == MANAGER else v) for p, v in changes.items()}
            ops.append({"op": "replace", "value": value})
        ops += [{"op": "remove", "path": p} for p in removed]
    return {"schemas": [PATCH_SCHEMA], "Operations": ops}


def add_members(dialect: Dialect, target_ids: list[str]) -> dict[str, Any]:
    op = "Add" if dialect is Dialect.DEFAULT else "add"
    return {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": op, "path": "members", "value": [{"value": t} for t in target_ids]}],
    }


def remove_members(dialect: Dialect, target_ids: list[str]) -> dict[str, Any]:
    if dialect is Dialect.DEFAULT:
        ops = [{"op": "Remove", "path": "members", "value": [{"value": t} for t in target_ids]}]
    else:
        ops = [{"op": "remove", "path": f'members[value eq "{t}"]'} for t in target_ids]
    return {"schemas": [PATCH_SCHEMA], "Operations": ops}


def read_target(resource: dict[str, Any], path: str) -> Any:
    """The value a target resource holds at a mapping's target path (for matching an
    existing object against the source before deciding what to PATCH)."""
    if path.startswith("urn:"):
        schema, attr = path.rsplit(":", 1)
        value = (resource.get(schema) or {}).get(attr)
        return value.get("value") if isinstance(value, dict) else value
    if m := _FILTERED.match(path):
        attr, kind, sub = m.groups()
        entries = resource.get(attr) or []
        entry = next((e for e in entries if isinstance(e, dict) and e.get("type") == kind), None)
        return entry.get(sub) if entry else None
    if "." in path:
        attr, sub = path.split(".", 1)
        return (resource.get(attr) or {}).get(sub)
    return resource.get(path)
