"""The Audit log (the hub's own admin actions) and the Provisioning log (inbound SCIM
requests), both newest first and paged in SQL."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import ConsoleContext, console_page
from .paging import PAGE_SIZE, Pager
from .render import page

OUTCOMES = {"success": "Succeeded", "failure": "Failed"}


@console_page()
async def audit(request: Request, ctx: ConsoleContext) -> Response:
    events, total = ctx.hub.audit.events(
        ctx.org_id, limit=PAGE_SIZE, offset=Pager.offset_for(request)
    )
    return page(
        request,
        "audit.html",
        ctx.page_context("audit", events=events, pager=Pager.of(request, total)),
    )


@console_page()
async def provisioning(request: Request, ctx: ConsoleContext) -> Response:
    outcome = request.query_params.get("outcome", "")
    outcome = outcome if outcome in OUTCOMES else ""
    tid = request.query_params.get("tracking_id", "").strip()[:128]
    entries, total = ctx.hub.requests.entries(
        ctx.org_id,
        status_class=outcome or None,
        tracking_id=tid or None,
        limit=PAGE_SIZE,
        offset=Pager.offset_for(request),
    )
    return page(
        request,
        "provisioning.html",
        ctx.page_context(
            "provisioning",
            entries=entries,
            outcome=outcome,
            outcomes=OUTCOMES,
            tracking_id=tid,
            pager=Pager.of(request, total),
        ),
    )


routes = [
    Route("/audit", audit, methods=["GET"]),
    Route("/provisioning", provisioning, methods=["GET"]),
]
