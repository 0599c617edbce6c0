"""CSRF protection for the console's forms, beside the checks every signed-in request gets
from `api.auth` (the session's token and the same origin).

A form post carries the session's token in the `csrf_token` field, a fetch in the
`X-CSRF-Token` header. The sign-in form has no session yet, so it uses a double-submit
cookie instead: a random value in a cookie and the same value in the form; another site can
send the form but can neither read nor set the cookie.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request

from ..api.auth import CSRF_HEADER
from ..api.body_limit import read_form

FIELD = "csrf_token"
LOGIN_COOKIE = "scimhub_login_csrf"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def submitted_token(request: Request) -> str | None:
    """The token the request carries: the header, else the form field of a form post."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(_FORM_TYPES):
        value = (await read_form(request)).get(FIELD)
        return value if isinstance(value, str) else None
    return None


def login_token(request: Request) -> str:
    """The sign-in form's token: the one already in the browser's cookie, or a new one (so
    two sign-in tabs do not invalidate each other)."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
