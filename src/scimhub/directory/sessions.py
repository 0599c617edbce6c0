"""Console sessions, kept server-side, and the sign-in rate limit.

The cookie holds 256 random bits; the table keeps only their SHA-256, so a copy of the
database does not let anyone sign in (the same reasoning as `tokens.py`: the secret is
random, so a fast hash is enough). Each session carries its own CSRF token.

The rate limit lives in `login_failures` so that every API process sees the same counts.
An attempt is written *before* the password is checked and deleted when it succeeds: two
processes racing on the same account then each see the other's attempt, and at most
`max_failures` guesses get through per window however many processes serve sign-ins.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, delete, func, select

from ..store.engine import Database, as_utc, utcnow
from ..store.tables import admins, login_failures, sessions, signin_flows
from .admins import AdminInfo
from .roles import Role

DEFAULT_LIFETIME = timedelta(hours=8)
DEFAULT_MAX_FAILURES = 5
DEFAULT_WINDOW = timedelta(minutes=15)
CLIENT_FACTOR = 4  # one address may try this many times more than one account


class SignInMethod(StrEnum):
    """How a session was signed in (the value `sessions.method` stores)."""

    PASSWORD = "password"  # the sign-in form's email and password
    ENTRA = "entra"  # Sign in with Microsoft


@dataclass(frozen=True, slots=True)
class SessionInfo:
    admin_id: str
    org_id: str
    email: str
    display_name: str
    role: Role
    csrf_token: str
    expires_at: datetime
    id_hash: str  # the cookie's SHA-256: the session's key, never the cookie itself
    method: SignInMethod = SignInMethod.PASSWORD

    @property
    def read_only(self) -> bool:
        return self.role.read_only


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """A sign-in in progress: its rows in `login_failures`, until it succeeds."""

    row_ids: tuple[int, ...]
    allowed: bool


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Sessions:
    def __init__(
        self,
        db: Database,
        *,
        lifetime: timedelta = DEFAULT_LIFETIME,
        max_failures: int = DEFAULT_MAX_FAILURES,
        window: timedelta = DEFAULT_WINDOW,
    ) -> None:
        self.db = db
        self.lifetime = lifetime
        self.max_failures = max_failures
        self.window = window

    # -- sessions -----------------------------------------------------------------------

    def start(
        self, admin: AdminInfo, method: SignInMethod = SignInMethod.PASSWORD
    ) -> tuple[str, SessionInfo]:
        """A new session for the admin: the cookie value (shown once) and its info."""
        cookie = secrets.token_urlsafe(32)
        now = utcnow()
        info = SessionInfo(
            admin.id,
            admin.org_id,
            admin.email,
            admin.display_name,
            admin.role,
            secrets.token_urlsafe(32),
            now + self.lifetime,
            _hash(cookie),
            method,
        )
        with self.db.write() as conn:
            # Expired sessions are swept here, where sessions are made, so the table stays
            # the size of the signed-in population without a separate job.
            conn.execute(delete(sessions).where(sessions.c.expires_at <= now))
            conn.execute(
                sessions.insert().values(
                    id_hash=info.id_hash,
                    admin_id=admin.id,
                    org_id=admin.org_id,
                    csrf_token=info.csrf_token,
                    created=now,
                    expires_at=info.expires_at,
                    method=method,
                )
            )
        return cookie, info

    def lookup(self, cookie_value: str) -> SessionInfo | None:
        """The live session for a cookie value, or None (unknown, expired, admin gone)."""
        if not cookie_value:
            return None
        s, a = sessions, admins
        id_hash = _hash(cookie_value)
        with self.db.read() as conn:
            row = conn.execute(
                select(
                    s.c.admin_id,
                    s.c.org_id,
                    s.c.csrf_token,
                    s.c.expires_at,
                    s.c.method,
                    a.c.email,
                    a.c.display_name,
                    a.c.role,
                )
                .join(a, a.c.id == s.c.admin_id)
                .where(s.c.id_hash == id_hash)
            ).first()
        if row is None or as_utc(row.expires_at) <= utcnow():
            return None
        return SessionInfo(
            row.admin_id,
            row.org_id,
            row.email,
            row.display_name,
            Role(row.role),
            row.csrf_token,
            as_utc(row.expires_at),
            id_hash,
            SignInMethod(row.method),
        )

    def end(self, cookie_value: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(sessions).where(sessions.c.id_hash == _hash(cookie_value)))

    def end_password_sessions(self, org_id: str) -> int:
        """End the org's sessions signed in with a password (its passwords were switched
        off: a password must not keep working for the hours a session lasts)."""
        with self.db.write() as conn:
            return int(
                conn.execute(
                    delete(sessions).where(
                        sessions.c.org_id == org_id, sessions.c.method == SignInMethod.PASSWORD
                    )
                ).rowcount
            )

    def prune(self, now: datetime) -> int:
        """Sweep expired sessions, sign-in failures older than the window and expired
        sign-ins with Entra (each is also swept where it is written; this catches quiet
        periods)."""
        with self.db.write() as conn:
            n = conn.execute(delete(sessions).where(sessions.c.expires_at <= now)).rowcount
            n += conn.execute(
                delete(login_failures).where(login_failures.c.time < now - self.window)
            ).rowcount
            n += conn.execute(delete(signin_flows).where(signin_flows.c.expires_at < now)).rowcount
        return int(n)

    # -- sign-in rate limit ----------------------------------------------------------

    def begin_attempt(self, account_key: str, client_key: str | None) -> LoginAttempt:
        """Count a sign-in attempt against the account and the client address. `allowed`
        is False when either reached its limit in the window. The client's limit is
        higher: many people may share one address. A refused attempt counts too, so an
        account under attack stays locked until the guessing stops for a whole window."""
        limits = {account_key[:400]: self.max_failures}
        if client_key:
            limits[client_key[:400]] = self.max_failures * CLIENT_FACTOR
        now = utcnow()
        ids: list[int] = []
        with self.db.write() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.time < now - self.window))
            for key in limits:
                result = conn.execute(login_failures.insert().values(key=key, time=now))
                row_id = result.inserted_primary_key
                assert row_id is not None  # a single-row INSERT always has its key
                ids.append(int(row_id[0]))
        # Counted after the insert committed, so concurrent attempts see each other.
        allowed = True
        with self.db.read() as conn:
            for key, limit in limits.items():
                count = conn.execute(
                    select(func.count())
                    .select_from(login_failures)
                    .where(login_failures.c.key == key, login_failures.c.time >= now - self.window)
                ).scalar_one()
                allowed = allowed and count <= limit
        return LoginAttempt(tuple(ids), allowed)

    def attempt_succeeded(self, attempt: LoginAttempt, account_key: str | None) -> None:
        """Forget this attempt and, given `account_key`, its earlier failures: the owner is
        back. Without it only this attempt goes: a key several accounts share (an email held
        in several orgs) must not be cleared by signing in to one of them."""
        forget: ColumnElement[bool] = login_failures.c.id.in_(attempt.row_ids)
        if account_key is not None:
            forget = forget | (login_failures.c.key == account_key[:400])
        with self.db.write() as conn:
            conn.execute(delete(login_failures).where(forget))
