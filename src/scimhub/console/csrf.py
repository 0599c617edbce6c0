"""CSRF protection for the console.

Signed-in requests: every unsafe request carries the session's token, in the `X-CSRF-Token`
header (fetch) or the `csrf_token` form field, and a cross-site `Origin` is refused outright.
The sign-in form has no session yet, so it uses a double-submit cookie instead: a random
value in a cookie and the same value in the form; another site can send the form but can
neither read nor set the cookie.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

from ..api.body_limit import read_form

HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
LOGIN_COOKIE = "scimhub_login_csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def tokens_match(expected: str, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(
        expected.encode(), (given or "").encode())


def same_origin(request: Request, public_url: str = "") -> bool:
    """True unless the browser says the request came from another origin."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not sent by every browser on same-origin requests; the token decides
    here = f"{request.url.scheme}://{request.url.netloc}"
    return origin in (here, public_url)


async def submitted_token(request: Request) -> str | None:
    """The token the request carries: the header, else the form field of a form post."""
    header = request.headers.get(HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(_FORM_TYPES):
        value = (await read_form(request)).get(FIELD)
        return value if isinstance(value, str) else None
    return None


async def request_is_genuine(request: Request, expected: str, public_url: str = "") -> bool:
    """Safe methods always pass; unsafe ones need the same origin and the right token."""
    if request.method not in UNSAFE_METHODS:
        return True
    return same_origin(request, public_url) and tokens_match(
        expected, await submitted_token(request))


def login_token(request: Request) -> str:
    """The sign-in form's token: the one already in the browser's cookie, or a new one (so
    two sign-in tabs do not invalidate each other)."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
