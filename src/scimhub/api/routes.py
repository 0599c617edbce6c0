"""Every route the API serves — health, SCIM under /identity/scim/{orgId}/v2, the
integration API — and the handler that answers Starlette's own 404/405 in the SCIM error
shape. The app itself is composed above the API and the console (`scimhub.app`)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from ..scim.errors import ScimError
from . import (
    attributes,
    deleted,
    deletion_brake,
    events,
    integration,
    ldap,
    scim_bulk,
    scim_discovery,
    scim_resources,
    v1,
    webhooks,
)
from .responses import JsonResponse
from .scim_endpoint import error_response
from .services import Hub
from .tracking import tracking_id


async def health(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    hub.health.database()
    return JsonResponse({"status": "ok"})


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 in the SCIM error shape, with the tracking id; under
    `/api/v1/` in that API's envelope."""
    assert isinstance(exc, HTTPException)
    if v1.owns(request.url.path):
        return v1.http_error_response(request, exc.status_code, exc.headers)
    err = ScimError(exc.detail or "error")
    err.status = exc.status_code
    return error_response(err, tracking_id(request.scope))


routes: list[BaseRoute] = [
    Route("/healthz", health),
    Mount(
        "/identity/scim/{org_id}/v2",
        routes=scim_resources.routes + scim_discovery.routes + scim_bulk.routes,
    ),
    *integration.routes,
    *deletion_brake.routes,
    *events.routes,
    *webhooks.routes,
    *deleted.routes,
    *attributes.routes,
    *ldap.routes,
]
