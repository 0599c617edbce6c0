"""What every SCIM route shares: bearer authentication scoped to the organisation in the
path, the error envelope, and the provisioning-log record of the request."""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import Response

from .. import metrics
from ..config import url_host
from ..directory.events import Source, SourceKind, caused_by
from ..directory.locator import Locator
from ..directory.request_log import RequestEntry
from ..directory.tokens import TokenInfo
from ..scim.errors import Forbidden, NotFound, ScimError, Unauthorized, UndefinedAttribute
from ..store.engine import event_time
from .access import proven_org
from .auth import SAFE_METHODS, bearer_secret
from .responses import ScimResponse
from .services import Hub
from .tracking import tracking_id

log = logging.getLogger("scimhub.api")
# Requests that write a resource: an undefined attribute in them is a refused provisioning.
_WRITES = frozenset({"POST", "PUT", "PATCH"})
_HOST_HEADER = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?")


@dataclass(frozen=True, slots=True)
class ScimContext:
    hub: Hub
    org_id: str
    token: TokenInfo
    loc: Locator


Handler = Callable[[Request, ScimContext], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def base_url(request: Request, hub: Hub) -> str:
    """The hub's URL for `meta.location`, `Location`, Entra's BaseAddress and the consent
    redirect: the configured public URL, else the request's Host if it is a trusted one,
    else the bound address. TrustedHostMiddleware refuses other hosts first; checking
    again here keeps a forged Host out of every link the hub hands out regardless."""
    settings = hub.settings
    if settings.public_url:
        return settings.public_url
    scheme = request.scope.get("scheme", "http")
    host = request.headers.get("host", "")
    if _trusted(host, settings.trusted_hosts):
        return f"{scheme}://{host}"
    return f"{scheme}://{url_host(settings.host)}:{settings.port}"


@functools.lru_cache(maxsize=256)  # few distinct Hosts get past TrustedHostMiddleware
def _trusted(host_header: str, patterns: tuple[str, ...]) -> bool:
    """Whether the Host header names one of `patterns`, matched as TrustedHostMiddleware
    matches them (the port aside; `*.example.com` covers subdomains; `*` anything)."""
    match = _HOST_HEADER.fullmatch(host_header)
    if match is None:
        return False
    host = match["host"].lower()
    return any(
        p == "*" or host == p or (p.startswith("*.") and host.endswith(p[1:]))
        for p in (pattern.lower() for pattern in patterns)
    )


def _authenticate(request: Request, hub: Hub, org_id: str) -> TokenInfo:
    secret = bearer_secret(request)
    if not secret:
        raise Unauthorized(
            "a bearer token is required", headers={"WWW-Authenticate": 'Bearer realm="scimhub"'}
        )
    token = hub.tokens.authenticate(secret)
    if token is None:
        raise Unauthorized(
            "the bearer token is invalid, expired or revoked",
            headers={"WWW-Authenticate": 'Bearer realm="scimhub", error="invalid_token"'},
        )
    if token.org_id != org_id:
        # The token is good but not for this org: answer as if the org did not exist.
        raise NotFound(f"organisation {org_id} not found")
    return token


def _within_scope(request: Request, token: TokenInfo) -> None:
    """A read-only token reads and searches: GET and HEAD, and the `/.search` POSTs (RFC
    7644 §3.4.3, a query sent as a body). Any other request could change the directory
    (POST, PUT, PATCH, DELETE, Bulk) and is refused before it is read. Raises Forbidden."""
    if not token.scope.read_only or request.method in SAFE_METHODS:
        return
    if request.method == "POST" and request.scope["path"].endswith("/.search"):
        return
    raise Forbidden(
        f"this token is read-only (scope {token.scope}): it may read and search the "
        "directory, not change it; use a token with scope write"
    )


class InternalError(ScimError):
    status = 500


class DatabaseUnavailable(ScimError):
    """The database refused or dropped the connection (restart, failover, overload): the
    client should retry, as Entra does with 503s."""

    status = 503


def _subject(request: Request, refused: UndefinedAttribute | None) -> str | None:
    """Whose write was refused: as the body or the stored resource names it, else the id
    in the path."""
    if refused is None:
        return None
    subject = refused.subject or request.path_params.get("id")
    return subject[:512] if subject else None


# What a request does, for the SCIM operations metric: by method, unless its path says more.
_OPERATIONS = {"POST": "create", "PUT": "replace", "PATCH": "patch", "DELETE": "delete"}
_RESOURCES = frozenset({"User", "Group", "Bulk"})  # others are organisations' own: "custom"


def _operation(request: Request, resource_type: str | None) -> tuple[str, str]:
    """(resource, operation) labels: no value an organisation or a client names."""
    resource = (
        resource_type if resource_type in _RESOURCES else ("custom" if resource_type else "none")
    )
    method = request.method
    if resource_type == "Bulk":
        return resource, "bulk"
    if method == "POST" and request.scope["path"].endswith("/.search"):
        return resource, "search"
    if method in ("GET", "HEAD"):
        if resource_type is None:
            return resource, "discovery"
        return resource, "get" if "id" in request.path_params else "list"
    return resource, _OPERATIONS.get(method, "other")


def error_response(exc: ScimError, tid: str) -> ScimResponse:
    return ScimResponse(exc.body(tid), status_code=exc.status, headers=exc.headers)


def scim_endpoint(resource_type: str | None) -> Callable[[Handler], Endpoint]:
    """Wrap a handler: authenticate, run as the token's source of events, render errors,
    record the request."""

    def wrap(handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            hub: Hub = request.app.state.hub
            org_id = request.path_params["org_id"]
            tid = tracking_id(request.scope)
            token: TokenInfo | None = None
            scim_type = None
            undefined: UndefinedAttribute | None = None
            try:
                token = _authenticate(request, hub, org_id)
                proven_org(request.scope, org_id)
                _within_scope(request, token)
                ctx = ScimContext(hub, org_id, token, Locator(base_url(request, hub), org_id))
                # The events the handler's writes record name this client and request
                # (threaded work too: AnyIO runs it in a copy of this context).
                with caused_by(Source(SourceKind.SCIM, token.name, token.id, tid)):
                    response = await handler(request, ctx)
            except ScimError as exc:
                scim_type = exc.scim_type
                if isinstance(exc, UndefinedAttribute) and request.method in _WRITES:
                    undefined = exc
                response = error_response(exc, tid)
            except OperationalError as exc:
                log.warning(
                    "database unavailable, tracking id %s: %s", tid, type(exc.orig).__name__
                )
                response = error_response(
                    DatabaseUnavailable(
                        "the hub's database is unavailable; retry shortly",
                        headers={"Retry-After": "1"},
                    ),
                    tid,
                )
            except Exception:
                log.exception("unhandled error, tracking id %s", tid)
                response = error_response(
                    InternalError(f"internal error; quote tracking id {tid} to your administrator"),
                    tid,
                )
            # Failed authentications are kept too (an IdP stuck on an expired token shows up
            # as a run of 401s), but only for organisations that exist.
            if token is not None or (response.status_code == 401 and hub.orgs.exists(org_id)):
                hub.requests.record(
                    RequestEntry(
                        org_id=org_id,
                        time=event_time(),
                        method=request.method,
                        path=request.scope["path"][:2000],
                        resource_type=resource_type,
                        status=response.status_code,
                        scim_type=scim_type,
                        duration_ms=int((time.perf_counter() - started) * 1000),
                        tracking_id=tid,
                        client=request.headers.get("user-agent", "")[:256] or None,
                        token_id=token.id if token else None,
                        undefined_attribute=undefined.name[:330] if undefined else None,
                        subject=_subject(request, undefined),
                    )
                )
            counted = metrics.current()
            if counted is not None and token is not None:
                resource, operation = _operation(request, resource_type)
                counted.scim(resource, operation, response.status_code, org_id)
            return response

        return endpoint

    return wrap
