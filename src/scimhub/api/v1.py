"""What every `/api/v1` route shares (the events API, webhooks): an admin token of the
organisation in the path, one error envelope with the request's tracking id, and the
thread pool for reads and writes whose cost the request does not bound.

A route is a handler wrapped by `v1_endpoint`:

    @v1_endpoint
    async def list_things(request: Request, ctx: V1Context) -> Response:
        return await ctx.off_loop(lambda: JsonResponse({"data": ...}))

    routes = [Route(f"{V1_PREFIX}/things", list_things, methods=["GET", "POST"])]

The caller is an admin token (`scimhub token create --org ORG --admin`) as `Authorization:
Bearer`; no token or an unusable one is 401, another organisation's token 404 (as if the
organisation did not exist, as the SCIM API answers), and a read-scoped token (`--scope
read`) is 403 on every method but GET and HEAD. Errors are `ApiError`s, rendered as the
integration API renders its own:

    {"error": {"key": "<status>", "message": [{"code": "7020xx", "description": "..."}]},
     "trackingId": "..."}

The codes are listed in docs/events.md. Starlette's own 404 and 405 under `/api/v1/` are
answered in the same envelope (`http_error_response`, which `api.routes.http_error` calls
for them).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import orjson
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import Response

from ..directory.actor import Actor
from ..directory.tokens import TokenInfo, TokenKind
from .access import proven_org
from .auth import SAFE_METHODS, bearer_secret
from .body_limit import FORM_MAX_BYTES, BodyTooLarge, read_limited
from .declared import Invalid
from .responses import JsonResponse
from .services import Hub
from .tracking import tracking_id

log = logging.getLogger("scimhub.api.v1")
T = TypeVar("T")

PREFIX = "/api/v1"
V1_PREFIX = f"{PREFIX}/orgs/{{org_id}}"  # where the organisation-scoped routes live
# What BodyLimitMiddleware allows every route outside SCIM, the integration API and the
# console ("/"); read_json holds to it wherever the routes are mounted.
MAX_BODY_BYTES = FORM_MAX_BYTES
_BEARER = 'Bearer realm="scimhub"'


class ApiError(Exception):
    """An `/api/v1` error: its HTTP status, its code (docs/events.md) and a description
    written for the developer calling the API."""

    status: ClassVar[int]
    code: ClassVar[str]

    def __init__(self, description: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.headers = headers or {}

    def __str__(self) -> str:
        return f"{self.status}/{self.code}: {self.description}"


class BadRequest(ApiError):
    """A parameter or the body is not valid; the description names which and why."""

    status, code = 400, "702000"


class InvalidCursor(ApiError):
    """`after` is not a cursor this hub handed out for this organisation."""

    status, code = 400, "702001"


class Unauthorized(ApiError):
    status, code = 401, "702010"

    def __init__(self, description: str, *, error: str | None = None) -> None:
        challenge = f'{_BEARER}, error="{error}"' if error else _BEARER
        super().__init__(description, headers={"WWW-Authenticate": challenge})


class Forbidden(ApiError):
    """The token may read, not change (scope read)."""

    status, code = 403, "702011"


class NotFound(ApiError):
    """No such organisation (or not this token's), route or resource."""

    status, code = 404, "702020"


class MethodNotAllowed(ApiError):
    status, code = 405, "702021"


class Conflict(ApiError):
    status, code = 409, "702022"


class CursorExpired(ApiError):
    """The cursor points before events retention removed: start again and reconcile."""

    status, code = 410, "702030"


class PayloadTooLarge(ApiError):
    status, code = 413, "702040"


class Unavailable(ApiError):
    """The database refused or dropped the connection; retry shortly."""

    status, code = 503, "702098"

    def __init__(self) -> None:
        super().__init__(
            "the hub's database is unavailable; retry shortly", headers={"Retry-After": "1"}
        )


class InternalError(ApiError):
    """A bug in the hub: the traceback is logged with the tracking id."""

    status, code = 500, "702099"

    def __init__(self, tid: str) -> None:
        super().__init__(f"the hub failed unexpectedly; quote the tracking id {tid} to report it")


def error_body(err: ApiError, tid: str) -> dict[str, Any]:
    return {
        "error": {
            "key": str(err.status),
            "message": [{"code": err.code, "description": err.description}],
        },
        "trackingId": tid,
    }


def error_response(err: ApiError, tid: str) -> JsonResponse:
    return JsonResponse(error_body(err, tid), status_code=err.status, headers=err.headers)


def owns(path: str) -> bool:
    """Whether a path is under `/api/v1` (and so answered in its envelope)."""
    return path == PREFIX or path.startswith(f"{PREFIX}/")


def http_error_response(
    request: Request, status: int, headers: Mapping[str, str] | None = None
) -> JsonResponse:
    """Starlette's own refusals under `/api/v1/` (no such route, a method the route does
    not take) in the envelope, with the `Allow` header of a 405."""
    err: ApiError
    path = request.url.path[:200]
    if status == 405:
        allowed = (headers or {}).get("Allow", "")
        err = MethodNotAllowed(
            f"{request.method} is not allowed on {path}"
            + (f"; allowed: {allowed}" if allowed else "")
        )
    elif status == 404:
        err = NotFound(f"no such path: {path}")
    else:
        err = BadRequest(f"the request was refused (HTTP {status})")
    body = error_body(err, tracking_id(request.scope))
    body["error"]["key"] = str(status)
    return JsonResponse(body, status_code=status, headers=dict(headers or {}))


@dataclass(frozen=True, slots=True)
class V1Context:
    """What a handler acts for: the organisation in the path, the admin token that proved
    it, the request's tracking id."""

    hub: Hub
    org_id: str
    token: TokenInfo
    tracking_id: str

    @property
    def actor(self) -> Actor:
        """The name the audit trail records for changes this request makes."""
        return Actor(f"token:{self.token.name}", self.tracking_id)

    async def off_loop(self, work: Callable[[], T]) -> T:
        """`work()` in the offload pool (within the organisation's share of it): for any
        database work whose cost the request does not bound, and the rendering of what it
        read (a page of 500 events is not small)."""
        return await self.hub.offload.run(self.org_id, True, work)


Handler = Callable[[Request, V1Context], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def authenticate(request: Request, hub: Hub, org_id: str) -> TokenInfo:
    """The admin token of `org_id` the request carries. Raises Unauthorized, NotFound."""
    secret = bearer_secret(request)
    if not secret:
        raise Unauthorized(
            "an admin token is required as 'Authorization: Bearer <token>' "
            "(scimhub token create --org ORG --admin)"
        )
    token = hub.tokens.authenticate(secret, TokenKind.ADMIN)
    if token is None:
        raise Unauthorized(
            "the bearer token is not a usable admin token of an organisation: invalid, "
            "expired, revoked, a SCIM token, or the operator's (which manages organisations "
            "under /api/v1/orgs, and acts in none)",
            error="invalid_token",
        )
    if token.org_id != org_id:
        # A good token, but not for this organisation: answered as if it did not exist.
        raise NotFound(f"organisation {org_id[:64]} not found")
    return token


def v1_endpoint(handler: Handler) -> Endpoint:
    """Wrap a handler: authenticate, refuse writes by read-only tokens, render every
    failure in the envelope (a bug as 500 with its traceback logged, never the traceback
    itself)."""

    async def endpoint(request: Request) -> Response:
        hub: Hub = request.app.state.hub
        org_id = request.path_params["org_id"]
        tid = tracking_id(request.scope)

        async def respond() -> Response:
            token = authenticate(request, hub, org_id)
            proven_org(request.scope, org_id)
            refuse_read_only_writes(request, token)
            return await handler(request, V1Context(hub, org_id, token, tid))

        return await enveloped(tid, respond)

    return endpoint


def refuse_read_only_writes(request: Request, token: TokenInfo) -> None:
    """Raises Forbidden when a read-scoped token asks for anything but GET or HEAD."""
    if token.scope.read_only and request.method not in SAFE_METHODS:
        raise Forbidden(
            f"this token is read-only (scope {token.scope}): it may read, not "
            "change; use a token with scope write"
        )


async def enveloped(tid: str, respond: Callable[[], Awaitable[Response]]) -> Response:
    """`respond()`, with every failure it raises answered in the envelope: the one place
    that turns errors into `/api/v1` responses, whichever credential the route takes."""
    try:
        return await respond()
    except ApiError as err:
        log.info("api/v1 error %s %s tracking id %s", err.status, err.code, tid)
        return error_response(err, tid)
    except Invalid as exc:  # a declared body or query refused it (`declared.py`)
        return error_response(BadRequest(str(exc)), tid)
    except BodyTooLarge as exc:
        return error_response(
            PayloadTooLarge(f"the request body exceeds the maximum of {exc.limit} bytes"), tid
        )
    except OperationalError as exc:
        log.warning("database unavailable, tracking id %s: %s", tid, type(exc.orig).__name__)
        return error_response(Unavailable(), tid)
    except Exception:
        log.exception("api/v1 failure, tracking id %s", tid)
        return error_response(InternalError(tid), tid)


async def read_json(request: Request, *, limit: int = MAX_BODY_BYTES) -> Any:
    """The JSON body (for handlers that take one). Raises PayloadTooLarge past `limit`
    bytes, BadRequest when it is not JSON or not sent as application/json."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise BadRequest(f"send the body as application/json (got '{media_type[:64] or 'none'}')")
    try:
        raw = await read_limited(request, limit)
    except BodyTooLarge as exc:
        raise PayloadTooLarge(
            f"the request body exceeds the maximum of {exc.limit} bytes"
        ) from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc.msg}") from None
