"""The admin-consent endpoint: `/{tenant}/adminconsent`, and `/{tenant}/v2.0/adminconsent`
which also takes `scope` and returns it. Sign in as a tenant admin, review the app's
permissions, Accept (service principal + grants + audit records) or Cancel. The answer
goes back only to a redirect URI registered for the app; without one, a closing page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from . import aadsts, formtokens
from .apps import grant_consent
from .context import Emulator
from .pages import render
from .signin import (
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

_FIELDS = ("client_id", "redirect_uri", "state")


def _unverified() -> Response:
    return error_page("The consent request could not be verified. Start again.", 403)


def routes(emu: Emulator) -> list[Route]:
    async def show(request: Request) -> Response:
        segment = request.path_params["tenant"]
        v2 = request.url.path.endswith("/v2.0/adminconsent")
        ask = {f: request.query_params.get(f, "") for f in (*_FIELDS, "scope")}
        ask["client_id"] = ask["client_id"].lower()  # app ids are GUIDs, in any case
        try:
            with emu.engine.connect() as conn:
                tenant, app = check_client(conn, segment, ask["client_id"], ask["redirect_uri"])
            if v2 and not ask["scope"]:
                raise aadsts.missing_parameter("scope")
        except aadsts.AadstsError as err:
            return error_page(err)
        session = read_session(emu, request)
        if session is None or (tenant is not None and session.tid != tenant.id):
            return login_page(emu, segment, resume_url(request))
        if not session.is_admin:  # only an administrator consents for the organization
            return login_page(
                emu,
                segment,
                resume_url(request),
                error="Sign in with an administrator account to grant consent for your "
                "organization.",
            )
        with emu.engine.connect() as conn:
            signed_in = signed_in_tenant(conn, session)
        if not app_visible_in(app, signed_in):
            return error_page(aadsts.app_not_found(app.app_id, signed_in.display_name))
        csrf = formtokens.issue(
            emu.session_secret, session.tid, session.sid, request.url.path, {"v2": v2, **ask}
        )
        return consent_page(
            request.url.path,
            app,
            signed_in,
            permission_lines(app.required_roles),
            csrf,
            ask["redirect_uri"],
        )

    async def decide(request: Request) -> Response:
        segment = request.path_params["tenant"]
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        session = read_session(emu, request)
        if session is None or not session.is_admin:
            return _unverified()
        with emu.engine.begin() as conn:
            claims = formtokens.consume(
                conn,
                emu.session_secret,
                form.get("csrf", ""),
                session.tid,
                session.sid,
                request.url.path,
            )
        if claims is None:
            return _unverified()
        client_id, redirect_uri, state = (str(claims[f]) for f in _FIELDS)
        try:  # the app or its redirect URI may have gone since the page was shown
            with emu.engine.connect() as conn:
                _, app = check_client(conn, segment, client_id, redirect_uri)
        except aadsts.AadstsError as err:
            return error_page(err)
        if form.get("decision") != "accept":
            if not redirect_uri:
                return render(
                    "message.html",
                    title="Consent declined",
                    message="You declined the requested permissions.",
                    error=True,
                )
            return RedirectResponse(
                with_query(redirect_uri, aadsts.declined().redirect_params(state)), status_code=302
            )
        with emu.engine.begin() as conn:
            signed_in = signed_in_tenant(conn, session)
            if not app_visible_in(app, signed_in):
                return error_page(aadsts.app_not_found(client_id, signed_in.display_name))
            grant_consent(conn, signed_in, client_id)
        if not redirect_uri:
            return render(
                "message.html",
                title="Permissions granted",
                message="You can close this window.",
                error=False,
            )
        answer = {"admin_consent": "True", "tenant": signed_in.id}
        if claims["v2"]:
            answer["scope"] = str(claims["scope"])
        if state:
            answer["state"] = state
        return RedirectResponse(with_query(redirect_uri, answer), status_code=302)

    return [
        Route(path, handler, methods=[method])
        for path in ("/{tenant}/adminconsent", "/{tenant}/v2.0/adminconsent")
        for handler, method in ((show, "GET"), (decide, "POST"))
    ]
