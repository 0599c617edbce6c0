"""The checks every console route shares (signed in, genuine request, role allows a
change), over the session layer of `api.auth`, and what a failed check shows: the sign-in
page, or an error page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..api.auth import SAFE_METHODS, Principal, genuine, signed_in
from ..api.scim_endpoint import base_url
from ..api.services import Hub
from ..directory.instances import Instance
from ..directory.locator import Locator
from ..directory.removal_bursts import BurstState
from ..directory.sessions import SessionInfo
from ..directory.webhooks import EndpointState
from . import debug_info
from .csrf import submitted_token
from .render import page

LOGIN_PATH = "/console/login"


@dataclass(frozen=True, slots=True)
class ConsoleContext:
    hub: Hub
    session: SessionInfo
    loc: Locator

    @property
    def org_id(self) -> str:
        return self.session.org_id

    @property
    def principal(self) -> Principal:
        """Who the page acts for, as the audit trail records it."""
        return Principal.of_session(self.session)

    def _held_removals(self) -> list[tuple[Instance, int]]:
        """Pull instances whose removals wait for an admin: one query when none do."""
        held = self.hub.brake.held_counts(self.org_id)
        if not held:
            return []
        return [(i, held[i.id]) for i in self.hub.instances.list(self.org_id) if i.id in held]

    def page_context(self, nav: str, **extra: Any) -> dict[str, Any]:
        """What base.html needs on every page, plus the page's own values."""
        return {
            "session": self.session,
            "active": nav,
            "org_name": self.hub.orgs.get(self.org_id).name,
            "debug": debug_info.page_attributes(self.session),
            # the banner: endpoints delivery disabled (410, or no success for 5 days)
            "webhook_alerts": [
                e
                for e in self.hub.webhooks.endpoints(self.org_id)
                if e.state == EndpointState.DISABLED
            ],
            # the banner: pull instances whose removals wait for an admin (deletion brake)
            "held_removals": self._held_removals(),
            # the banner: bursts of removals Entra's push job made, not yet decided
            "removal_bursts": self.hub.bursts.listed(self.org_id, BurstState.OPEN, limit=5),
            **extra,
        }


Handler = Callable[[Request, ConsoleContext], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def error_page(
    request: Request, status: int, title: str, message: str, ctx: ConsoleContext | None = None
) -> Response:
    context = ctx.page_context("") if ctx else {"session": None}
    return page(
        request,
        "error.html",
        {**context, "status": status, "title": title, "message": message},
        status=status,
    )


def console_page(*, changes: bool = False) -> Callable[[Handler], Endpoint]:
    """Wrap a handler: require a live session, refuse forged unsafe requests (403) and, when
    the route `changes` something, read-only admins (403)."""

    def wrap(handler: Handler) -> Endpoint:
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            hub: Hub = request.app.state.hub
            session = signed_in(request, hub.sessions)
            if session is None:
                if request.method in ("GET", "HEAD"):
                    target = request.url.path + (
                        f"?{request.url.query}" if request.url.query else ""
                    )
                    return RedirectResponse(f"{LOGIN_PATH}?next={quote(target)}", 303)
                return error_page(
                    request, 401, "Signed out", "Your session has ended. Sign in again."
                )
            ctx = ConsoleContext(hub, session, Locator(base_url(request, hub), session.org_id))
            sent = None if request.method in SAFE_METHODS else await submitted_token(request)
            if not genuine(request, session, sent, hub.settings.public_url):
                return error_page(
                    request,
                    403,
                    "Request refused",
                    "This form has expired or came from another site. "
                    "Reload the page and try again.",
                    ctx,
                )
            if changes and ctx.principal.read_only:
                return error_page(
                    request,
                    403,
                    "Read-only access",
                    "You have read-only access. Ask a full administrator to make this change.",
                    ctx,
                )
            return await handler(request, ctx)

        return endpoint

    return wrap
