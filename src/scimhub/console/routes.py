"""Every console route, mounted by the app factory at /console."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from . import (
    routes_attributes,
    routes_deletions,
    routes_directory,
    routes_entra_signin,
    routes_ldap,
    routes_logs,
    routes_overview,
    routes_settings,
    routes_setup,
    routes_signin,
    routes_status,
    routes_webhooks,
)
from .auth import ConsoleContext, console_page, error_page


async def home(request: Request) -> Response:
    return RedirectResponse("/console/overview", 303)


@console_page()
async def not_found(request: Request, ctx: ConsoleContext) -> Response:
    return error_page(request, 404, "Page not found", "There is no such console page.", ctx)


routes: list[BaseRoute] = [
    Route("/", home, methods=["GET"]),
    Mount("/static", StaticFiles(packages=[("scimhub.console", "static")]), name="static"),
    *routes_signin.routes,
    *routes_entra_signin.routes,
    *routes_overview.routes,
    *routes_directory.routes,
    *routes_settings.routes,
    *routes_ldap.routes,
    *routes_attributes.routes,
    *routes_logs.routes,
    *routes_status.routes,
    *routes_webhooks.routes,
    *routes_deletions.routes,
    *routes_setup.routes,  # a setup link's wizard: its own session, no other page's
    Route("/{path:path}", not_found),  # an HTML 404 for a signed-in admin, not a SCIM error
]
