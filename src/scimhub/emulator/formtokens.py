"""Consent-form tokens: signed with the session secret, bound to the sign-in session, and
single use: a token's id is recorded when the form is submitted, so a replayed POST
grants nothing. Ids are kept only until the token would have expired anyway."""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects.sqlite import insert

from .schema import used_form_tokens
from .signing import sign, unsign

FORM_TOKEN_SECONDS = 900


def issue(secret: bytes, tid: str, sid: str, action: str, payload: dict[str, Any]) -> str:
    """A token for the form posting to `action` (a path) on behalf of session `sid`."""
    return sign(
        {**payload, "jti": secrets.token_urlsafe(16), "tid": tid, "sid": sid, "action": action},
        secret,
        FORM_TOKEN_SECONDS,
    )


def consume(
    conn: Connection, secret: bytes, token: str, tid: str, sid: str, action: str
) -> dict[str, Any] | None:
    """The payload of an authentic, unexpired token issued to this session for this form
    and never submitted before (it is marked submitted now); otherwise None."""
    claims = unsign(token, secret) if token else None
    if (
        claims is None
        or claims.get("jti") is None
        or (claims.get("tid"), claims.get("sid"), claims.get("action")) != (tid, sid, action)
    ):
        return None
    conn.execute(used_form_tokens.delete().where(used_form_tokens.c.expires_at < time.time()))
    recorded = conn.execute(
        insert(used_form_tokens)
        .values(jti=claims["jti"], expires_at=claims["exp"])
        .on_conflict_do_nothing()
    )
    return claims if recorded.rowcount else None
