"""Signing in and out. Every outcome lands in the hub's audit trail: sign-in, failed sign-in
and refused by the rate limit (in each org holding an account with the email, else the
hub's), "name your organization" (the hub's only), sign-out.

An email may hold an account in several orgs, so the form takes an optional organization
id, shown when the login URL gives one (`?org=ID`) or when the password opens accounts in
more than one org. No answer tells one org about another's accounts."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..api.auth import SESSION_COOKIE, signed_in, tokens_match
from ..api.body_limit import read_form
from ..api.services import Hub
from ..api.tracking import tracking_id
from ..directory.admins import AdminInfo, normalize_email
from ..directory.sessions import LoginAttempt
from .auth import LOGIN_PATH, ConsoleContext, console_page
from .csrf import FIELD, LOGIN_COOKIE, login_token
from .render import page

HOME = "/console/overview"
ORG_ID_MAX = 64


def _safe_next(target: str | None) -> str:
    """Only console paths: `next` must not turn sign-in into an open redirect."""
    if (
        target
        and target.startswith("/console/")
        and not target.startswith("//")
        and "\\" not in target
    ):
        return target
    return HOME


def _org_field(value: object) -> str | None:
    """The organization the form names, or None. Cut short: an org id is a 36-character
    uuid, and the value is echoed back into the form."""
    org = str(value or "").strip()[:ORG_ID_MAX]
    return org or None


def _login_form(
    request: Request,
    *,
    error: str = "",
    email: str = "",
    org: str | None = None,
    org_needed: bool = False,
    status: int = 200,
) -> Response:
    token = login_token(request)
    response = page(
        request,
        "login.html",
        {
            "session": None,
            "error": error,
            "email": email,
            "csrf_token": token,
            "org": org or "",
            "org_needed": org_needed,
            "next": _safe_next(request.query_params.get("next")),
            "signed_out": "signed_out" in request.query_params,
        },
        status=status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path=LOGIN_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _record_in_orgs(
    hub: Hub, orgs: Sequence[str], email: str, action: str, request: Request
) -> None:
    """Record the event in each org holding an account with the email (each owns its
    account, and learns nothing of the others), or the hub's trail when none does."""
    detail = {"client": request.client.host if request.client else None}
    targets: Sequence[str | None] = orgs or [None]
    for org_id in targets:
        hub.audit.record(
            org_id, email[:256], action, tracking_id=tracking_id(request.scope), detail=detail
        )


async def login_page(request: Request) -> Response:
    if signed_in(request, request.app.state.hub.sessions) is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), 303)
    return _login_form(request, org=_org_field(request.query_params.get("org")))


async def login(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    form = await read_form(request)
    email = str(form.get("email", "")).strip()
    password = str(form.get("password", ""))
    org = _org_field(form.get("org"))
    if not tokens_match(request.cookies.get(LOGIN_COOKIE, ""), str(form.get(FIELD, ""))):
        return _login_form(
            request, error="The sign-in form expired. Try again.", email=email, org=org, status=403
        )
    if not email or not password:
        return _login_form(
            request, error="Enter your email and password.", email=email, org=org, status=400
        )
    # One key per email, whichever org the form names: the guesses at an email are limited
    # however they are spread over its accounts.
    account_key = f"account:{normalize_email(email)}"
    client_key = f"client:{request.client.host}" if request.client else None
    attempt = hub.sessions.begin_attempt(account_key, client_key)
    if not attempt.allowed:
        orgs = [a.org_id for a in hub.admins.candidates(email, org)]
        _record_in_orgs(hub, orgs, email, "signin.blocked", request)
        return _login_form(
            request,
            email=email,
            org=org,
            status=429,
            error=("Too many failed sign-ins. Wait 15 minutes and try again."),
        )
    check = await run_in_threadpool(  # argon2 is slow
        hub.admins.check_password, email, password, org
    )
    if check.needs_org:
        # The hub's trail only: an org's trail would tell it of the account in another.
        _record_in_orgs(hub, [], email, "signin.org_needed", request)
        return _login_form(
            request,
            email=email,
            org=org,
            org_needed=True,
            status=401,
            error="Enter the ID of the organization to sign in to.",
        )
    if check.admin is None:
        _record_in_orgs(hub, check.candidate_orgs, email, "signin.failed", request)
        return _login_form(
            request, email=email, org=org, status=401, error="The email or password is not right."
        )
    return _signed_in(
        request,
        hub,
        check.admin,
        attempt,
        None if check.email_shared else account_key,
        str(form.get("next", "")),
    )


def _signed_in(
    request: Request,
    hub: Hub,
    admin: AdminInfo,
    attempt: LoginAttempt,
    forget_key: str | None,
    target: str,
) -> Response:
    """Start the session. `forget_key` clears the email's earlier failures, unless other
    orgs hold it: signing in to one's own account must not reset the guesses at theirs."""
    hub.sessions.attempt_succeeded(attempt, forget_key)
    cookie, _ = hub.sessions.start(admin)
    hub.audit.record(
        admin.org_id, admin.email, "signin", target=admin.id, tracking_id=tracking_id(request.scope)
    )
    response = RedirectResponse(_safe_next(target), 303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=int(hub.sessions.lifetime.total_seconds()),
    )
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
    return response


@console_page()
async def logout(request: Request, ctx: ConsoleContext) -> Response:
    ctx.hub.sessions.end(request.cookies.get(SESSION_COOKIE, ""))
    ctx.hub.audit.record(
        ctx.org_id,
        ctx.principal.name,
        "signout",
        target=ctx.session.admin_id,
        tracking_id=tracking_id(request.scope),
    )
    response = RedirectResponse(f"{LOGIN_PATH}?signed_out=1", 303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
