"""The composition root: the one ASGI application, the API's routes and the console's over
one `Hub`, behind the middleware every request passes (tracking id, access log and
metrics, body limits, trusted hosts), with the request-log flusher and the wiring's
background jobs running beside it.

It sits above `api` and `console` so that neither knows the other is mounted: the console
uses the API's services, the API knows nothing of the console."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import Mount

from . import metrics
from .api.access import AccessMiddleware
from .api.body_limit import BodyLimitMiddleware, hub_limits
from .api.routes import http_error
from .api.routes import routes as api_routes
from .api.services import Hub
from .api.tracking import TrackingMiddleware
from .config import Settings
from .console.routes import routes as console_routes

log = logging.getLogger("scimhub.app")
_FLUSH_SECONDS = 1.0

BackgroundJob = Callable[[Hub], Coroutine[Any, Any, None]]


def create_app(
    settings: Settings, *, hub: Hub | None = None, background: Sequence[BackgroundJob] = ()
) -> Starlette:
    """`hub`: services the caller owns (tests, the demo); without it the app opens its own
    and closes it when it stops. `background`: long-running jobs the wiring adds (the sync
    scheduler), started with the app and cancelled when it stops."""
    owned = hub is None
    the_hub = hub or Hub.open(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(_flush_forever(the_hub)),
            *(asyncio.create_task(job(the_hub)) for job in background),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            the_hub.requests.flush()
            if owned:
                the_hub.close()

    app = Starlette(
        routes=[*api_routes, Mount("/console", routes=console_routes)],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.hub = the_hub
    app.state.metrics_token = settings.metrics_token  # this app's, whoever owns the hub
    # Inside the tracking middleware, so a refused Host (400) still carries a TrackingID.
    app.add_middleware(
        TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts, www_redirect=False
    )
    app.add_middleware(BodyLimitMiddleware, limits=hub_limits(settings.max_payload_bytes))
    # Counted only with a scraper to read them (SCIMHUB_METRICS_TOKEN): otherwise free.
    counted = metrics.install(per_org=settings.metrics_per_org) if settings.metrics_token else None
    app.add_middleware(AccessMiddleware, metrics=counted)
    app.add_middleware(TrackingMiddleware, prefix=settings.tracking_prefix)
    return app


async def _flush_forever(hub: Hub) -> None:
    while True:
        await asyncio.sleep(_FLUSH_SECONDS)
        try:
            hub.requests.flush()
        except Exception:  # a full disk must not stop the service; the next flush retries
            log.exception("could not write the request log")
