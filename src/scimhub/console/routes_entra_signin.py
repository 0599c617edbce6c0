"""Sign in with Microsoft (`integrations/entra/admin_signin.py` does the work): start the
sign-in for an organisation, take Entra's answer, and the page Entra's sign-out comes back
to.

Starting is a GET (a link on the login page): it only sends the browser to Entra, and the
worst another site can do with it is sign a person in as themselves. What binds the answer
to this browser is a random cookie set on the way out (`scimhub_entra_flow`, HttpOnly,
SameSite=Lax so it comes back on Entra's top-level redirect, path limited to these routes);
the flow is found by the state and accepted only with that cookie."""

from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..api.auth import signed_in
from ..api.scim_endpoint import base_url
from ..api.services import Hub
from ..api.tracking import tracking_id
from ..directory.sessions import SignInMethod
from ..integrations.entra.admin_signin import SignInRefused
from .auth import LOGIN_PATH
from .routes_signin import ENTRA_PATH, login_form, safe_next, start_session
from .signin_explained import explain

FLOW_COOKIE = "scimhub_entra_flow"
CALLBACK = f"{ENTRA_PATH}/callback"
SIGNED_OUT = f"{ENTRA_PATH}/signed-out"


def _refused(request: Request, refused: SignInRefused, org: str | None) -> Response:
    hub: Hub = request.app.state.hub
    explanation = explain(refused, callback=f"{base_url(request, hub)}{CALLBACK}")
    return login_form(
        request, org=refused.org_id or org, status=explanation.status, explanation=explanation
    )


async def begin(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    target = safe_next(request.query_params.get("next"))
    if signed_in(request, hub.sessions) is not None:
        return RedirectResponse(target, 303)
    org = request.query_params.get("org", "").strip()[:64] or None
    if org is None:  # the page asks which organization first
        return login_form(request, ask_org=True, next_path=target)
    browser = request.cookies.get(FLOW_COOKIE) or secrets.token_urlsafe(32)
    try:
        url = await run_in_threadpool(  # MSAL may read the tenant's metadata
            lambda: hub.entra.admin_signin.begin(
                org,
                browser=browser,
                redirect_uri=f"{base_url(request, hub)}{CALLBACK}",
                next_path=target,
                other_account=request.query_params.get("account") == "other",
            )
        )
    except SignInRefused as refused:
        return _refused(request, refused, org)
    response = RedirectResponse(url, 303)
    response.set_cookie(
        FLOW_COOKIE,
        browser,
        max_age=600,
        path=ENTRA_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


async def callback(request: Request) -> Response:
    """Entra's redirect: the code and the state in the query, this browser's cookie."""
    hub: Hub = request.app.state.hub
    query = dict(request.query_params)
    try:
        done = await run_in_threadpool(
            lambda: hub.entra.admin_signin.finish(
                query,
                browser=request.cookies.get(FLOW_COOKIE, ""),
                tracking_id=tracking_id(request.scope),
            )
        )
    except SignInRefused as refused:
        return _refused(request, refused, None)
    response = start_session(request, hub, done.admin, SignInMethod.ENTRA, done.next_path)
    response.delete_cookie(FLOW_COOKIE, path=ENTRA_PATH)
    return response


async def signed_out(request: Request) -> Response:
    """Where Entra's sign-out sends the browser back (a registered redirect URI)."""
    return RedirectResponse(f"{LOGIN_PATH}?signed_out=1", 303)


routes = [
    Route("/login/entra", begin, methods=["GET"]),
    Route("/login/entra/callback", callback, methods=["GET"]),
    Route("/login/entra/signed-out", signed_out, methods=["GET"]),
]
