"""The setup wizard a setup link opens (docs/operations.md, "Setup links"): for a customer's
IT admin with no hub account, one organisation's Azure AD card (set up with admin consent,
scope, mappings, the instances' status) and nothing else.

    GET  /console/setup-link/{secret}   what the link is for, and a Continue button; using
                                        it is a POST, since mail scanners open links
    POST /console/setup-link/{secret}   use the link (once): a restricted session cookie,
                                        then the wizard
    GET  /console/setup                 the wizard, for that session only
    POST /console/setup/finish          end the session

A used, expired, revoked or unknown link answers a page saying which, and what to do.
The session is a setup link's (`directory.setup_links`), never a console session: no other
console page finds it, and of the API only the integration routes marked `wizard` accept
it. Its forms carry CSRF tokens as the console's do (a double-submit cookie before there is
a session, the session's token after); the fetches of settings.js send it as the header.
"""

from __future__ import annotations

import secrets
from typing import Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..api.auth import SETUP_COOKIE, genuine, in_setup, same_origin, tokens_match
from ..api.body_limit import read_form
from ..api.services import Hub
from ..api.setup_links import SETUP_PATH
from ..api.tracking import tracking_id
from ..directory.setup_links import SESSION_LIFETIME, LinkRefused, LinkState, Visit
from .csrf import FIELD, submitted_token
from .render import page
from .routes_settings import integration_base

WIZARD = "/console/setup"
LINK_CSRF_COOKIE = "scimhub_setup_csrf"

# What each refusal tells the person holding the link: why, and that only the hub's
# operator can send another.
_REFUSED: dict[LinkState | None, tuple[int, str, str]] = {
    LinkState.USED: (
        410,
        "This setup link was already used",
        "A setup link works once. Ask whoever sent it for a new one.",
    ),
    LinkState.EXPIRED: (
        410,
        "This setup link has expired",
        "Setup links are valid for 7 days. Ask whoever sent it for a new one.",
    ),
    LinkState.REVOKED: (
        410,
        "This setup link was revoked",
        "It can no longer be used. Ask whoever sent it for a new one.",
    ),
    None: (
        404,
        "This setup link is not valid",
        "Check that the whole link was copied, or ask whoever sent it for a new one.",
    ),
}


def _visit(request: Request) -> Visit:
    return Visit(request.client.host if request.client else None, tracking_id(request.scope))


def _message(request: Request, status: int, title: str, text: str) -> Response:
    context = {"session": None, "title": title, "message": text, "status": status}
    return page(request, "setup_message.html", context, status=status)


def _refused(request: Request, state: LinkState | None) -> Response:
    status, title, text = _REFUSED[state]
    return _message(request, status, title, text)


def _ended(request: Request) -> Response:
    return _message(
        request,
        401,
        "This setup session has ended",
        "Setup sessions last 4 hours, and end when their link is revoked. Ask whoever sent "
        "the link for a new one.",
    )


async def landing(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    secret = str(request.path_params["secret"])[:128]
    try:
        link = await run_in_threadpool(hub.setup_links.inspect, secret, visit=_visit(request))
    except LinkRefused as refused:
        return _refused(request, refused.state)
    org = await run_in_threadpool(hub.orgs.get, link.org_id)
    token = request.cookies.get(LINK_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = page(
        request,
        "setup_link.html",
        {
            "session": None,
            "org_name": org.name,
            "expires_at": link.expires_at,
            "action": f"{SETUP_PATH}/{secret}",
            "csrf_token": token,
        },
    )
    _set_cookie(request, response, LINK_CSRF_COOKIE, token, 3600, SETUP_PATH, "strict")
    return response


async def use(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    secret = str(request.path_params["secret"])[:128]
    form = await read_form(request)
    if not same_origin(request, hub.settings.public_url) or not tokens_match(
        request.cookies.get(LINK_CSRF_COOKIE, ""), str(form.get(FIELD, ""))
    ):
        return _message(
            request,
            403,
            "Request refused",
            "This form has expired or came from another site. Open the setup link again.",
        )
    try:
        cookie, _ = await run_in_threadpool(hub.setup_links.redeem, secret, visit=_visit(request))
    except LinkRefused as refused:
        return _refused(request, refused.state)
    response = RedirectResponse(WIZARD, 303)
    lifetime = int(SESSION_LIFETIME.total_seconds())
    # lax, not strict: Entra's redirect back to the consent callback is a cross-site
    # navigation, and the callback must see the session that began the setup
    _set_cookie(request, response, SETUP_COOKIE, cookie, lifetime, "/", "lax")
    response.delete_cookie(LINK_CSRF_COOKIE, path=SETUP_PATH)
    return response


async def wizard(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    session = await run_in_threadpool(in_setup, request, hub.setup_links)
    if session is None:
        return _ended(request)
    org = await run_in_threadpool(hub.orgs.get, session.org_id)
    return page(
        request,
        "setup.html",
        {
            "setup": session,
            "org_name": org.name,
            "api_base": integration_base(session.org_id),
        },
    )


async def finish(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    session = await run_in_threadpool(in_setup, request, hub.setup_links)
    if session is None:
        return _ended(request)
    sent = await submitted_token(request)
    if not genuine(request, session, sent, hub.settings.public_url):
        return _message(
            request,
            403,
            "Request refused",
            "This form has expired or came from another site. Reload the page and try again.",
        )
    cookie = request.cookies.get(SETUP_COOKIE, "")
    await run_in_threadpool(lambda: hub.setup_links.end(cookie, visit=_visit(request)))
    response = _message(
        request,
        200,
        "Setup session ended",
        "Thank you. You can close this window; the link cannot be used again.",
    )
    response.delete_cookie(SETUP_COOKIE, path="/", httponly=True, samesite="lax")
    return response


def _set_cookie(
    request: Request,
    response: Response,
    name: str,
    value: str,
    max_age: int,
    path: str,
    samesite: Literal["lax", "strict"],
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite=samesite,
        secure=request.url.scheme == "https",
    )


routes = [
    Route("/setup-link/{secret}", landing, methods=["GET"]),
    Route("/setup-link/{secret}", use, methods=["POST"]),
    Route("/setup", wizard, methods=["GET"]),
    Route("/setup/finish", finish, methods=["POST"]),
]
