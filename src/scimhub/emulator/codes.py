"""Authorization codes: issued by the authorize endpoint to a signed-in admin or user,
redeemed once at the token endpoint by the client they were issued to, with the same
redirect URI and (when a PKCE challenge was sent) the matching code_verifier."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Row, select

from . import aadsts
from .passwords import hash_secret
from .schema import auth_codes
from .signing import b64url

CODE_SECONDS = 600


@dataclass(frozen=True)
class AuthRequest:
    """A validated authorize request: what the code will be bound to."""

    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    state: str = ""
    nonce: str = ""
    code_challenge: str = ""
    code_challenge_method: str = ""
    prompt: str = ""
    login_hint: str = ""
    client_info: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuthRequest:
        return cls(**{**data, "scope": tuple(data["scope"])})


def client_info(oid: str, tid: str) -> str:
    """What MSAL builds its account (home_account_id `uid.utid`) from."""
    return b64url(json.dumps({"uid": oid, "utid": tid}).encode())


def issue(
    conn: Connection, req: AuthRequest, tenant_id: str, login: str, oid: str, session_id: str
) -> str:
    """A code for the account signed in (`login`, object id `oid`); the `admin_*` columns
    hold a user's identity as well as the tenant admin's."""
    code = secrets.token_urlsafe(48)
    now = time.time()
    conn.execute(auth_codes.delete().where(auth_codes.c.expires_at < now))
    conn.execute(
        auth_codes.insert().values(
            code_hash=hash_secret(code),
            client_id=req.client_id,
            tenant_id=tenant_id,
            redirect_uri=req.redirect_uri,
            scope=" ".join(req.scope),
            nonce=req.nonce or None,
            code_challenge=req.code_challenge or None,
            code_challenge_method=req.code_challenge_method or None,
            session_id=session_id,
            admin_login=login,
            admin_oid=oid,
            created_at=now,
            expires_at=now + CODE_SECONDS,
        )
    )
    return code


def _verifier_matches(grant: Row[Any], verifier: str) -> bool:
    expected = (
        b64url(hashlib.sha256(verifier.encode()).digest())
        if grant.code_challenge_method == "S256"
        else verifier
    )
    return bool(verifier) and hmac.compare_digest(expected, grant.code_challenge)


def redeem(
    conn: Connection,
    code: str,
    *,
    client_id: str,
    tenant_id: str | None,
    redirect_uri: str,
    verifier: str,
) -> Row[Any]:
    """The code's grant, now marked redeemed; or the AADSTS error Entra would send.
    `tenant_id`: the token endpoint's tenant (None for common/organizations)."""
    grant = conn.execute(
        select(auth_codes).where(auth_codes.c.code_hash == hash_secret(code))
    ).first()
    now = time.time()
    if grant is None or grant.expires_at <= now:
        raise aadsts.code_expired()
    if grant.client_id != client_id:
        raise aadsts.code_other_client()
    if tenant_id is not None and grant.tenant_id != tenant_id:
        raise aadsts.code_other_tenant()
    if grant.redeemed_at is not None:
        raise aadsts.code_redeemed()
    if grant.redirect_uri != redirect_uri:
        raise aadsts.code_redirect_mismatch()
    if grant.code_challenge and not _verifier_matches(grant, verifier):
        raise aadsts.verifier_mismatch()
    marked = conn.execute(
        auth_codes.update()
        .where(auth_codes.c.code_hash == grant.code_hash, auth_codes.c.redeemed_at.is_(None))
        .values(redeemed_at=now)
    )
    if not marked.rowcount:  # a concurrent request redeemed it first
        raise aadsts.code_redeemed()
    return grant
