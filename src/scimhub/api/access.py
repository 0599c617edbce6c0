"""The access log and the request metrics: one line and one observation per request, from
one middleware around everything but the tracking id (so a refused Host or an oversized
body is counted and logged too).

It runs on every request, so it stays cheap: one `perf_counter` pair, the route family
from a few string comparisons, a dict lookup for the metric children. Requests are
labelled by route family (`scim_users`, `console`, ...), never by path: paths hold ids.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import logs
from ..metrics import Metrics

log = logging.getLogger("scimhub.access")

SCIM_PREFIX = "/identity/scim/"
INTEGRATION_PREFIX = "/extIntegration/azureAD/"
V1_ORGS = "/api/v1/orgs/"
# The segment after /identity/scim/{orgId}/v2/ → the family. Custom resource types (named
# by organisations) and unknown paths are `scim_other`: no label value a client chooses.
_SCIM_FAMILIES = {
    "Users": "scim_users",
    "Groups": "scim_groups",
    "Bulk": "scim_bulk",
    ".search": "scim_search",
    "Schemas": "scim_discovery",
    "ResourceTypes": "scim_discovery",
    "ServiceProviderConfig": "scim_discovery",
}
_EXACT = {"/healthz": "health", "/readyz": "health", "/metrics": "metrics"}
# A path is the client's text: logged, but never at any length.
_ORG_ID_MAX = 64
_PATH_MAX = 1000
# Paths whose last segment is a secret (a setup link's): logged without it.
_SECRET_PATHS = ("/console/setup-link/",)


def loggable_path(path: str) -> str:
    for prefix in _SECRET_PATHS:
        if path.startswith(prefix):
            return f"{prefix}…"
    return path


def route_family(path: str) -> str:
    if path.startswith(SCIM_PREFIX):
        parts = path.split("/", 6)  # "", identity, scim, {orgId}, v2, {resource}, ...
        return _SCIM_FAMILIES.get(parts[5], "scim_other") if len(parts) > 5 else "scim_other"
    if path.startswith("/api/v1/") or path == "/api/v1":
        return "api_v1"
    if path.startswith("/extIntegration/"):
        return "integration"
    if path.startswith("/console"):
        return "console"
    return _EXACT.get(path, "other")


def path_org(path: str) -> str | None:
    """The organisation a path names (SCIM, the integration API, `/api/v1/orgs/...`)."""
    for prefix in (SCIM_PREFIX, INTEGRATION_PREFIX, V1_ORGS):
        if path.startswith(prefix):
            org = path[len(prefix) :].split("/", 1)[0]
            return org[:_ORG_ID_MAX] or None
    return None


def proven_org(scope: Scope, org_id: str) -> None:
    """Note that the request authenticated for `org_id`: only then may the organisation be
    a metric label (SCIMHUB_METRICS_PER_ORG), so made-up ids in paths add no series."""
    scope["state"]["org_id"] = org_id


class AccessMiddleware:
    """Pure ASGI, inside TrackingMiddleware: the tracking id is set when it starts."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app fails before a response starts

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        path: str = loggable_path(scope["path"][:_PATH_MAX])
        state = scope["state"]
        tid, org = state["tracking_id"], path_org(path)
        token = logs.bind(tid, org)
        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            family = route_family(path)
            method: str = scope["method"]
            if self.metrics is not None:
                self.metrics.http(family, method, status, seconds, state.get("org_id"))
            if log.isEnabledFor(logging.INFO):
                # The path without its query: a query may hold a consent code or a filter
                # naming a person.
                log.info(
                    "%s %s %d %.1f ms",
                    method,
                    path,
                    status,
                    seconds * 1000,
                    extra={
                        "fields": {
                            "tracking_id": tid,
                            "org_id": org,
                            "route": family,
                            "method": method,
                            "path": path,
                            "status": status,
                            "duration_ms": round(seconds * 1000, 2),
                        }
                    },
                )
            logs.unbind(token)
