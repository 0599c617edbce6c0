"""Signing in and out with a password (sign-in with Microsoft: `routes_entra_signin.py`).
Every outcome lands in the hub's audit trail: sign-in, failed sign-in and refused by the
rate limit (in each org holding an account with the email, else the hub's), "name your
organization" (the hub's only), refused because the org switched passwords off, sign-out.

An email may hold an account in several orgs, so the form takes an optional organization
id, shown when the login URL gives one (`?org=ID`) or when the password opens accounts in
more than one org. No answer tells one org about another's accounts.

The login page offers "Sign in with Microsoft" for an org that set it up (`?org=ID`), or,
without an org, when the hub has the console app at all (the org is asked for then). An
org that switched local passwords off gets no password form: a password posted for it is
refused before it is checked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..api.auth import SESSION_COOKIE, signed_in, tokens_match
from ..api.body_limit import read_form
from ..api.scim_endpoint import base_url
from ..api.services import Hub
from ..api.tracking import tracking_id
from ..directory.admins import AdminInfo, normalize_email
from ..directory.errors import OrgNotFound
from ..directory.sessions import SignInMethod
from .auth import LOGIN_PATH, ConsoleContext, console_page
from .csrf import FIELD, LOGIN_COOKIE, login_token
from .render import content_security_policy, page
from .signin_explained import Explanation

HOME = "/console/overview"
ORG_ID_MAX = 64
ENTRA_PATH = "/console/login/entra"
PASSWORDS_OFF = (
    "This organization signs in with Microsoft: its local passwords are switched off. "
    "Use Sign in with Microsoft."
)


def safe_next(target: str | None) -> str:
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


def _microsoft(hub: Hub, org: str | None, ask_org: bool) -> dict[str, Any] | None:
    """How the page offers sign-in with Microsoft: for the named org when it set it up;
    without an org, when the hub has the console app (the org is asked for)."""
    signin = hub.entra.admin_signin
    if org:
        return {"org": org, "ask_org": False} if signin.offered(org) else None
    return {"org": "", "ask_org": ask_org} if signin.client.configured else None


def login_form(
    request: Request,
    *,
    error: str = "",
    email: str = "",
    org: str | None = None,
    org_needed: bool = False,
    status: int = 200,
    explanation: Explanation | None = None,
    ask_org: bool = False,
    next_path: str | None = None,
) -> Response:
    """The sign-in page (for `routes_entra_signin` too: a refusal is explained on it)."""
    hub: Hub = request.app.state.hub
    token = login_token(request)
    passwords_off = org is not None and not _passwords_allowed(hub, org)
    target = safe_next(next_path or request.query_params.get("next"))
    entra_origin = urlsplit(hub.settings.entra_login_url)
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
            "next": target,
            "signed_out": "signed_out" in request.query_params,
            "microsoft": _microsoft(hub, org, ask_org),
            "entra_query": urlencode({"org": org or "", "next": target}),
            "passwords_off": passwords_off,
            "explanation": explanation,
            "tracking_id": tracking_id(request.scope),
            "entra_logout": _entra_logout(request, hub, org),
        },
        status=status,
        # The Organization ID form goes to the hub, which redirects to Entra's sign-in.
        headers={
            "Content-Security-Policy": content_security_policy(
                (f"{entra_origin.scheme}://{entra_origin.netloc}",)
            )
        },
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
    hub: Hub,
    orgs: Sequence[str],
    email: str,
    action: str,
    request: Request,
    *,
    reason: str | None = None,
) -> None:
    """Record the event in each org holding an account with the email (each owns its
    account, and learns nothing of the others), or the hub's trail when none does."""
    detail = {"client": request.client.host if request.client else None}
    if reason:
        detail["reason"] = reason
    targets: Sequence[str | None] = orgs or [None]
    for org_id in targets:
        hub.audit.record(
            org_id, email[:256], action, tracking_id=tracking_id(request.scope), detail=detail
        )


async def login_page(request: Request) -> Response:
    if signed_in(request, request.app.state.hub.sessions) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), 303)
    return login_form(request, org=_org_field(request.query_params.get("org")))


async def login(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    form = await read_form(request)
    email = str(form.get("email", "")).strip()
    password = str(form.get("password", ""))
    org = _org_field(form.get("org"))
    if not tokens_match(request.cookies.get(LOGIN_COOKIE, ""), str(form.get(FIELD, ""))):
        return login_form(
            request, error="The sign-in form expired. Try again.", email=email, org=org, status=403
        )
    if not email or not password:
        return login_form(
            request, error="Enter your email and password.", email=email, org=org, status=400
        )
    if org and not _passwords_allowed(hub, org):
        # Refused before the password is checked: the answer says nothing of it.
        _record_in_orgs(hub, [org], email, "signin.refused", request, reason=PASSWORDS_OFF)
        return login_form(request, email=email, org=org, status=403, error=PASSWORDS_OFF)
    # One key per email, whichever org the form names: the guesses at an email are limited
    # however they are spread over its accounts.
    account_key = f"account:{normalize_email(email)}"
    client_key = f"client:{request.client.host}" if request.client else None
    attempt = hub.sessions.begin_attempt(account_key, client_key)
    if not attempt.allowed:
        orgs = [a.org_id for a in hub.admins.candidates(email, org)]
        _record_in_orgs(hub, orgs, email, "signin.blocked", request)
        return login_form(
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
        return login_form(
            request,
            email=email,
            org=org,
            org_needed=True,
            status=401,
            error="Enter the ID of the organization to sign in to.",
        )
    if check.admin is None and check.refused and not check.matches:
        # The password is right, but only for orgs that switched passwords off: saying so
        # helps their admins, and the password opens nothing while they are off.
        orgs = [a.org_id for a in check.refused]
        _record_in_orgs(hub, orgs, email, "signin.refused", request, reason=PASSWORDS_OFF)
        return login_form(request, email=email, org=org, status=403, error=PASSWORDS_OFF)
    if check.admin is None:
        _record_in_orgs(hub, check.candidate_orgs, email, "signin.failed", request)
        return login_form(
            request, email=email, org=org, status=401, error="The email or password is not right."
        )
    # `forget_key` clears the email's earlier failures, unless other orgs hold it: signing
    # in to one's own account must not reset the guesses at theirs.
    hub.sessions.attempt_succeeded(attempt, None if check.email_shared else account_key)
    return start_session(
        request, hub, check.admin, SignInMethod.PASSWORD, str(form.get("next", ""))
    )


def _passwords_allowed(hub: Hub, org_id: str) -> bool:
    try:
        return hub.signin.get(org_id).local_passwords
    except OrgNotFound:
        return True  # an unknown org is answered as any wrong password is


def start_session(
    request: Request, hub: Hub, admin: AdminInfo, method: SignInMethod, target: str
) -> Response:
    """Start the admin's session (however they proved who they are) and go to `target`."""
    cookie, _ = hub.sessions.start(admin, method)
    hub.audit.record(
        admin.org_id,
        admin.email,
        "signin",
        target=admin.id,
        detail={"method": method.value},
        tracking_id=tracking_id(request.scope),
    )
    response = RedirectResponse(safe_next(target), 303)
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


def _entra_logout(request: Request, hub: Hub, org: str | None) -> str | None:
    """After signing out of a session that Microsoft signed in: Entra's own sign-out, which
    comes back to the hub (its signed-out page). The hub's session is already gone."""
    if not (org and "signed_out" in request.query_params and "entra" in request.query_params):
        return None
    back = f"{base_url(request, hub)}{ENTRA_PATH}/signed-out"
    return hub.entra.admin_signin.logout_url(org, back)


@console_page()
async def logout(request: Request, ctx: ConsoleContext) -> Response:
    """End the hub's session. After a sign-in with Microsoft, the signed-out page offers
    Entra's sign-out too (the Entra session is Microsoft's, and may serve other apps)."""
    ctx.hub.sessions.end(request.cookies.get(SESSION_COOKIE, ""))
    ctx.hub.audit.record(
        ctx.org_id,
        ctx.principal.name,
        "signout",
        target=ctx.session.admin_id,
        tracking_id=tracking_id(request.scope),
    )
    query = {"signed_out": "1"}
    if ctx.session.method is SignInMethod.ENTRA:
        query |= {"org": ctx.org_id, "entra": "1"}
    response = RedirectResponse(f"{LOGIN_PATH}?{urlencode(query)}", 303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
