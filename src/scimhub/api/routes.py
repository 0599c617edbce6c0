"""Every route the API serves — the probes (health, readiness, metrics), SCIM under
/identity/scim/{orgId}/v2, the integration API, an organisation's and the operator's
`/api/v1` — and the handler that answers Starlette's own 404/405 in the SCIM error shape
(in their own envelope under `/api/v1` and `/extIntegration`). The app itself is composed
above the API and the console (`scimhub.app`)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount

from ..scim.errors import ScimError
from . import (
    attributes,
    deleted,
    deletion_brake,
    events,
    integration,
    ldap,
    openapi,
    org_credentials,
    orgs,
    platform_audit,
    probes,
    scim_bulk,
    scim_discovery,
    scim_resources,
    setup_links,
    v1,
    webhooks,
)
from .scim_endpoint import error_response
from .tracking import tracking_id


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 in the SCIM error shape, with the tracking id; under
    `/api/v1/` and `/extIntegration/` in those APIs' envelope."""
    assert isinstance(exc, HTTPException)
    if v1.owns(request.url.path):
        return v1.http_error_response(request, exc.status_code, exc.headers)
    if integration.owns(request.url.path):
        return integration.http_error_response(request, exc.status_code, exc.headers)
    err = ScimError(exc.detail or "error")
    err.status = exc.status_code
    return error_response(err, tracking_id(request.scope))


routes: list[BaseRoute] = [
    # SCIM first: the router tries routes in order, and most requests are SCIM requests.
    Mount(
        "/identity/scim/{org_id}/v2",
        routes=scim_resources.routes + scim_discovery.routes + scim_bulk.routes,
    ),
    *probes.routes,
    *integration.routes,
    *deletion_brake.routes,
    *events.routes,
    *webhooks.routes,
    *deleted.routes,
    *attributes.routes,
    # the operator's (an operator token; docs/operations.md)
    *orgs.routes,
    *org_credentials.routes,
    *setup_links.routes,
    *platform_audit.routes,
    *ldap.routes,
    *openapi.routes,  # the document of all the above but SCIM (which has its discovery)
]
