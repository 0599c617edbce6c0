"""The admin-consent page: sign in as a tenant admin, review the app's permissions,
Accept (service principal + grants + audit records) or Cancel, then back to the app."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .apps import find_app, grant_consent
from .context import Emulator
from .directory import find_tenant
from .pages import render
from .passwords import check_password
from .schema import tenants
from .signing import sign, unsign

SESSION_COOKIE = "emu_admin_session"
_MULTI_TENANT_SEGMENTS = {"common", "organizations"}
_ROLE_TEXT = {
    "Application.ReadWrite.OwnedBy": "Manage apps that this app creates or owns",
    "AuditLog.Read.All": "Read all audit log data",
    "Group.Read.All": "Read all groups",
    "GroupMember.Read.All": "Read all group memberships",
    "User.Read.All": "Read all users' full profiles",
}


def _valid_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _with_query(uri: str, params: dict[str, str]) -> str:
    return f"{uri}{'&' if urlsplit(uri).query else '?'}{urlencode(params)}"


def _error_page(message: str, status: int = 400) -> Response:
    return render("message.html", status=status, title="Sorry, but we're having trouble "
                  "signing you in.", message=message, error=True)


def routes(emu: Emulator) -> list[Route]:
    def session(request: Request) -> dict[str, Any] | None:
        token = request.cookies.get(SESSION_COOKIE)
        return unsign(token, emu.session_secret) if token else None

    def validate(segment: str, client_id: str, redirect_uri: str
                 ) -> tuple[Any, Any, Response | None]:
        with emu.engine.connect() as conn:
            tenant = None
            if segment.lower() not in _MULTI_TENANT_SEGMENTS:
                tenant = find_tenant(conn, segment)
                if tenant is None:
                    return None, None, _error_page(f"AADSTS90002: Tenant '{segment}' not found.")
            app = find_app(conn, client_id) if client_id else None
        if app is None:
            return None, None, _error_page(
                f"AADSTS700016: Application with identifier '{client_id}' was not found.")
        if redirect_uri and not _valid_redirect(redirect_uri):
            return None, None, _error_page(
                "AADSTS50011: The redirect URI specified in the request does not match the "
                "redirect URIs configured for the application.")
        return tenant, app, None

    async def adminconsent(request: Request) -> Response:
        segment = request.path_params["tenant"]
        q = request.query_params
        client_id, redirect_uri, state = (q.get("client_id", ""), q.get("redirect_uri", ""),
                                          q.get("state", ""))
        tenant, app, error = validate(segment, client_id, redirect_uri)
        if error is not None:
            return error
        sess = session(request)
        if sess is None or (tenant is not None and sess["tid"] != tenant.id):
            return render("login.html", title="Sign in", action=f"/{segment}/login",
                          return_to=str(request.url.path) + "?" + request.url.query,
                          username="", error=None)
        with emu.engine.connect() as conn:
            signed_in = conn.execute(select(tenants).where(tenants.c.id == sess["tid"])).one()
        csrf = sign({"sid": sess["sid"], "tid": signed_in.id, "client_id": client_id,
                     "redirect_uri": redirect_uri, "state": state}, emu.session_secret, 900)
        return render(
            "consent.html", title="Permissions requested", action=f"/{segment}/adminconsent",
            app_name=app.display_name, publisher="scimhub (verified publisher)",
            admin=signed_in.admin_login, tenant_name=signed_in.display_name,
            roles=[_ROLE_TEXT.get(r, r) for r in app.required_roles],
            csrf=csrf, client_id=client_id, redirect_uri=redirect_uri, state=state,
        )

    async def login(request: Request) -> Response:
        segment = request.path_params["tenant"]
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        return_to = str(form.get("return_to", ""))
        if not return_to.startswith("/") or return_to.startswith("//"):
            return_to = f"/{segment}/adminconsent"  # never an open redirect
        with emu.engine.connect() as conn:
            row = conn.execute(select(tenants).where(tenants.c.admin_login == username)).first()
            wanted = (None if segment.lower() in _MULTI_TENANT_SEGMENTS
                      else find_tenant(conn, segment))
        error = None
        if row is None or not check_password(password, row.admin_password_hash):
            error = "Your account or password is incorrect."
        elif wanted is not None and wanted.id != row.id:
            error = (f"AADSTS50020: User account '{username}' does not exist in tenant "
                     f"'{wanted.display_name}'.")
        if error or row is None:
            return render("login.html", status=200, title="Sign in", action=f"/{segment}/login",
                          return_to=return_to, username=username, error=error)
        response = RedirectResponse(return_to, status_code=303)
        token = sign({"tid": row.id, "sid": secrets.token_hex(8)}, emu.session_secret, 3600)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, secure=True, samesite="lax")
        return response

    async def decide(request: Request) -> Response:
        segment = request.path_params["tenant"]
        form = {k: str(v) for k, v in (await request.form()).items()}
        sess = session(request)
        claims = unsign(form.get("csrf", ""), emu.session_secret)
        fields = ("client_id", "redirect_uri", "state")
        if (sess is None or claims is None or claims["sid"] != sess["sid"]
                or claims["tid"] != sess["tid"]
                or any(claims[f] != form.get(f, "") for f in fields)):
            return _error_page("The consent request could not be verified. Start again.", 403)
        client_id, redirect_uri, state = (claims[f] for f in fields)
        _, _, error = validate(segment, client_id, redirect_uri)
        if error is not None:
            return error
        if form.get("decision") != "accept":
            if not redirect_uri:
                return render("message.html", title="Consent declined",
                              message="You declined the requested permissions.", error=True)
            return RedirectResponse(_with_query(redirect_uri, {
                "error": "access_denied", "error_subcode": "cancel",
                "error_description": "AADSTS65004: User declined to consent to access the app.",
                "state": state}), status_code=302)
        with emu.engine.begin() as conn:
            signed_in = conn.execute(select(tenants).where(tenants.c.id == sess["tid"])).one()
            grant_consent(conn, signed_in, client_id)
        if not redirect_uri:
            return render("message.html", title="Permissions granted",
                          message="You can close this window.", error=False)
        return RedirectResponse(_with_query(redirect_uri, {
            "admin_consent": "True", "tenant": signed_in.id, "state": state}), status_code=302)

    return [
        Route("/{tenant}/adminconsent", adminconsent, methods=["GET"]),
        Route("/{tenant}/adminconsent", decide, methods=["POST"]),
        Route("/{tenant}/login", login, methods=["POST"]),
    ]
