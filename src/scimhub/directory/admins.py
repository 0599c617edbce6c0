"""Console administrators: local accounts of one organisation, with a role.

Passwords are hashed with argon2id (argon2-cffi's defaults follow RFC 9106's recommended
low-memory profile). An email signs in to exactly one organisation, so `email_ci` is
unique across the hub: the sign-in form asks for no organisation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..store.engine import Database, as_utc, utcnow
from ..store.errors import is_unique_violation
from ..store.tables import admins
from .audit import Audit
from .orgs import Orgs

ROLES = ("admin", "readonly")
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()
# Verifying against this when the email is unknown makes a miss cost as much as a wrong
# password, so response times do not tell which emails have accounts.
_DUMMY_HASH = _hasher.hash("scimhub-no-such-admin")


class AdminError(ValueError):
    """An account cannot be created as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class AdminInfo:
    id: str
    org_id: str
    email: str
    display_name: str
    role: str
    created: datetime
    last_login: datetime | None


def _info(r: Any) -> AdminInfo:
    return AdminInfo(r.id, r.org_id, r.email, r.display_name, r.role, as_utc(r.created),
                     as_utc(r.last_login) if r.last_login else None)


def normalize_email(email: str) -> str:
    return email.strip().lower()


class Admins:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, org_id: str, email: str, password: str, role: str,
               display_name: str | None = None, *, actor: str = "cli",
               tracking_id: str | None = None) -> AdminInfo:
        """Create an account (raises AdminError, or OrgNotFound for an unknown org)."""
        email = email.strip()
        if "@" not in email or len(email) > 320:
            raise AdminError(f"'{email}' is not an email address")
        if role not in ROLES:
            raise AdminError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AdminError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
        Orgs(self.db).get(org_id)
        now = utcnow()
        info = AdminInfo(str(uuid.uuid4()), org_id, email,
                         (display_name or "").strip() or email.split("@")[0], role, now, None)
        try:
            with self.db.write() as conn:
                conn.execute(admins.insert().values(
                    id=info.id, org_id=org_id, email=email, email_ci=normalize_email(email),
                    display_name=info.display_name, password_hash=_hasher.hash(password),
                    role=role, created=now))
                Audit(self.db).record(org_id, actor, "admin.created", target=email,
                                      detail={"admin_id": info.id, "role": role},
                                      tracking_id=tracking_id, conn=conn)
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise AdminError(f"an administrator with email '{email}' already exists"
                                 ) from None
            raise
        return info

    def verify(self, email: str, password: str) -> AdminInfo | None:
        """The account if the password is right, else None; records the login time."""
        with self.db.read() as conn:
            row = conn.execute(select(admins).where(
                admins.c.email_ci == normalize_email(email))).first()
        try:
            _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        values: dict[str, Any] = {"last_login": utcnow()}
        if _hasher.check_needs_rehash(row.password_hash):  # parameters were raised since
            values["password_hash"] = _hasher.hash(password)
        with self.db.write() as conn:
            conn.execute(admins.update().where(admins.c.id == row.id).values(**values))
        return _info(row)

    def find(self, email: str) -> AdminInfo | None:
        """The account with this email, whatever its organisation (for the audit trail of
        failed sign-ins; never to decide anything)."""
        with self.db.read() as conn:
            row = conn.execute(select(admins).where(
                admins.c.email_ci == normalize_email(email))).first()
        return _info(row) if row else None

    def list(self, org_id: str) -> list[AdminInfo]:
        with self.db.read() as conn:
            rows = conn.execute(select(admins).where(admins.c.org_id == org_id)
                                .order_by(admins.c.email_ci)).all()
        return [_info(r) for r in rows]
