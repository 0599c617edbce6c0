"""Who a console page or an integration-API call acts for, and whether the request is
genuine: the one place for the session cookies, the CSRF token, the Origin check and the
parsing of bearer tokens.

Two cookies: the console session's, and a setup link's restricted session
(`directory.setup_links`), which the setup wizard's routes accept when they ask for it
(`authenticate(..., setup_links=...)`) and nothing else looks up.

A browser sends the session cookie with every request to the hub, whichever site started
it, so an unsafe request authenticated by the cookie must also carry the session's CSRF
token (which another site cannot read) and must not say it comes from another origin. A
bearer token is only ever sent by code that holds it, so token requests are not CSRF-able
and skip both checks.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from starlette.requests import Request

from ..directory.roles import Role
from ..directory.sessions import SessionInfo, Sessions
from ..directory.setup_links import SetupLinks, SetupSession
from ..directory.tokens import TokenKind, Tokens

SESSION_COOKIE = "scimhub_session"
SETUP_COOKIE = "scimhub_setup"  # a setup link's restricted session
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # RFC 9110 §9.2.1; all else may change


@dataclass(frozen=True, slots=True)
class Principal:
    """An administrator a request acts for, by a console session or an admin token."""

    org_id: str
    name: str  # what the audit trail records: the admin's email, or "token:<name>"
    role: Role
    session_hash: str | None  # the browser session's key; None for a token
    setup_link: str | None = None  # the link whose restricted session this is

    @classmethod
    def of_session(cls, session: SessionInfo) -> Principal:
        return cls(session.org_id, session.email, session.role, session.id_hash)

    @classmethod
    def of_setup(cls, session: SetupSession) -> Principal:
        """A setup link's session may change what the wizard changes (the routes that
        accept it are the whole of what it may do)."""
        return cls(session.org_id, session.name, Role.ADMIN, session.id_hash, session.link_id)

    @property
    def read_only(self) -> bool:
        return self.role.read_only


class Refusal(Enum):
    SIGNED_OUT = "no live session or usable admin token for this organisation"
    FORGED = "an unsafe request without the session's CSRF token, or from another origin"


class Refused(Exception):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


def bearer_secret(request: Request) -> str | None:
    """The secret of an `Authorization: Bearer <secret>` header, stripped (empty when only
    blanks follow the scheme), or None when the request does not use the bearer scheme."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret else None


def signed_in(request: Request, sessions: Sessions) -> SessionInfo | None:
    """The live console session behind the request's cookie."""
    return sessions.lookup(request.cookies.get(SESSION_COOKIE, ""))


def in_setup(request: Request, setup_links: SetupLinks) -> SetupSession | None:
    """The live restricted session of a setup link behind the request's cookie."""
    return setup_links.session(request.cookies.get(SETUP_COOKIE, ""))


class CsrfBound(Protocol):
    """A browser session: the CSRF token its unsafe requests must carry."""

    @property
    def csrf_token(self) -> str: ...


def tokens_match(expected: str, given: str | None) -> bool:
    return (
        bool(expected)
        and bool(given)
        and hmac.compare_digest(expected.encode(), (given or "").encode())
    )


def same_origin(request: Request, public_url: str = "") -> bool:
    """True unless the browser says the request came from another origin."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not sent by every browser on same-origin requests; the token decides
    here = f"{request.url.scheme}://{request.url.netloc}"
    return origin in (here, public_url)


def genuine(request: Request, session: CsrfBound, sent_token: str | None, public_url: str) -> bool:
    """Whether a request authenticated by the session's cookie is the session's own: safe
    methods always are; an unsafe one needs the same origin and the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return True
    return same_origin(request, public_url) and tokens_match(session.csrf_token, sent_token)


def authenticate(
    request: Request,
    *,
    tokens: Tokens,
    sessions: Sessions,
    org_id: str,
    public_url: str,
    setup_links: SetupLinks | None = None,
) -> Principal:
    """The integration API's caller: an admin token of `org_id` (scripts; a read-scoped one
    acts as a read-only administrator) or a console session of `org_id` whose unsafe
    requests carry the CSRF header (the console's JavaScript); given `setup_links` (the
    route is one of the setup wizard's), a setup link's restricted session of `org_id` on
    the same terms. Raises Refused."""
    secret = bearer_secret(request)
    if secret is not None:
        token = tokens.authenticate(secret, TokenKind.ADMIN)
        if token is None or token.org_id != org_id:
            raise Refused(Refusal.SIGNED_OUT)
        role = Role.READONLY if token.scope.read_only else Role.ADMIN
        return Principal(org_id, f"token:{token.name}", role, None)
    sent = request.headers.get(CSRF_HEADER)
    session = signed_in(request, sessions)
    if session is not None and session.org_id == org_id:
        if not genuine(request, session, sent, public_url):
            raise Refused(Refusal.FORGED)
        return Principal.of_session(session)
    restricted = in_setup(request, setup_links) if setup_links is not None else None
    if restricted is not None and restricted.org_id == org_id:
        if not genuine(request, restricted, sent, public_url):
            raise Refused(Refusal.FORGED)
        return Principal.of_setup(restricted)
    raise Refused(Refusal.SIGNED_OUT)
