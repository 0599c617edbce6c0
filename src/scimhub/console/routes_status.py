"""The status page behind "Check for Open Incidents": the hub's own components, checked
now, and each Entra instance's last known state (filled in by status.js from the
integration API, which is the only part that talks to Entra)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..api.services import Hub
from ..directory.health import InProcess
from .auth import ConsoleContext, console_page
from .render import page
from .routes_settings import integration_base

log = logging.getLogger("scimhub.console")


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    healthy: bool
    detail: str


def _database(hub: Hub) -> Component:
    try:
        check = hub.health.database()
    except Exception as exc:  # the page must still render to say the database is down
        log.warning("database check failed: %s", exc)
        return Component("Database", False, f"unreachable: {type(exc).__name__}")
    return Component("Database", True, f"{check.dialect}, answered in {check.elapsed_ms:.1f} ms")


def _request_log(hub: Hub) -> Component:
    """Writing the buffered entries now proves the writer works and empties the buffer."""
    try:
        written = hub.requests.flush()
    except Exception as exc:
        log.warning("request log flush failed: %s", exc)
        return Component("Provisioning log writer", False, f"cannot write: {type(exc).__name__}")
    return Component(
        "Provisioning log writer", True, f"writing; {written} buffered entries written just now"
    )


def _background(hub: Hub, org_id: str) -> Component:
    try:
        bg = hub.health.background(org_id)
    except Exception as exc:
        log.warning("background status failed: %s", exc)
        return Component("Background sync", False, f"unknown: {type(exc).__name__}")
    if isinstance(bg, InProcess):
        s = hub.settings
        every = f"pull sync every {s.pull_interval_seconds} s, " if s.pull_interval_seconds else ""
        return Component(
            "Background sync",
            True,
            f"in the API process: {every}status "
            f"checks every {s.status_interval_seconds} s, token renewal and "
            "clean-up hourly",
        )
    q = bg.queue
    queue = (
        f"this organization's jobs: {q.waiting} waiting, {q.running} running, "
        f"{q.failed_last_day} failed in the last day"
    )
    if not bg.healthy:
        seen = (
            f"last heartbeat {q.last_heartbeat:%Y-%m-%d %H:%M:%S} UTC"
            if q.last_heartbeat
            else "none has ever run"
        )
        return Component(
            "Background sync",
            False,
            "no scimhub worker is running "
            f"({seen}): scheduled pulls, status checks and token renewal wait; " + queue,
        )
    return Component(
        "Background sync",
        True,
        f"{q.workers_alive} scimhub worker{'s' if q.workers_alive != 1 else ''} alive; " + queue,
    )


@console_page()
async def status(request: Request, ctx: ConsoleContext) -> Response:
    components = [_database(ctx.hub), _request_log(ctx.hub), _background(ctx.hub, ctx.org_id)]
    return page(
        request,
        "status.html",
        ctx.page_context(
            "status",
            components=components,
            api_base=integration_base(ctx.org_id),
            scim_base=ctx.loc.scim_base,
        ),
    )


routes = [Route("/status", status, methods=["GET"])]
