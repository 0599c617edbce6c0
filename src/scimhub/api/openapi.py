"""The OpenAPI 3.1 document of the operator, organisation (events, webhooks, ...) and
integration APIs, built from the route table alone: each `Described` route's operations,
with the body and query declarations its handler reads with (`declared.py`), so the
document cannot drift from what is validated. The SCIM API keeps its own discovery
(`/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`).

    GET /api/openapi.json   the document
    GET /api/docs           the same, as a page (`openapi_page.py`)
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from .. import __version__
from ..integrations.entra.errors import IntegrationError
from ..integrations.ldap.errors import LdapError
from .auth import CSRF_HEADER, SESSION_COOKIE
from .declared import Schema
from .openapi_page import render
from .operations import Described, Family, Op
from .responses import JsonResponse
from .tracking import HEADER
from .v1 import ApiError

DOCUMENT_PATH = "/api/openapi.json"
PAGE_PATH = "/api/docs"

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No content",
    303: "Redirected to the console",
    400: "The request is not valid (the description names what)",
    401: "No usable credential",
    403: "The credential may read, not change; or a cookie request without its CSRF token",
    404: "No such organisation, resource or path",
    405: "The path does not take the method",
    409: "Conflicts with what exists or runs",
    410: "The cursor points before what retention removed",
    412: "The hub is not configured for this",
    413: "The body is too large",
    422: "The directory answered, but not as required",
    429: "Throttled upstream; see Retry-After",
    500: "A bug in the hub; quote the tracking id",
    502: "The upstream directory or Graph answered unexpectedly",
    503: "Unavailable (the database, upstream, or a missing secret key); retry",
}
_SECURITY: dict[Family, list[dict[str, list[str]]]] = {
    Family.OPERATOR: [{"operatorToken": []}],
    Family.ORG: [{"adminToken": []}],
    Family.INTEGRATION: [{"adminToken": []}, {"consoleSession": [], "csrfToken": []}],
    Family.BROWSER: [],
}
_ENVELOPE = {
    Family.OPERATOR: "V1Error",
    Family.ORG: "V1Error",
    Family.INTEGRATION: "IntegrationError",
    Family.BROWSER: "IntegrationError",
}
_WRITES = ("POST", "PUT", "PATCH", "DELETE")
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def _codes(base: type[Exception]) -> dict[int, list[str]]:
    """The error codes by status, from the error classes themselves."""
    found: dict[int, set[str]] = {}
    pending = list(base.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        status, code = getattr(cls, "status", None), getattr(cls, "code", None)
        if isinstance(status, int) and isinstance(code, str):
            found.setdefault(status, set()).add(code)
    return {status: sorted(codes) for status, codes in found.items()}


def _statuses(family: Family, method: str, op: Op) -> set[int]:
    """The error statuses an operation may answer: those of its family, and its own."""
    found = {500, *op.errors}
    if family is Family.BROWSER:
        return found
    found |= {401}
    if method in _WRITES:
        found |= {403}
    if op.body is not None or op.query is not None or method in ("POST", "PUT", "PATCH"):
        found |= {400}  # a POST or PUT body that is not JSON, even where none is read
    if op.body is not None or method in ("POST", "PUT", "PATCH"):
        found |= {413}
    found |= {404}  # what the path names (or another organisation's token: as if none)
    if family in (Family.OPERATOR, Family.ORG):
        found |= {503}  # the database
    return found


def _responses(family: Family, method: str, op: Op, codes: dict[int, list[str]]) -> Schema:
    tracking = {HEADER: {"$ref": "#/components/headers/TrackingID"}}
    responses: Schema = {}
    success = {op.ok, *(s for s in op.errors if s < 400)}
    for status in sorted(success):
        answer: Schema = {"description": _REASONS.get(status, "OK"), "headers": tracking}
        returns = op.returns
        if returns is not None and status != 303:
            if family is Family.INTEGRATION:  # every integration answer names its request
                returns = {
                    **returns,
                    "required": [*returns.get("required", []), "trackingId"],
                    "properties": {
                        **returns.get("properties", {}),
                        "trackingId": {"type": "string"},
                    },
                }
            answer["content"] = {op.media: {"schema": returns}}
        responses[str(status)] = answer
    envelope = {"$ref": f"#/components/schemas/{_ENVELOPE[family]}"}
    for status in sorted(s for s in _statuses(family, method, op) if s >= 400):
        described = _REASONS.get(status, "Refused")
        if codes.get(status):
            described += f" (codes {', '.join(codes[status])})"
        responses[str(status)] = {
            "description": described,
            "headers": tracking,
            "content": {"application/json": {"schema": envelope}},
        }
    return responses


def _operation(route: Described, method: str, op: Op, path: str) -> Schema:
    family = route.family
    codes = _codes(ApiError) if family in (Family.OPERATOR, Family.ORG) else {}
    if family in (Family.INTEGRATION, Family.BROWSER):
        codes = _codes(IntegrationError)
    if "/ldap" in path:
        for status, more in _codes(LdapError).items():
            codes[status] = sorted({*codes.get(status, []), *more})
    parameters: list[Schema] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": op.path.get(name, {"type": "string", "minLength": 1}),
        }
        for name in _PARAM.findall(route.path)
    ]
    for param in op.query.params if op.query else ():
        entry: Schema = {"name": param.name, "in": "query", "schema": param.schema()}
        if param.doc:
            entry["description"] = param.doc
        parameters.append(entry)
    operation: Schema = {
        "operationId": _operation_id(method, path),
        "tags": [route.tag],
        "summary": op.summary,
        "security": _SECURITY[family],
        "responses": _responses(family, method, op, codes),
    }
    if op.doc:
        operation["description"] = op.doc
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        operation["requestBody"] = {
            "required": not op.body.optional,
            "content": {"application/json": {"schema": op.body.schema()}},
        }
    return operation


def _operation_id(method: str, path: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", path.replace("{", "by_")).strip("_")
    return f"{method.lower()}_{words}"


def document(routes: Iterable[BaseRoute]) -> Schema:
    """The document of every `Described` route in `routes` (others, the SCIM API's and
    the console's, are not in it)."""
    paths: dict[str, Schema] = {}
    for route in routes:
        if not isinstance(route, Described):
            continue
        path = _PARAM.sub(r"{\1}", route.path)
        item = paths.setdefault(path, {})
        for method, op in route.operations.items():
            item[method.lower()] = _operation(route, method, op, path)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "scimhub",
            "version": __version__,
            "description": (
                "The operator API, an organisation's admin APIs (events, webhooks, custom "
                "attributes, recycle bin, LDAP source) under /api/v1, and the integration "
                "API under /extIntegration. Generated from the route table and the very "
                "declarations that validate each request. The SCIM API describes itself "
                "at /identity/scim/{orgId}/v2/ServiceProviderConfig, /Schemas and "
                "/ResourceTypes. Every path answers a method it does not take with 405 "
                "in its API's envelope, `Allow` listing those it does."
            ),
        },
        "tags": [{"name": tag} for tag in dict.fromkeys(_tags(routes))],
        "paths": paths,
        "components": _COMPONENTS,
    }


def _tags(routes: Iterable[BaseRoute]) -> Iterable[str]:
    return (r.tag for r in routes if isinstance(r, Described))


def _message(*required: str) -> Schema:
    props = {name: {"type": "string"} for name in required}
    return {"type": "object", "required": list(required), "properties": props}


def _envelope(message: Schema) -> Schema:
    return {
        "type": "object",
        "required": ["error", "trackingId"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["key", "message"],
                "properties": {
                    "key": {"type": "string", "description": "the HTTP status"},
                    "message": {"type": "array", "minItems": 1, "items": message},
                },
            },
            "trackingId": {"type": "string"},
        },
    }


_COMPONENTS: Schema = {
    "schemas": {
        "V1Error": _envelope(_message("code", "description")),
        "IntegrationError": _envelope(_message("code", "description", "title")),
    },
    "headers": {
        "TrackingID": {
            "description": "the request's tracking id (also in error bodies)",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    "securitySchemes": {
        "operatorToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "an operator token: scimhub token create --operator",
        },
        "adminToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "an organisation's admin token: scimhub token create --org ORG --admin",
        },
        "consoleSession": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
        "csrfToken": {
            "type": "apiKey",
            "in": "header",
            "name": CSRF_HEADER,
            "description": "the console session's CSRF token, on writes; same origin only",
        },
    },
}


def _document_of(request: Request) -> Schema:
    """Built once per app, from the routes it serves."""
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        state.openapi = document(request.app.routes)
    built: Schema = state.openapi
    return built


async def openapi_json(request: Request) -> Response:
    return JsonResponse(_document_of(request))


async def openapi_page(request: Request) -> Response:
    return HTMLResponse(render(_document_of(request)))


routes = [
    Route(DOCUMENT_PATH, openapi_json, methods=["GET"]),
    Route(PAGE_PATH, openapi_page, methods=["GET"]),
]
