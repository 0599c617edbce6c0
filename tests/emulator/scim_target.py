"""A tiny in-memory SCIM target that records every request, for asserting the exact
shapes the provisioning service sends. Just enough SCIM: filter on userName and
displayName (eq, case-insensitive), POST, PATCH (recorded, minimally applied), DELETE."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_FILTER = re.compile(r'^(\w+) eq "(.*)"$')


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    auth: str | None


@dataclass
class Target:
    requests: list[Recorded] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    token: str = "secret-token"
    unauthorized: bool = False  # answer 401 to everything
    fail_names: dict[str, int] = field(default_factory=dict)  # userName -> status on POST
    record: bool = True

    def clear(self) -> None:
        self.requests.clear()

    def of(self, method: str, prefix: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]


def _json(status: int, body: Any) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/scim+json")


def _error(status: int, detail: str, scim_type: str | None = None) -> Response:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": str(status),
        "detail": detail,
    }
    if scim_type:
        body["scimType"] = scim_type
    return _json(status, body)


def _apply_patch(resource: dict[str, Any], ops: list[dict[str, Any]]) -> None:
    for op in ops:
        kind, path = op["op"].lower(), op.get("path")
        value: Any = op.get("value")  # absent from a remove by path
        if path == "members" and kind == "add":
            resource.setdefault("members", []).extend(value)
        elif path == "members" and kind == "remove":
            gone = {v["value"] for v in value}
            resource["members"] = [m for m in resource.get("members", []) if m["value"] not in gone]
        elif path and path.startswith("members[value eq"):
            gone = path.split('"')[1]
            resource["members"] = [m for m in resource.get("members", []) if m["value"] != gone]
        elif kind in ("replace", "add") and path is None and isinstance(value, dict):
            resource.update(value)
        elif kind in ("replace", "add") and path:
            resource[path] = value
        elif kind == "remove" and path:
            resource.pop(path, None)


def build_app(target: Target) -> Starlette:
    async def handle(request: Request) -> Response:
        raw = await request.body()
        body: Any = orjson.loads(raw) if raw else None  # POST and PATCH always carry one
        kind = request.path_params["kind"]
        oid = request.path_params.get("id")
        if target.record:
            target.requests.append(
                Recorded(
                    request.method,
                    request.url.path,
                    dict(request.query_params),
                    body,
                    request.headers.get("authorization"),
                )
            )
        if target.unauthorized or request.headers.get("authorization") != f"Bearer {target.token}":
            return _error(401, "Unauthorized")
        store = target.users if kind == "Users" else target.groups
        if request.method == "GET" and oid is None:
            found = []
            if m := _FILTER.match(request.query_params.get("filter", "")):
                attr, value = m.groups()
                found = [r for r in store.values() if str(r.get(attr, "")).lower() == value.lower()]
            return _json(
                200,
                {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                    "totalResults": len(found),
                    "Resources": found,
                    "startIndex": 1,
                    "itemsPerPage": len(found),
                },
            )
        if request.method == "POST":
            name = body.get("userName") or body.get("displayName")
            if name in target.fail_names:
                return _error(target.fail_names[name], "Injected failure")
            if kind == "Users" and any(
                u["userName"].lower() == name.lower() for u in store.values()
            ):
                return _error(409, "userName taken", "uniqueness")
            rid = str(uuid.uuid4())
            store[rid] = {**orjson.loads(raw), "id": rid}  # a copy: PATCH must not edit the log
            return _json(201, store[rid])
        if oid not in store:
            return _error(404, "Resource not found")
        if request.method == "GET":
            return _json(200, store[oid])
        if request.method == "PATCH":
            _apply_patch(store[oid], body["Operations"])
            return Response(status_code=204) if kind == "Groups" else _json(200, store[oid])
        if request.method == "DELETE":
            del store[oid]
            return Response(status_code=204)
        return _error(405, "Method not allowed")

    return Starlette(
        routes=[
            Route("/scim/v2/{kind:str}", handle, methods=["GET", "POST"]),
            Route(
                "/scim/v2/{kind:str}/{id:str}", handle, methods=["GET", "PATCH", "DELETE", "PUT"]
            ),
        ]
    )
