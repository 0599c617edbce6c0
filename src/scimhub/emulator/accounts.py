"""Who signs in on the emulator's login page: a tenant's admin (who has no user object:
their object id is derived from the tenant and login) or a user of a tenant's directory,
by login (UPN) and password."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, select

from .constants import ADMIN_DISPLAY_NAME, DEFAULT_USER_PASSWORD
from .directory import admin_object_id, require_user
from .passwords import check_password, hash_password
from .schema import tenants, user_passwords, users


@dataclass(frozen=True)
class Account:
    tenant_id: str
    login: str  # the admin's login, or the user's userPrincipalName
    oid: str
    display_name: str
    mail: str | None
    user_id: str | None  # None: the tenant admin

    @property
    def is_admin(self) -> bool:
        return self.user_id is None


class SignInRefused(Exception):
    """The login page's message, as Entra words it."""


def _admin(tenant: Row[Any]) -> Account:
    return Account(
        tenant.id,
        tenant.admin_login,
        admin_object_id(tenant.id, tenant.admin_login),
        ADMIN_DISPLAY_NAME,
        tenant.admin_login,
        None,
    )


def _user(row: Row[Any]) -> Account:
    return Account(
        row.tenant_id, row.user_principal_name, row.id, row.display_name, row.mail, row.id
    )


def _live_users(conn: Connection, login: str) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(users).where(
                users.c.user_principal_name == login,
                users.c.deleted_at.is_(None),
                users.c.purged.is_(False),
            )
        )
    )


def _user_password_ok(conn: Connection, user_id: str, password: str) -> bool:
    stored = conn.execute(
        select(user_passwords.c.password_hash).where(user_passwords.c.user_id == user_id)
    ).scalar()
    if stored is None:
        return password == DEFAULT_USER_PASSWORD
    return check_password(password, stored)


def authenticate(conn: Connection, login: str, password: str) -> Account:
    """The account the login and password open, or SignInRefused."""
    tenant = conn.execute(select(tenants).where(tenants.c.admin_login == login)).first()
    if tenant is not None:
        if check_password(password, tenant.admin_password_hash):
            return _admin(tenant)
        raise SignInRefused("Your account or password is incorrect.")
    for row in _live_users(conn, login):
        if _user_password_ok(conn, row.id, password):
            if not row.account_enabled:
                raise SignInRefused(
                    "AADSTS50057: The user account is disabled. The account has been "
                    "disabled by an administrator."
                )
            return _user(row)
    raise SignInRefused("Your account or password is incorrect.")


def session_account(conn: Connection, tenant_id: str, user_id: str | None) -> Account | None:
    """The account a session names, while it can still sign in (a user deleted or
    disabled since gets the login page again)."""
    tenant = conn.execute(select(tenants).where(tenants.c.id == tenant_id)).first()
    if tenant is None:
        return None
    if user_id is None:
        return _admin(tenant)
    row = conn.execute(
        select(users).where(
            users.c.id == user_id,
            users.c.tenant_id == tenant_id,
            users.c.deleted_at.is_(None),
            users.c.purged.is_(False),
        )
    ).first()
    return _user(row) if row is not None and row.account_enabled else None


def set_password(conn: Connection, tenant_id: str, user_ref: str, password: str) -> str:
    """Give a user a password of their own (the portal's "Reset password")."""
    user = require_user(conn, tenant_id, user_ref)
    conn.execute(user_passwords.delete().where(user_passwords.c.user_id == user.id))
    conn.execute(
        user_passwords.insert().values(user_id=user.id, password_hash=hash_password(password))
    )
    return str(user.id)
