"""Organization Settings: the Directory Synchronization card (drawn by settings.js from the
integration API) and the organisation's console administrators; and the Troubleshooting
page: the troubleshooter's report, with its fixes one click away."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..api.body_limit import read_form
from ..api.scim_endpoint import base_url
from ..api.tracking import tracking_id
from ..diagnose import diagnose, explain_tracking_id
from ..diagnose.remedies import apply_fix
from ..directory.actor import Actor
from ..directory.admins import MIN_PASSWORD_LENGTH, AdminError
from ..directory.roles import Role
from .auth import ConsoleContext, console_page
from .render import page


def integration_base(org_id: str) -> str:
    return f"/extIntegration/azureAD/{org_id}/v1"


def _settings_page(
    request: Request, ctx: ConsoleContext, *, error: str = "", status: int = 200
) -> Response:
    return page(
        request,
        "settings.html",
        ctx.page_context(
            "settings",
            api_base=integration_base(ctx.org_id),
            admins=ctx.hub.admins.list(ctx.org_id),
            roles=list(Role),
            min_password=MIN_PASSWORD_LENGTH,
            error=error,
            created=request.query_params.get("created", ""),
        ),
        status=status,
    )


@console_page()
async def settings(request: Request, ctx: ConsoleContext) -> Response:
    return _settings_page(request, ctx)


@console_page(changes=True)
async def create_admin(request: Request, ctx: ConsoleContext) -> Response:
    form = await read_form(request)
    try:
        await run_in_threadpool(  # argon2 hashing takes tens of milliseconds
            ctx.hub.admins.create,
            ctx.org_id,
            str(form.get("email", "")),
            str(form.get("password", "")),
            str(form.get("role", "")),
            str(form.get("display_name", "")) or None,
            actor=ctx.principal.name,
            tracking_id=tracking_id(request.scope),
        )
    except AdminError as exc:
        return _settings_page(request, ctx, error=str(exc), status=400)
    return RedirectResponse("/console/settings?created=1#admins", 303)


@console_page()
async def troubleshooting(request: Request, ctx: ConsoleContext) -> Response:
    """The troubleshooter's report for the org (reads Entra through Graph, so in a thread),
    explaining one tracking id when the toast's Troubleshoot link brought the admin here."""
    tid = request.query_params.get("trackingId", "").strip()[:128]
    if tid:
        report = await run_in_threadpool(explain_tracking_id, ctx.hub, ctx.org_id, tid)
    else:
        report = await run_in_threadpool(diagnose, ctx.hub, ctx.org_id)
    return page(
        request,
        "troubleshooting.html",
        ctx.page_context(
            "troubleshooting",
            tracking_id=tid,
            report=report,
            fixed=request.query_params.get("fixed", ""),
            fix_failed=request.query_params.get("failed", ""),
        ),
    )


@console_page(changes=True)
async def fix(request: Request, ctx: ConsoleContext) -> Response:
    """Apply one of the fixes the report offers, then show the report again."""
    form = await read_form(request)
    result = await run_in_threadpool(
        lambda: apply_fix(
            ctx.hub,
            ctx.org_id,
            str(form.get("fix", "")),
            actor=Actor(ctx.principal.name, tracking_id(request.scope)),
            hub_url=base_url(request, ctx.hub),
            instance_id=str(form.get("instance_id", "")) or None,
        )
    )
    outcome = "fixed" if result.ok else "failed"
    return RedirectResponse(f"/console/troubleshooting?{urlencode({outcome: result.message})}", 303)


routes = [
    Route("/settings", settings, methods=["GET"]),
    Route("/settings/admins", create_admin, methods=["POST"]),
    Route("/troubleshooting", troubleshooting, methods=["GET"]),
    Route("/troubleshooting/fix", fix, methods=["POST"]),
]
