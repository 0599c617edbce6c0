"""What the authorize and admin-consent endpoints share: the sign-in of a tenant admin or
a directory user (session cookie, login page and its POST), the consent page, and the
error page."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy import Connection, Row, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from . import aadsts
from .aadsts import AadstsError
from .accounts import Account, SignInRefused, authenticate
from .apps import find_app
from .context import Emulator
from .directory import find_tenant, is_multi_tenant
from .pages import origin, render
from .redirect_uris import is_registered
from .schema import tenants
from .signing import sign, unsign

SESSION_COOKIE = "emu_admin_session"
SESSION_SECONDS = 3600
# Double-submit guard against login CSRF: the login form's signed token must match this
# cookie, which a cross-site POST does not carry (SameSite=Lax).
LOGIN_COOKIE = "emu_login_flow"
# Appended to return_to after a sign-in, naming the new session: prompt=login is satisfied.
SIGNED_IN_PARAM = "emu_login"

_PERMISSION_TEXT = {
    "Application.ReadWrite.OwnedBy": "Manage apps that this app creates or owns",
    "AuditLog.Read.All": "Read all audit log data",
    "Group.Read.All": "Read all groups",
    "GroupMember.Read.All": "Read all group memberships",
    "User.Read.All": "Read all users' full profiles",
    "User.Read": "Sign in and read user profile",
    "openid": "Sign users in",
    "profile": "View users' basic profile",
    "email": "View users' email address",
    "offline_access": "Maintain access to data you have given it access to",
}


@dataclass(frozen=True)
class Session:
    tid: str
    sid: str
    uid: str | None = None  # the signed-in user's object id; None: the tenant admin

    @property
    def is_admin(self) -> bool:
        return self.uid is None


def read_session(emu: Emulator, request: Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    claims = unsign(token, emu.session_secret) if token else None
    return Session(claims["tid"], claims["sid"], claims.get("uid")) if claims else None


def segment_tenant(conn: Connection, segment: str) -> tuple[Row[Any] | None, AadstsError | None]:
    """The tenant a path segment names (None for common/organizations), or AADSTS90002."""
    if is_multi_tenant(segment):
        return None, None
    tenant = find_tenant(conn, segment)
    return tenant, None if tenant else aadsts.tenant_not_found(segment)


def check_client(
    conn: Connection, segment: str, client_id: str, redirect_uri: str
) -> tuple[Row[Any] | None, Row[Any]]:
    """The segment's tenant (None: common/organizations) and the app; raises the error
    page's AADSTS error otherwise. A redirect URI must be registered for the app: errors
    before this point never redirect anywhere."""
    tenant, err = segment_tenant(conn, segment)
    if err is not None:
        raise err
    if not client_id:
        raise aadsts.missing_parameter("client_id")
    app = find_app(conn, client_id)
    if app is None:
        raise aadsts.app_not_found(client_id, tenant.display_name if tenant else segment)
    if redirect_uri and not is_registered(conn, client_id, redirect_uri):
        raise aadsts.redirect_not_registered(redirect_uri, client_id)
    return tenant, app


def signed_in_tenant(conn: Connection, session: Session) -> Row[Any]:
    return conn.execute(select(tenants).where(tenants.c.id == session.tid)).one()


def app_visible_in(app: Row[Any], tenant: Row[Any]) -> bool:
    """Multi-tenant apps exist for every tenant; single-tenant ones only at home."""
    return bool(app.sign_in_audience == "AzureADMultipleOrgs" or app.tenant_id == tenant.id)


def resume_url(request: Request) -> str:
    """The login form's return_to: this request, minus an earlier sign-in marker."""
    query = urlencode(
        [(k, v) for k, v in request.query_params.multi_items() if k != SIGNED_IN_PARAM]
    )
    return f"{request.url.path}?{query}" if query else request.url.path


def with_query(uri: str, params: dict[str, str]) -> str:
    return f"{uri}{'&' if urlsplit(uri).query else '?'}{urlencode(params)}"


def error_page(err: AadstsError | str, status: int = 400) -> Response:
    message = err.text if isinstance(err, AadstsError) else err
    return render(
        "message.html",
        status=status,
        title="Sorry, but we're having trouble signing you in.",
        message=message,
        error=True,
    )


def permission_lines(app_roles: Iterable[str], scopes: Iterable[str] = ()) -> list[str]:
    """The consent page's list: delegated scopes first, then application permissions."""
    return list(dict.fromkeys(_PERMISSION_TEXT.get(p, p) for p in (*scopes, *app_roles)))


def consent_page(
    action: str,
    app: Row[Any],
    tenant: Row[Any],
    permissions: list[str],
    csrf: str,
    redirect_uri: str,
) -> Response:
    return render(
        "consent.html",
        title="Permissions requested",
        action=action,
        app_name=app.display_name,
        publisher="scimhub (verified publisher)",
        admin=tenant.admin_login,
        tenant_name=tenant.display_name,
        permissions=permissions,
        csrf=csrf,
        form_targets=_origins(redirect_uri),
    )


def _origins(uri: str) -> list[str]:
    found = origin(uri) if uri else None
    return [found] if found else []


def _return_targets(conn: Connection, return_to: str) -> list[str]:
    """Where the flow that `return_to` resumes may redirect the browser: the registered
    redirect URI it names, if any (the login form's CSP must allow that origin)."""
    query = parse_qs(urlsplit(return_to).query)
    client_id, redirect_uri = (query.get(k, [""])[-1] for k in ("client_id", "redirect_uri"))
    if client_id and redirect_uri and is_registered(conn, client_id.lower(), redirect_uri):
        return _origins(redirect_uri)
    return []


def login_page(
    emu: Emulator, segment: str, return_to: str, *, username: str = "", error: str | None = None
) -> Response:
    nonce = uuid.uuid4().hex
    with emu.engine.connect() as conn:
        targets = _return_targets(conn, return_to)
    response = render(
        "login.html",
        title="Sign in",
        action=f"/{segment}/login",
        return_to=return_to,
        username=username,
        error=error,
        flow=sign({"n": nonce}, emu.session_secret, SESSION_SECONDS),
        form_targets=targets,
    )
    response.set_cookie(
        LOGIN_COOKIE, nonce, max_age=SESSION_SECONDS, httponly=True, secure=True, samesite="lax"
    )
    return response


def _login_error(
    emu: Emulator, request: Request, segment: str, form: dict[str, str]
) -> tuple[Account | None, str | None]:
    """The account that signed in, or why the sign-in is refused."""
    flow = unsign(form.get("flow", ""), emu.session_secret)
    if flow is None or flow.get("n") != request.cookies.get(LOGIN_COOKIE):
        return None, "Your sign-in page expired or was opened elsewhere. Sign in again."
    username = form.get("username", "")
    try:
        with emu.engine.connect() as conn:
            account = authenticate(conn, username, form.get("password", ""))
            wanted, _ = segment_tenant(conn, segment)
    except SignInRefused as refused:
        return None, str(refused)
    if not is_multi_tenant(segment) and (wanted is None or wanted.id != account.tenant_id):
        name = wanted.display_name if wanted else segment
        return None, f"AADSTS50020: User account '{username}' does not exist in tenant '{name}'."
    return account, None


def routes(emu: Emulator) -> list[Route]:
    async def login(request: Request) -> Response:
        segment = request.path_params["tenant"]
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        return_to = form.get("return_to", "")
        if not return_to.startswith("/") or return_to.startswith("//"):
            return_to = f"/{segment}/adminconsent"  # never an open redirect
        account, error = _login_error(emu, request, segment, form)
        if account is None:
            return login_page(
                emu, segment, return_to, username=form.get("username", ""), error=error
            )
        sid = str(uuid.uuid4())
        claims = {"tid": account.tenant_id, "sid": sid}
        if account.user_id is not None:
            claims["uid"] = account.user_id
        response = RedirectResponse(with_query(return_to, {SIGNED_IN_PARAM: sid}), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            sign(claims, emu.session_secret, SESSION_SECONDS),
            httponly=True,
            secure=True,
            samesite="lax",
        )
        response.delete_cookie(LOGIN_COOKIE, httponly=True, secure=True, samesite="lax")
        return response

    return [Route("/{tenant}/login", login, methods=["POST"])]
