"""Organization Settings: the Directory Synchronization card (drawn by settings.js from the
integration API) and the organisation's console administrators; and the Troubleshooting
page: the troubleshooter's report, with its fixes one click away."""

from __future__ import annotations

import re
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
from ..directory.sessions import SignInMethod
from ..directory.signin_settings import SignInSettingsError
from .auth import ConsoleContext, console_page
from .render import page

ENTRA_CALLBACK = "/console/login/entra/callback"  # the redirect URIs the operator registers
ENTRA_SIGNED_OUT = "/console/login/entra/signed-out"


def integration_base(org_id: str) -> str:
    return f"/extIntegration/azureAD/{org_id}/v1"


def _proven_tenants(ctx: ConsoleContext) -> dict[str, str]:
    """Tenants an org admin may name for sign-in with Microsoft: those the org connected
    (each proven by the setup sign-in), and the one already set (perhaps by the operator's
    CLI, which may name any)."""
    tenants = {i.tenant_id: i.name for i in ctx.hub.instances.list(ctx.org_id)}
    current = ctx.hub.signin.get(ctx.org_id).tenant_id
    if current and current not in tenants:
        tenants[current] = "set by the operator"
    return tenants


def _settings_page(
    request: Request,
    ctx: ConsoleContext,
    *,
    error: str = "",
    signin_error: str = "",
    status: int = 200,
) -> Response:
    base = base_url(request, ctx.hub)
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
            signin=ctx.hub.signin.get(ctx.org_id),
            signin_app=ctx.hub.entra.admin_signin.client.configured,
            signin_tenants=_proven_tenants(ctx),
            signin_error=signin_error,
            signin_saved=request.query_params.get("signin", "") == "saved",
            signin_uris=[f"{base}{path}" for path in (ENTRA_CALLBACK, ENTRA_SIGNED_OUT)],
            signed_in_with_entra=ctx.session.method is SignInMethod.ENTRA,
        ),
        status=status,
    )


def _listed(value: object) -> list[str]:
    """A form field of values separated by commas, spaces or lines."""
    return [v for v in re.split(r"[\s,]+", str(value or "")) if v]


@console_page(changes=True)
async def configure_signin(request: Request, ctx: ConsoleContext) -> Response:
    """Organization Settings > Sign-in: sign-in with Microsoft and local passwords."""
    form = await read_form(request)
    tenant = str(form.get("tenant_id", "")).strip().lower() or None
    local_passwords = form.get("local_passwords") == "on"
    current = ctx.hub.signin.get(ctx.org_id)

    def refuse(message: str) -> Response:
        return _settings_page(request, ctx, signin_error=message, status=400)

    if tenant and tenant not in _proven_tenants(ctx):
        return refuse(
            "Connect that tenant under Directory Synchronization first (its setup sign-in "
            "proves it is this organization's), or ask the hub's operator to set it."
        )
    if (
        current.local_passwords
        and not local_passwords
        and ctx.session.method is not SignInMethod.ENTRA
    ):
        return refuse(
            "Sign in with Microsoft first, then switch local passwords off: that proves the "
            "sign-in works for you before the passwords stop working."
        )
    try:
        ctx.hub.signin.configure(
            ctx.org_id,
            Actor(ctx.principal.name, tracking_id(request.scope)),
            enabled=form.get("enabled") == "on",
            tenant_id=tenant,
            roles_from=str(form.get("roles_from", "")),
            admin_roles=_listed(form.get("admin_roles")),
            readonly_roles=_listed(form.get("readonly_roles")),
            admin_groups=_listed(form.get("admin_groups")),
            readonly_groups=_listed(form.get("readonly_groups")),
            local_passwords=local_passwords,
        )
    except SignInSettingsError as exc:
        return refuse(f"{str(exc)[0].upper()}{str(exc)[1:]}.")
    return RedirectResponse("/console/settings?signin=saved#signin", 303)


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
    Route("/settings/signin", configure_signin, methods=["POST"]),
    Route("/troubleshooting", troubleshooting, methods=["GET"]),
    Route("/troubleshooting/fix", fix, methods=["POST"]),
]
