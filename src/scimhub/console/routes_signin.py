"""Signing in and out. Every outcome lands in the hub's audit trail: sign-in, failed
sign-in (with the org when the account exists), refused by the rate limit, sign-out."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..api.services import Hub
from ..api.tracking import tracking_id
from ..directory.admins import normalize_email
from .auth import COOKIE, LOGIN_PATH, ConsoleContext, console_page, current_session
from .csrf import FIELD, LOGIN_COOKIE, login_token, tokens_match
from .render import page

HOME = "/console/overview"


def _safe_next(target: str | None) -> str:
    """Only console paths: `next` must not turn sign-in into an open redirect."""
    if target and target.startswith("/console/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return HOME


def _login_form(request: Request, *, error: str = "", email: str = "",
                status: int = 200) -> Response:
    token = login_token(request)
    response = page(request, "login.html", {
        "session": None, "error": error, "email": email, "csrf_token": token,
        "next": _safe_next(request.query_params.get("next")),
        "signed_out": "signed_out" in request.query_params}, status=status)
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, path=LOGIN_PATH, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


async def login_page(request: Request) -> Response:
    if current_session(request, request.app.state.hub) is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), 303)
    return _login_form(request)


async def login(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    form = await request.form()
    email = str(form.get("email", "")).strip()
    password = str(form.get("password", ""))
    if not tokens_match(request.cookies.get(LOGIN_COOKIE, ""), str(form.get(FIELD, ""))):
        return _login_form(request, error="The sign-in form expired. Try again.",
                           email=email, status=403)
    if not email or not password:
        return _login_form(request, error="Enter your email and password.", email=email,
                           status=400)
    tid = tracking_id(request.scope)
    account_key = f"account:{normalize_email(email)}"
    client_key = f"client:{request.client.host}" if request.client else None
    attempt = hub.sessions.begin_attempt(account_key, client_key)
    known = hub.admins.find(email)
    org_id = known.org_id if known else None
    if not attempt.allowed:
        hub.audit.record(org_id, email[:256], "signin.blocked", tracking_id=tid,
                         detail={"client": request.client.host if request.client else None})
        return _login_form(request, email=email, status=429, error=(
            "Too many failed sign-ins. Wait 15 minutes and try again."))
    admin = await run_in_threadpool(hub.admins.verify, email, password)  # argon2 is slow
    if admin is None:
        hub.audit.record(org_id, email[:256], "signin.failed", tracking_id=tid,
                         detail={"client": request.client.host if request.client else None})
        return _login_form(request, email=email, status=401,
                           error="The email or password is not right.")
    hub.sessions.attempt_succeeded(attempt, account_key)
    cookie, _ = hub.sessions.start(admin)
    hub.audit.record(admin.org_id, admin.email, "signin", target=admin.id, tracking_id=tid)
    response = RedirectResponse(_safe_next(str(form.get("next", ""))), 303)
    response.set_cookie(COOKIE, cookie, path="/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https",
                        max_age=int(hub.sessions.lifetime.total_seconds()))
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
    return response


@console_page()
async def logout(request: Request, ctx: ConsoleContext) -> Response:
    ctx.hub.sessions.end(request.cookies.get(COOKIE, ""))
    ctx.hub.audit.record(ctx.org_id, ctx.session.email, "signout", target=ctx.session.admin_id,
                         tracking_id=tracking_id(request.scope))
    response = RedirectResponse(f"{LOGIN_PATH}?signed_out=1", 303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
