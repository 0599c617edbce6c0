"""The ASGI application factory: SCIM under /identity/scim/{orgId}/v2, health, and (later)
the integration API and the console, all sharing one `Hub`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from ..config import Settings
from ..console.routes import routes as console_routes
from ..scim.errors import ScimError
from . import integration, scim_bulk, scim_discovery, scim_resources
from .body_limit import BodyLimitMiddleware, hub_limits
from .responses import JsonResponse
from .scim_endpoint import error_response
from .services import Hub
from .tracking import TrackingMiddleware, tracking_id

log = logging.getLogger("scimhub.api")
_FLUSH_SECONDS = 1.0


async def health(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    with hub.db.read() as conn:
        conn.exec_driver_sql("SELECT 1")
    return JsonResponse({"status": "ok"})


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 in the SCIM error shape, with the tracking id."""
    assert isinstance(exc, HTTPException)
    err = ScimError(exc.detail or "error")
    err.status = exc.status_code
    return error_response(err, tracking_id(request.scope))


def create_app(settings: Settings, *, hub: Hub | None = None,
               background: Sequence[Callable[[Hub], Coroutine[Any, Any, None]]] = ()
               ) -> Starlette:
    """`background`: long-running jobs the wiring adds (the sync scheduler), started with
    the app and cancelled when it stops."""
    owned = hub is None
    the_hub = hub or Hub.open(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(_flush_forever(the_hub)),
                 *(asyncio.create_task(job(the_hub)) for job in background)]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            the_hub.requests.flush()
            if owned:
                the_hub.close()

    scim_routes = scim_resources.routes + scim_discovery.routes + scim_bulk.routes
    app = Starlette(
        routes=[
            Route("/healthz", health),
            Mount("/identity/scim/{org_id}/v2", routes=scim_routes),
            *integration.routes,
            Mount("/console", routes=console_routes),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.hub = the_hub
    # Inside the tracking middleware, so a refused Host (400) still carries a TrackingID.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts,
                       www_redirect=False)
    app.add_middleware(BodyLimitMiddleware, limits=hub_limits(settings.max_payload_bytes))
    app.add_middleware(TrackingMiddleware, prefix=settings.tracking_prefix)
    return app


async def _flush_forever(hub: Hub) -> None:
    while True:
        await asyncio.sleep(_FLUSH_SECONDS)
        try:
            hub.requests.flush()
        except Exception:  # a full disk must not stop the service; the next flush retries
            log.exception("could not write the request log")
