"""The status page behind "Check for Open Incidents": the hub's own components, checked
now, and each Entra instance's last known state (filled in by status.js from the
integration API, which is the only part that talks to Entra)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..api.services import Hub
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
    started = time.perf_counter()
    try:
        with hub.db.read() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # the page must still render to say the database is down
        log.warning("database check failed: %s", exc)
        return Component("Database", False, f"unreachable: {type(exc).__name__}")
    elapsed = (time.perf_counter() - started) * 1000
    return Component("Database", True,
                     f"{hub.db.engine.dialect.name}, answered in {elapsed:.1f} ms")


def _request_log(hub: Hub) -> Component:
    """Writing the buffered entries now proves the writer works and empties the buffer."""
    try:
        written = hub.requests.flush()
    except Exception as exc:
        log.warning("request log flush failed: %s", exc)
        return Component("Provisioning log writer", False,
                         f"cannot write: {type(exc).__name__}")
    return Component("Provisioning log writer", True,
                     f"writing; {written} buffered entries written just now")


@console_page()
async def status(request: Request, ctx: ConsoleContext) -> Response:
    components = [_database(ctx.hub), _request_log(ctx.hub)]
    return page(request, "status.html", ctx.page_context(
        "status", components=components, api_base=integration_base(ctx.org_id),
        scim_base=ctx.loc.scim_base))


routes = [Route("/status", status, methods=["GET"])]
