"""Console administrators: accounts of one organisation, with a role.

A local account signs in with a password, hashed with argon2id (argon2-cffi's defaults
follow RFC 9106's recommended low-memory profile). An account belongs to its organisation:
`email_ci` is unique within an org only, and the same email may hold an account in several.
Nothing here tells one organisation about another's accounts: a duplicate is refused only
within the org, and sign-in (`check_password`) narrows the candidates to the org when the
form names one.

An Entra account is made by its first sign-in with Microsoft and is the Entra user
(tenant id, object id) the verified ID token names: it is found by those, never by email
(an email is a claim a user may be able to change), holds no password (the password form
never finds it) and takes its role from each sign-in's token. A local account with the same
email stays a separate account: the break-glass one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Row, func, select
from sqlalchemy.exc import IntegrityError

from ..store.engine import Database, as_utc, utcnow
from ..store.errors import is_unique_violation
from ..store.tables import admins
from ..store.tables import orgs as orgs_table
from .audit import Audit
from .orgs import Orgs
from .roles import Role
from .signin_settings import of_org_settings

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
    entra_tenant_id: str | None = None  # an Entra account: the user it is
    entra_object_id: str | None = None

    @property
    def signs_in_with_entra(self) -> bool:
        return self.entra_object_id is not None


@dataclass(frozen=True, slots=True)
class EntraUser:
    """Who a verified ID token says signed in."""

    tenant_id: str
    object_id: str
    email: str
    display_name: str


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """What a sign-in's password opened. The console answers with one of four outcomes:
    signed in, "name your organization", "email or password is not right", or (only for a
    right password) "your organization signs in with Microsoft"."""

    candidate_orgs: tuple[str, ...]  # the orgs whose account with the email was checked
    matches: tuple[AdminInfo, ...]  # the accounts the password opens
    email_shared: bool  # more than one org has an account with the email (never shown)
    # accounts the password opens in orgs that switched local passwords off
    refused: tuple[AdminInfo, ...] = ()

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
        r.entra_tenant_id,
        r.entra_object_id,
    )


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _candidate_rows(conn: Connection, email: str, org_id: str | None) -> Sequence[Row[Any]]:
    """Local accounts with the email, each with its org's settings (passwords on or off)."""
    query = (
        select(admins, orgs_table.c.settings.label("org_settings"))
        .join(orgs_table, orgs_table.c.id == admins.c.org_id)
        .where(admins.c.email_ci == normalize_email(email))
    )
    if org_id is not None:
        query = query.where(admins.c.org_id == org_id)
    return conn.execute(query.order_by(admins.c.created, admins.c.id).limit(MAX_CANDIDATES)).all()


def _opens(password_hash: str | None, password: str) -> bool:
    if password_hash is None:
        return False
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
        # Checked after the hashes, so the time a refusal takes says nothing either.
        allowed = [r for r in opened if of_org_settings(r.org_settings).local_passwords]
        if len(allowed) == 1:
            self._record_login(allowed[0].id, allowed[0].password_hash, password)
        return PasswordCheck(
            tuple(r.org_id for r in rows),
            tuple(_info(r) for r in allowed),
            email_shared=holders > 1,
            refused=tuple(_info(r) for r in opened if r.id not in {a.id for a in allowed}),
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
                select(admins)
                .where(admins.c.org_id == org_id)
                .order_by(func.lower(admins.c.email), admins.c.created)
            ).all()
        return [_info(r) for r in rows]

    def sign_in_with_entra(
        self, org_id: str, user: EntraUser, role: Role, *, tracking_id: str | None = None
    ) -> tuple[AdminInfo, bool]:
        """The org's account of this Entra user, created on its first sign-in (True) or
        brought up to date with the token (email, name, role: Entra decides the role at
        every sign-in), with the sign-in recorded. Audited: the account's creation and a
        role change."""
        email = user.email.strip()[:320] or user.object_id
        name = user.display_name.strip()[:256] or email.split("@")[0]
        key = (
            admins.c.org_id == org_id,
            admins.c.entra_tenant_id == user.tenant_id,
            admins.c.entra_object_id == user.object_id,
        )
        now = utcnow()
        for _ in range(2):  # a concurrent first sign-in may insert it between our two steps
            try:
                with self.db.write() as conn:
                    row = conn.execute(select(admins).where(*key).with_for_update()).first()
                    if row is None:
                        info = self._insert_entra(conn, org_id, user, email, name, role, now)
                        Audit(self.db).record(
                            org_id,
                            email,
                            "admin.created",
                            target=email,
                            detail={"admin_id": info.id, "role": role, "via": "entra"}
                            | {"tenant": user.tenant_id, "object_id": user.object_id},
                            tracking_id=tracking_id,
                            conn=conn,
                        )
                        return info, True
                    conn.execute(
                        admins.update()
                        .where(admins.c.id == row.id)
                        .values(email=email, display_name=name, role=role, last_login=now)
                    )
                    if row.role != role:
                        Audit(self.db).record(
                            org_id,
                            email,
                            "admin.role_changed",
                            target=email,
                            detail={"admin_id": row.id, "from": row.role, "to": role}
                            | {"via": "entra"},
                            tracking_id=tracking_id,
                            conn=conn,
                        )
                    updated = conn.execute(select(admins).where(admins.c.id == row.id)).one()
                    return _info(updated), False
            except IntegrityError as exc:
                if not is_unique_violation(exc):
                    raise
        raise AdminError("the account is being created by another sign-in; try again")

    def _insert_entra(
        self,
        conn: Connection,
        org_id: str,
        user: EntraUser,
        email: str,
        name: str,
        role: Role,
        now: datetime,
    ) -> AdminInfo:
        info = AdminInfo(
            str(uuid.uuid4()), org_id, email, name, role, now, now, user.tenant_id, user.object_id
        )
        conn.execute(
            admins.insert().values(
                id=info.id,
                org_id=org_id,
                email=email,
                email_ci=None,  # no password: the sign-in form must never find it
                display_name=name,
                password_hash=None,
                role=role,
                created=now,
                last_login=now,
                entra_tenant_id=user.tenant_id,
                entra_object_id=user.object_id,
            )
        )
        return info
