"""Bearer tokens: for SCIM clients and an organisation's admin APIs, one organisation each,
and for the platform operator, who manages organisations and belongs to none.

The secret is shown once at creation; only its SHA-256 is stored. A slow KDF is not needed:
the secret is 256 random bits, so the hash cannot be brute-forced, and checking it stays
cheap on every request.

A token's kind says what it opens (SCIM, an organisation's admin APIs, or the operator's
`/api/v1/orgs`), its scope whether it may change anything there (`read` tokens are for apps
that only read the directory). A kind opens nothing another kind opens: `authenticate` is
always asked for one kind.

Creating and revoking a token is audited when the caller says who asks (`actor`): in the
organisation's trail, or the platform's (`org_id` NULL) for operator tokens.
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

from sqlalchemy import ColumnElement, Connection, select

from ..store.engine import Database, as_utc, utcnow
from ..store.tables import tokens
from .actor import Actor
from .audit import Audit
from .errors import OrgNotFound
from .orgs import Orgs

TOKEN_PREFIX = "scimhub_"


class TokenKind(StrEnum):
    """What a token opens; the value is what `tokens.kind` stores."""

    SCIM = "scim"  # a SCIM client's (Entra's provisioning job)
    ADMIN = "admin"  # scripts calling the integration API and the /api/v1 APIs
    OPERATOR = "operator"  # the platform operator: /api/v1/orgs, no organisation's own APIs


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
    org_id: str | None  # None for an operator token
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
        actor: Actor | None = None,
    ) -> tuple[str, TokenInfo]:
        """A token of the organisation (raises OrgNotFound): the secret, shown once, and
        its info."""
        if kind is TokenKind.OPERATOR:
            raise ValueError("an operator token belongs to no organisation: create_operator")
        Orgs(self.db).get(org_id)  # raises OrgNotFound
        return self._create(org_id, name, kind, expires_in, TokenScope(scope), actor)

    def create_operator(
        self,
        *,
        name: str = "operator",
        expires_in: timedelta | None = None,
        scope: TokenScope = TokenScope.WRITE,
        actor: Actor | None = None,
    ) -> tuple[str, TokenInfo]:
        """A platform operator's token (`scimhub token create --operator`)."""
        return self._create(None, name, TokenKind.OPERATOR, expires_in, TokenScope(scope), actor)

    def _create(
        self,
        org_id: str | None,
        name: str,
        kind: TokenKind,
        expires_in: timedelta | None,
        scope: TokenScope,
        actor: Actor | None,
    ) -> tuple[str, TokenInfo]:
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
            scope,
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
            if actor is not None:
                self._audit(conn, info, actor, "token.created")
        return secret, info

    def list_operator(self) -> list[TokenInfo]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(tokens)
                .where(tokens.c.org_id.is_(None))
                .order_by(tokens.c.created, tokens.c.id)
            ).all()
        return [_info(r) for r in rows]

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

    def revoke(self, org_id: str, token_id: str, *, actor: Actor | None = None) -> TokenInfo:
        """Revoke one of the organisation's tokens (raises OrgNotFound for a token that is
        not the organisation's). Revoking twice changes nothing."""
        return self._revoke(tokens.c.org_id == org_id, token_id, actor, f"in org {org_id}")

    def revoke_operator(self, token_id: str, *, actor: Actor | None = None) -> TokenInfo:
        return self._revoke(tokens.c.org_id.is_(None), token_id, actor, "among operator tokens")

    def _revoke(
        self, owner: ColumnElement[bool], token_id: str, actor: Actor | None, where: str
    ) -> TokenInfo:
        with self.db.write() as conn:
            row = conn.execute(select(tokens).where(tokens.c.id == token_id, owner)).first()
            if row is None:
                raise OrgNotFound(f"token {token_id} not found {where}")
            if row.revoked_at is None:
                conn.execute(
                    tokens.update().where(tokens.c.id == token_id).values(revoked_at=utcnow())
                )
                if actor is not None:
                    self._audit(conn, _info(row), actor, "token.revoked")
            revoked = _info(conn.execute(select(tokens).where(tokens.c.id == token_id)).one())
        self._cache.clear()
        return revoked

    def _audit(self, conn: Connection, info: TokenInfo, actor: Actor, action: str) -> None:
        Audit(self.db).record(
            info.org_id,
            actor.name,
            action,
            target=info.name,
            detail={"token_id": info.id, "kind": info.kind, "scope": info.scope},
            tracking_id=actor.tracking_id,
            conn=conn,
        )

    def forget_cached(self) -> None:
        """Drop this process's verified tokens (after an organisation's were deleted); other
        processes drop theirs within `cache_seconds`."""
        self._cache.clear()

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
