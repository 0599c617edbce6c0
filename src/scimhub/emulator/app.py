"""The emulator's ASGI app: login endpoints (discovery, token, authorize, sign-in and
consent pages), Graph, admin endpoints, and (in its lifespan) the provisioning service."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import admin, authorize, consent, logout, oauth, pages, signin
from .context import Emulator
from .graph import (
    applications,
    audit_logs,
    delta,
    groups,
    organization,
    service_principals,
    synchronization,
    users,
)
from .graph.errors import GraphError
from .limits import BodyLimitMiddleware
from .provisioning.scheduler import Scheduler


def create_app(emu: Emulator, *, provisioning: bool = True) -> Starlette:
    scheduler = Scheduler(emu)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if provisioning:
            scheduler.start()
        try:
            yield
        finally:
            await scheduler.stop()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith("/v1.0/"):
            request_id = str(uuid.uuid4())
            code = "Request_ResourceNotFound" if exc.status_code == 404 else "BadRequest"
            message = (
                f"Resource not found for the segment '{request.url.path.split('/')[-1]}'."
                if exc.status_code == 404
                else "The HTTP method is not supported."
            )
            return GraphError(exc.status_code, code, message).response(
                request_id, request.headers.get("client-request-id", request_id)
            )
        return JSONResponse(
            {
                "error": "not_found" if exc.status_code == 404 else "invalid_request",
                "error_description": exc.detail,
            },
            status_code=exc.status_code,
        )

    routes = [
        *oauth.routes(emu),
        *authorize.routes(emu),
        *signin.routes(emu),
        *consent.routes(emu),
        *logout.routes(emu),
        *pages.routes(),
        *admin.routes(emu),
        # delta before {id}: /users/delta is not a user id
        *delta.routes(emu),
        *users.routes(emu),
        *organization.routes(emu),
        *groups.routes(emu),
        *synchronization.routes(emu, scheduler),
        *service_principals.routes(emu),
        *applications.routes(emu),
        *audit_logs.routes(emu),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error}
    )
    app.add_middleware(BodyLimitMiddleware)
    app.state.scheduler = scheduler
    return app
