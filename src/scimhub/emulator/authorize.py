"""The v2.0 authorize endpoint (OpenID Connect authorization code flow with PKCE): sign in
as a tenant admin or a directory user; an admin consents when asked to or when the app
lacks consent in their tenant (an admin's consent is tenant-wide, application permissions
included, as on the admin-consent page), a user cannot (the app needs an admin's consent
first); an enterprise app that requires assignment refuses whoever is not assigned
(AADSTS50105); then a single-use code back to a registered redirect URI."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Row
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from . import aadsts, codes, formtokens
from .accounts import Account, session_account
from .app_roles import entitlement, requires_assignment
from .apps import find_sp, grant_consent, sp_roles
from .codes import AuthRequest
from .constants import GRAPH_APP_ID, GRAPH_AUDIENCE
from .context import Emulator
from .signin import (
    SIGNED_IN_PARAM,
    Session,
    app_visible_in,
    check_client,
    consent_page,
    error_page,
    login_page,
    permission_lines,
    read_session,
    resume_url,
    signed_in_tenant,
    with_query,
)

_OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
_GRAPH_SCOPES = {
    f"{GRAPH_AUDIENCE}/.default",
    f"{GRAPH_APP_ID}/.default",
    "User.Read",
    f"{GRAPH_AUDIENCE}/User.Read",
}
_PROMPTS = {"", "login", "consent", "select_account", "none"}
_PKCE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


def _scopes(raw: str) -> tuple[str, ...]:
    scopes = tuple(dict.fromkeys(raw.split()))
    if not scopes:
        raise aadsts.missing_parameter("scope")
    for scope in scopes:
        if scope not in _OIDC_SCOPES and scope not in _GRAPH_SCOPES:
            raise aadsts.invalid_scope(scope)
    return scopes


def _pkce(q: QueryParams) -> tuple[str, str]:
    challenge, method = q.get("code_challenge", ""), q.get("code_challenge_method", "")
    if not challenge:
        if method:
            raise aadsts.malformed("code_challenge_method was sent without code_challenge.")
        return "", ""
    method = method or "plain"  # RFC 7636 default, which Entra accepts
    if method not in ("S256", "plain"):
        raise aadsts.malformed(f"Unsupported code_challenge_method '{method}'.")
    if not _PKCE.match(challenge):
        raise aadsts.malformed("The code_challenge is not 43 to 128 unreserved characters.")
    return challenge, method


def _parse(q: QueryParams, client_id: str, redirect_uri: str) -> AuthRequest:
    """The request's remaining parameters; errors here go back to the redirect URI."""
    response_type = q.get("response_type", "")
    if response_type != "code":
        raise (
            aadsts.missing_parameter("response_type")
            if not response_type
            else aadsts.bad_response_type(response_type)
        )
    prompt = q.get("prompt", "")
    if prompt not in _PROMPTS:
        raise aadsts.malformed(f"Invalid prompt value '{prompt}'.")
    challenge, method = _pkce(q)
    return AuthRequest(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=_scopes(q.get("scope", "")),
        state=q.get("state", ""),
        nonce=q.get("nonce", ""),
        code_challenge=challenge,
        code_challenge_method=method,
        prompt=prompt,
        login_hint=q.get("login_hint", ""),
        client_info=q.get("client_info") == "1",
    )


def _shown(scopes: tuple[str, ...]) -> list[str]:
    """Scopes as the consent page names them: any Graph scope here means User.Read."""
    return ["User.Read" if s in _GRAPH_SCOPES else s for s in scopes]


def _to_app(redirect_uri: str, params: dict[str, str]) -> Response:
    return RedirectResponse(with_query(redirect_uri, params), status_code=302)


def _error_to_app(req: AuthRequest, err: aadsts.AadstsError) -> Response:
    return _to_app(req.redirect_uri, err.redirect_params(req.state))


def _checked(
    emu: Emulator, request: Request
) -> tuple[Row[Any] | None, Row[Any], AuthRequest] | Response:
    """The segment's tenant, the app and the request; or the error page (nothing to
    trust as a redirect URI yet) or error redirect (an app's registered URI)."""
    segment, q = request.path_params["tenant"], request.query_params
    client_id, redirect_uri = q.get("client_id", "").lower(), q.get("redirect_uri", "")
    try:
        with emu.engine.connect() as conn:
            tenant, app = check_client(conn, segment, client_id, redirect_uri)
        if not redirect_uri:
            raise aadsts.missing_parameter("redirect_uri")
    except aadsts.AadstsError as err:
        return error_page(err)
    if q.get("response_mode", "query") != "query":
        return error_page(
            "The emulator answers with response_mode=query only; "
            f"'{q['response_mode']}' is not supported."
        )
    try:
        return tenant, app, _parse(q, client_id, redirect_uri)
    except aadsts.AadstsError as err:
        return _to_app(redirect_uri, err.redirect_params(q.get("state", "")))


def _needs_sign_in(
    req: AuthRequest, tenant: Row[Any] | None, account: Account, fresh: bool
) -> bool:
    """The session is in another tenant than the one asked for, or (unless the account has
    just signed in) prompt=login/select_account or a login_hint naming someone else."""
    if tenant is not None and tenant.id != account.tenant_id:
        return True
    hinted_other = bool(req.login_hint) and req.login_hint.lower() != account.login.lower()
    return not fresh and (req.prompt in ("login", "select_account") or hinted_other)


def _has_consent(emu: Emulator, app: Row[Any], tenant: Row[Any]) -> bool:
    """A service principal in the tenant holding every app role the app requires."""
    with emu.engine.connect() as conn:
        sp = find_sp(conn, tenant.id, app.app_id)
        return sp is not None and set(app.required_roles) <= set(sp_roles(conn, sp.id))


def _issue_code(
    emu: Emulator, req: AuthRequest, app: Row[Any], account: Account, session: Session
) -> Response:
    with emu.engine.begin() as conn:
        sp = find_sp(conn, account.tenant_id, app.app_id)
        if sp is None:  # deleted by another admin since the consent check
            return _error_to_app(
                req, aadsts.no_consent(app.app_id, app.display_name, "consent_required")
            )
        if app.disabled or not sp.account_enabled:
            return _error_to_app(req, aadsts.app_disabled(app.app_id, app.display_name))
        # Admins are not exempt: the tenant admin has no user object, so no assignment.
        if (
            requires_assignment(conn, sp.id)
            and not entitlement(conn, app.app_id, sp.id, account.oid).assigned
        ):
            return _error_to_app(
                req, aadsts.not_assigned(app.app_id, app.display_name, account.login)
            )
        code = codes.issue(conn, req, account.tenant_id, account.login, account.oid, session.sid)
    params = {"code": code}
    if req.client_info:
        params["client_info"] = codes.client_info(account.oid, account.tenant_id)
    if req.state:
        params["state"] = req.state
    params["session_state"] = session.sid
    return _to_app(req.redirect_uri, params)


def _consent_or_code(
    emu: Emulator,
    segment: str,
    req: AuthRequest,
    app: Row[Any],
    account: Account,
    session: Session,
) -> Response:
    """For a signed-in admin: the consent page when asked for or missing, else a code. A
    user gets a code once an admin consented (there is no user consent), else 65001."""
    with emu.engine.connect() as conn:
        tenant = signed_in_tenant(conn, session)
    if not app_visible_in(app, tenant):
        return error_page(aadsts.app_not_found(app.app_id, tenant.display_name))
    consented = _has_consent(emu, app, tenant)
    if not account.is_admin:
        if not consented:
            return _error_to_app(
                req, aadsts.no_consent(app.app_id, app.display_name, "consent_required")
            )
        return _issue_code(emu, req, app, account, session)
    if req.prompt != "consent" and consented:
        return _issue_code(emu, req, app, account, session)
    if req.prompt == "none":
        return _error_to_app(
            req, aadsts.no_consent(app.app_id, app.display_name, "consent_required")
        )
    action = f"/{segment}/oauth2/v2.0/consent"
    csrf = formtokens.issue(
        emu.session_secret, session.tid, session.sid, action, {"request": req.to_json()}
    )
    return consent_page(
        action,
        app,
        tenant,
        permission_lines(app.required_roles, _shown(req.scope)),
        csrf,
        req.redirect_uri,
    )


def routes(emu: Emulator) -> list[Route]:
    async def authorize(request: Request) -> Response:
        checked = _checked(emu, request)
        if isinstance(checked, Response):
            return checked
        tenant, app, req = checked
        session = read_session(emu, request)
        with emu.engine.connect() as conn:
            account = session_account(conn, session.tid, session.uid) if session else None
        fresh = session is not None and request.query_params.get(SIGNED_IN_PARAM) == session.sid
        if session is None or account is None or _needs_sign_in(req, tenant, account, fresh):
            if req.prompt == "none":
                return _error_to_app(req, aadsts.login_required())
            return login_page(
                emu, request.path_params["tenant"], resume_url(request), username=req.login_hint
            )
        return _consent_or_code(emu, request.path_params["tenant"], req, app, account, session)

    async def decide(request: Request) -> Response:
        segment = request.path_params["tenant"]
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        session = read_session(emu, request)
        claims = None
        if session is not None:
            with emu.engine.begin() as conn:
                claims = formtokens.consume(
                    conn,
                    emu.session_secret,
                    form.get("csrf", ""),
                    session.tid,
                    session.sid,
                    request.url.path,
                )
        if session is None or not session.is_admin or claims is None:
            return error_page("The consent request could not be verified. Start again.", 403)
        req = AuthRequest.from_json(claims["request"])
        try:  # the app or its redirect URI may have gone since the page was shown
            with emu.engine.connect() as conn:
                _, app = check_client(conn, segment, req.client_id, req.redirect_uri)
        except aadsts.AadstsError as err:
            return error_page(err)
        if form.get("decision") != "accept":
            return _error_to_app(req, aadsts.declined())
        with emu.engine.begin() as conn:
            signed_in = signed_in_tenant(conn, session)
            grant_consent(conn, signed_in, req.client_id)
            account = session_account(conn, session.tid, None)
        assert account is not None  # the admin of the tenant just read
        return _issue_code(emu, req, app, account, session)

    return [
        Route("/{tenant}/oauth2/v2.0/authorize", authorize, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/consent", decide, methods=["POST"]),
    ]
