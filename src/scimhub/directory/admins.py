"""Console administrators: local accounts of one organisation, with a role.

Passwords are hashed with argon2id (argon2-cffi's defaults follow RFC 9106's recommended
low-memory profile). An account belongs to its organisation: `email_ci` is unique within
an org only, and the same email may hold an account in several. Nothing here tells one
organisation about another's accounts: a duplicate is refused only within the org, and
sign-in (`check_password`) narrows the candidates to the org when the form names one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Row, func, select
from sqlalchemy.exc import IntegrityError

from ..store.engine import Database, as_utc, utcnow
from ..store.errors import is_unique_violation
from ..store.tables import admins
from .audit import Audit
from .orgs import Orgs


class Role(StrEnum):
    """What a console administrator may do; the value is what `admins.role` stores."""

    ADMIN = "admin"  # everything
    READONLY = "readonly"  # sees everything, changes nothing

    @property
    def read_only(self) -> bool:
        return self is not Role.ADMIN


MIN_PASSWORD_LENGTH = 12
# A sign-in checks its password against at most this many accounts holding the email (each
# check costs an argon2 hash); an account beyond them signs in with its org named.
MAX_CANDIDATES = 10

_hasher = PasswordHasher()
# Verifying against this when the email is unknown makes a miss cost as much as a wrong
# password, so response times do not tell which emails have accounts.
_DUMMY_HASH = _hasher.hash("scimhub-no-such-admin")


class AdminError(ValueError):
    """An account cannot be created as asked; the message says why."""


class AdminExists(AdminError):
    """The organisation has an account with this email already."""


@dataclass(frozen=True, slots=True)
class AdminInfo:
    id: str
    org_id: str
    email: str
    display_name: str
    role: Role
    created: datetime
    last_login: datetime | None


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """What a sign-in's password opened. The console answers with one of three neutral
    outcomes: signed in, "name your organization", or "email or password is not right"."""

    candidate_orgs: tuple[str, ...]  # the orgs whose account with the email was checked
    matches: tuple[AdminInfo, ...]  # the accounts the password opens
    email_shared: bool  # more than one org has an account with the email (never shown)

    @property
    def admin(self) -> AdminInfo | None:
        """The account to sign in to: there is one only when exactly one opened."""
        return self.matches[0] if len(self.matches) == 1 else None

    @property
    def needs_org(self) -> bool:
        return len(self.matches) > 1


def _info(r: Any) -> AdminInfo:
    return AdminInfo(
        r.id,
        r.org_id,
        r.email,
        r.display_name,
        Role(r.role),
        as_utc(r.created),
        as_utc(r.last_login) if r.last_login else None,
    )


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _candidate_rows(conn: Connection, email: str, org_id: str | None) -> Sequence[Row[Any]]:
    query = select(admins).where(admins.c.email_ci == normalize_email(email))
    if org_id is not None:
        query = query.where(admins.c.org_id == org_id)
    return conn.execute(query.order_by(admins.c.created, admins.c.id).limit(MAX_CANDIDATES)).all()


def _opens(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class Admins:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        org_id: str,
        email: str,
        password: str,
        role: Role | str,
        display_name: str | None = None,
        *,
        actor: str = "cli",
        tracking_id: str | None = None,
    ) -> AdminInfo:
        """Create an account (raises AdminError, or OrgNotFound for an unknown org). `role`
        may be the value a form or the CLI sent: it is checked here, where it is stored."""
        email = email.strip()
        if "@" not in email or len(email) > 320:
            raise AdminError(f"'{email}' is not an email address")
        try:
            role = Role(role)
        except ValueError:
            raise AdminError(f"role must be one of {', '.join(Role)}") from None
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AdminError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
        Orgs(self.db).get(org_id)
        now = utcnow()
        info = AdminInfo(
            str(uuid.uuid4()),
            org_id,
            email,
            (display_name or "").strip() or email.split("@")[0],
            role,
            now,
            None,
        )
        try:
            with self.db.write() as conn:
                conn.execute(
                    admins.insert().values(
                        id=info.id,
                        org_id=org_id,
                        email=email,
                        email_ci=normalize_email(email),
                        display_name=info.display_name,
                        password_hash=_hasher.hash(password),
                        role=role,
                        created=now,
                    )
                )
                Audit(self.db).record(
                    org_id,
                    actor,
                    "admin.created",
                    target=email,
                    detail={"admin_id": info.id, "role": role},
                    tracking_id=tracking_id,
                    conn=conn,
                )
        except IntegrityError as exc:
            if is_unique_violation(exc):
                # Only (org_id, email_ci) is unique, so the account named is this org's.
                raise AdminExists(
                    f"an administrator with email '{email}' already exists in this organization"
                ) from None
            raise
        return info

    def candidates(self, email: str, org_id: str | None = None) -> list[AdminInfo]:
        """The accounts a sign-in with this email may open (only `org_id`'s when the form
        names an org), in a stable order: whose audit trails record what the sign-in did."""
        with self.db.read() as conn:
            return [_info(r) for r in _candidate_rows(conn, email, org_id)]

    def check_password(self, email: str, password: str, org_id: str | None = None) -> PasswordCheck:
        """Check the password against every candidate account, and record the login when it
        opens exactly one. Every candidate is checked, a match included, and an unknown
        email costs one check of a dummy hash, so the time depends on the number of
        accounts holding the email (one with `org_id`), never on which one matched."""
        email_ci = normalize_email(email)
        with self.db.read() as conn:
            rows = _candidate_rows(conn, email, org_id)
            holders = conn.execute(
                select(func.count()).select_from(admins).where(admins.c.email_ci == email_ci)
            ).scalar_one()
        opened = [r for r in rows if _opens(r.password_hash, password)]
        if not rows:
            _opens(_DUMMY_HASH, password)
        if len(opened) == 1:
            self._record_login(opened[0].id, opened[0].password_hash, password)
        return PasswordCheck(
            tuple(r.org_id for r in rows), tuple(_info(r) for r in opened), email_shared=holders > 1
        )

    def _record_login(self, admin_id: str, password_hash: str, password: str) -> None:
        values: dict[str, Any] = {"last_login": utcnow()}
        if _hasher.check_needs_rehash(password_hash):  # parameters were raised since
            values["password_hash"] = _hasher.hash(password)
        with self.db.write() as conn:
            conn.execute(admins.update().where(admins.c.id == admin_id).values(**values))

    def list(self, org_id: str) -> list[AdminInfo]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(admins).where(admins.c.org_id == org_id).order_by(admins.c.email_ci)
            ).all()
        return [_info(r) for r in rows]
