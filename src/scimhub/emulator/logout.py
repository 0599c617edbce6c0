"""The v2.0 sign-out endpoint, `/{tenant}/oauth2/v2.0/logout`: ends the emulator's session
(its cookie), then sends the browser to `post_logout_redirect_uri` only when that is a
redirect URI registered for the app the request names (`client_id`, or the audience of a
genuine `id_token_hint`), with `state` when one was sent; otherwise a signed-out page. An
unregistered target is never followed: sign-out must not be an open redirect."""

from __future__ import annotations

import jwt
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .context import Emulator
from .pages import render
from .redirect_uris import is_registered
from .signin import SESSION_COOKIE, with_query


def _client_id(emu: Emulator, params: dict[str, str]) -> str:
    if params.get("client_id"):
        return params["client_id"].lower()
    hint = params.get("id_token_hint", "")
    if not hint:
        return ""
    try:  # only a token this emulator signed names the app; expiry does not matter here
        claims = jwt.decode(
            hint,
            emu.key.public,
            algorithms=["RS256"],
            options={"verify_aud": False, "verify_exp": False},
        )
    except jwt.PyJWTError:
        return ""
    return str(claims.get("aud", "")).lower()


def routes(emu: Emulator) -> list[Route]:
    async def logout(request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items()}
        if request.method == "POST":
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        target = params.get("post_logout_redirect_uri", "")
        client_id = _client_id(emu, params)
        with emu.engine.connect() as conn:
            allowed = bool(target and client_id) and is_registered(conn, client_id, target)
        if allowed:
            state = params.get("state")
            response: Response = RedirectResponse(
                with_query(target, {"state": state}) if state else target, status_code=302
            )
        else:
            response = render(
                "message.html",
                title="You signed out of your account",
                message="It's a good idea to close all browser windows.",
                error=False,
            )
        response.delete_cookie(SESSION_COOKIE, httponly=True, secure=True, samesite="lax")
        return response

    return [Route("/{tenant}/oauth2/v2.0/logout", logout, methods=["GET", "POST"])]
