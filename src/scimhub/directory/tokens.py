"""Bearer tokens for SCIM clients, one organisation each.

The secret is shown once at creation; only its SHA-256 is stored. A slow KDF is not needed:
the secret is 256 random bits, so the hash cannot be brute-forced, and checking it stays
cheap on every request.

A token's kind says what it opens (SCIM, or the admin APIs), its scope whether it may
change anything there (`read` tokens are for apps that only read the directory).
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from ..store.engine import Database, as_utc, utcnow
from ..store.tables import tokens
from .errors import OrgNotFound
from .orgs import Orgs

TOKEN_PREFIX = "scimhub_"


class TokenKind(StrEnum):
    """What a token opens; the value is what `tokens.kind` stores."""

    SCIM = "scim"  # a SCIM client's (Entra's provisioning job)
    ADMIN = "admin"  # scripts calling the integration API and the /api/v1 APIs


class TokenScope(StrEnum):
    """What a token may do with what it opens; the value is what `tokens.scope` stores."""

    WRITE = "write"  # read and change (the default)
    READ = "read"  # read only: SCIM GET and searches, the events API; any write is 403

    @property
    def read_only(self) -> bool:
        return self is TokenScope.READ


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    org_id: str
    name: str
    kind: TokenKind
    prefix: str
    created: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    scope: TokenScope = TokenScope.WRITE

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(r: Any) -> TokenInfo:
    return TokenInfo(
        r.id,
        r.org_id,
        r.name,
        TokenKind(r.kind),
        r.prefix,
        as_utc(r.created),
        as_utc(r.expires_at) if r.expires_at else None,
        as_utc(r.revoked_at) if r.revoked_at else None,
        TokenScope(r.scope),
    )


class Tokens:
    def __init__(self, db: Database, *, cache_seconds: int = 0) -> None:
        self.db = db
        # Authentication runs on every request; a short cache of verified tokens saves a
        # query each time. Revocation takes effect within `cache_seconds` in every process.
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, TokenInfo | None]] = {}

    def create(
        self,
        org_id: str,
        *,
        name: str = "SCIM client",
        kind: TokenKind = TokenKind.SCIM,
        expires_in: timedelta | None = None,
        scope: TokenScope = TokenScope.WRITE,
    ) -> tuple[str, TokenInfo]:
        Orgs(self.db).get(org_id)  # raises OrgNotFound
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        info = TokenInfo(
            str(uuid.uuid4()),
            org_id,
            name,
            kind,
            secret[:16],
            now,
            now + expires_in if expires_in else None,
            None,
            TokenScope(scope),
        )
        with self.db.write() as conn:
            conn.execute(
                tokens.insert().values(
                    id=info.id,
                    org_id=org_id,
                    name=name,
                    kind=kind,
                    scope=info.scope,
                    token_hash=_hash(secret),
                    prefix=info.prefix,
                    created=now,
                    expires_at=info.expires_at,
                )
            )
        return secret, info

    def list(self, org_id: str) -> list[TokenInfo]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(tokens)
                .where(tokens.c.org_id == org_id)
                .order_by(tokens.c.created, tokens.c.id)
            ).all()
        return [_info(r) for r in rows]

    def get(self, org_id: str, token_id: str) -> TokenInfo | None:
        with self.db.read() as conn:
            row = conn.execute(
                select(tokens).where(tokens.c.id == token_id, tokens.c.org_id == org_id)
            ).first()
        return _info(row) if row else None

    def revoke(self, org_id: str, token_id: str) -> TokenInfo:
        with self.db.write() as conn:
            row = conn.execute(
                select(tokens).where(tokens.c.id == token_id, tokens.c.org_id == org_id)
            ).first()
            if row is None:
                raise OrgNotFound(f"token {token_id} not found in org {org_id}")
            if row.revoked_at is None:
                conn.execute(
                    tokens.update().where(tokens.c.id == token_id).values(revoked_at=utcnow())
                )
        self._cache.clear()
        return next(t for t in self.list(org_id) if t.id == token_id)

    def authenticate(self, secret: str, kind: TokenKind = TokenKind.SCIM) -> TokenInfo | None:
        """The usable token of this kind with this secret, or None."""
        digest = _hash(secret)
        now_mono = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now_mono:
            info = hit[1]
        else:
            with self.db.read() as conn:
                row = conn.execute(select(tokens).where(tokens.c.token_hash == digest)).first()
            info = _info(row) if row else None
            if self.cache_seconds:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (now_mono + self.cache_seconds, info)
        if info is None or info.kind != kind or not info.usable(utcnow()):
            return None
        return info
