"""Tenants, users, groups and memberships, with Entra's lifecycle: soft delete into a
30-day recycle bin, restore, hard delete (kept as a tombstone so delta queries and the
provisioning service can report it). Every write bumps the object's change version."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, or_, select

from .constants import DEFAULT_ADMIN_PASSWORD, MULTI_TENANT_SEGMENTS
from .db import current_version, new_id, next_versions, now_iso
from .passwords import hash_password
from .schema import assignments, groups, membership_changes, memberships, tenants, users


class DirectoryError(ValueError):
    """A request the directory refuses (unknown object, duplicate name...)."""

    def __init__(self, message: str, code: str = "Request_BadRequest", status: int = 400):
        super().__init__(message)
        self.code = code
        self.status = status


# Graph property name -> column, for the properties the emulator stores.
USER_FIELDS: dict[str, str] = {
    "userPrincipalName": "user_principal_name",
    "mail": "mail",
    "mailNickname": "mail_nickname",
    "givenName": "given_name",
    "surname": "surname",
    "displayName": "display_name",
    "accountEnabled": "account_enabled",
    "department": "department",
    "jobTitle": "job_title",
    "employeeId": "employee_id",
    "officeLocation": "office_location",
}
GROUP_FIELDS: dict[str, str] = {
    "displayName": "display_name",
    "description": "description",
    "mailNickname": "mail_nickname",
    "mail": "mail",
    "mailEnabled": "mail_enabled",
    "securityEnabled": "security_enabled",
}


def create_tenant(
    conn: Connection,
    display_name: str,
    domain: str,
    *,
    tenant_id: str | None = None,
    admin_login: str | None = None,
    admin_password: str = DEFAULT_ADMIN_PASSWORD,
    is_publisher: bool = False,
) -> str:
    tid = tenant_id or new_id()
    conn.execute(
        tenants.insert().values(
            id=tid,
            domain=domain,
            display_name=display_name,
            admin_login=admin_login or f"admin@{domain}",
            admin_password_hash=hash_password(admin_password),
            is_publisher=is_publisher,
            version=0,
            created_at=now_iso(),
        )
    )
    return tid


def find_tenant(conn: Connection, ref: str) -> Row[Any] | None:
    """A tenant by GUID or by domain name, as the authority path segment allows."""
    return conn.execute(
        select(tenants).where(or_(tenants.c.id == ref.lower(), tenants.c.domain == ref))
    ).first()


def is_multi_tenant(segment: str) -> bool:
    """`common` or `organizations`: an authority segment that names no tenant."""
    return segment.lower() in MULTI_TENANT_SEGMENTS


def admin_object_id(tenant_id: str, login: str) -> str:
    """The tenant admin's object id (`oid`): the emulated admin has no user object, so a
    name-based UUID keeps it stable for the tenant and login."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"emulator-admin:{tenant_id}/{login.lower()}"))


def require_tenant(conn: Connection, ref: str) -> Row[Any]:
    row = find_tenant(conn, ref)
    if row is None:
        raise DirectoryError(f"Tenant '{ref}' not found.", "Request_ResourceNotFound", 404)
    return row


def user_attributes(row: Row[Any]) -> dict[str, Any]:
    """A user row as Graph property names (manager as an id)."""
    out: dict[str, Any] = {"id": row.id}
    for prop, col in USER_FIELDS.items():
        out[prop] = getattr(row, col)
    out["manager"] = row.manager_id
    out["createdDateTime"] = row.created_at
    out["deletedDateTime"] = row.deleted_at
    return out


def _columns(fields: dict[str, str], attrs: dict[str, Any]) -> dict[str, Any]:
    unknown = set(attrs) - set(fields) - {"manager"}
    if unknown:
        prop = sorted(unknown)[0]
        raise DirectoryError(f"Property '{prop}' does not exist or cannot be set.")
    return {fields[k]: v for k, v in attrs.items() if k in fields}


def find_user(conn: Connection, tenant_id: str, ref: str) -> Row[Any] | None:
    """A live or soft-deleted user by object id or userPrincipalName."""
    return conn.execute(
        select(users).where(
            users.c.tenant_id == tenant_id,
            users.c.purged.is_(False),
            or_(users.c.id == ref, users.c.user_principal_name == ref),
        )
    ).first()


def require_user(conn: Connection, tenant_id: str, ref: str) -> Row[Any]:
    row = find_user(conn, tenant_id, ref)
    if row is None:
        raise DirectoryError(
            f"Resource '{ref}' does not exist or one of its queried reference-property "
            "objects are not present.",
            "Request_ResourceNotFound",
            404,
        )
    return row


def _manager_id(conn: Connection, tenant_id: str, ref: str | None) -> str | None:
    return None if not ref else require_user(conn, tenant_id, ref).id


def add_user(conn: Connection, tenant_id: str, attrs: dict[str, Any]) -> str:
    upn = attrs.get("userPrincipalName")
    if not upn or "@" not in upn:
        raise DirectoryError("Invalid value specified for property 'userPrincipalName'.")
    if find_user(conn, tenant_id, upn) is not None:
        raise DirectoryError(
            "Another object with the same value for property userPrincipalName already exists.",
            "Request_BadRequest",
            400,
        )
    values = _columns(USER_FIELDS, attrs)
    values.setdefault("display_name", upn.split("@")[0])
    values.setdefault("mail_nickname", upn.split("@")[0])
    values.setdefault("account_enabled", True)
    uid = new_id()
    conn.execute(
        users.insert().values(
            id=uid,
            tenant_id=tenant_id,
            manager_id=_manager_id(conn, tenant_id, attrs.get("manager")),
            created_at=now_iso(),
            version=next_versions(conn, tenant_id),
            purged=False,
            **values,
        )
    )
    return uid


def update_user(conn: Connection, tenant_id: str, ref: str, attrs: dict[str, Any]) -> str:
    row = require_user(conn, tenant_id, ref)
    values = _columns(USER_FIELDS, attrs)
    if "manager" in attrs:
        values["manager_id"] = _manager_id(conn, tenant_id, attrs["manager"])
    conn.execute(
        users.update()
        .where(users.c.id == row.id)
        .values(version=next_versions(conn, tenant_id), **values)
    )
    return str(row.id)


def _lifecycle(conn: Connection, table: Any, tenant_id: str, oid: str, **values: Any) -> None:
    conn.execute(
        table.update()
        .where(table.c.id == oid)
        .values(version=next_versions(conn, tenant_id), **values)
    )


def delete_user(conn: Connection, tenant_id: str, ref: str, *, hard: bool = False) -> str:
    """Soft delete moves the user to the recycle bin; hard delete (or purging a
    soft-deleted user) leaves a tombstone and drops its memberships and assignments."""
    row = require_user(conn, tenant_id, ref)
    if hard or row.deleted_at is not None:
        _purge_links(conn, tenant_id, row.id)
        _lifecycle(
            conn, users, tenant_id, row.id, purged=True, deleted_at=row.deleted_at or now_iso()
        )
    else:
        _lifecycle(conn, users, tenant_id, row.id, deleted_at=now_iso())
    return str(row.id)


def restore_user(conn: Connection, tenant_id: str, ref: str) -> str:
    row = require_user(conn, tenant_id, ref)
    if row.deleted_at is None:
        raise DirectoryError(f"User '{ref}' is not in the recycle bin.")
    _lifecycle(conn, users, tenant_id, row.id, deleted_at=None)
    return str(row.id)


def _purge_links(conn: Connection, tenant_id: str, oid: str) -> None:
    for m in conn.execute(
        select(memberships.c.group_id, memberships.c.member_type).where(
            memberships.c.member_id == oid
        )
    ).all():
        _lifecycle(conn, groups, tenant_id, m.group_id)
        _record_membership(conn, tenant_id, m.group_id, oid, m.member_type, removed=True)
    conn.execute(
        memberships.delete().where(
            or_(memberships.c.member_id == oid, memberships.c.group_id == oid)
        )
    )
    conn.execute(assignments.delete().where(assignments.c.principal_id == oid))


def find_group(conn: Connection, tenant_id: str, ref: str) -> Row[Any] | None:
    return conn.execute(
        select(groups).where(
            groups.c.tenant_id == tenant_id,
            groups.c.purged.is_(False),
            or_(groups.c.id == ref, groups.c.display_name == ref),
        )
    ).first()


def require_group(conn: Connection, tenant_id: str, ref: str) -> Row[Any]:
    row = find_group(conn, tenant_id, ref)
    if row is None:
        raise DirectoryError(
            f"Resource '{ref}' does not exist or one of its queried reference-property "
            "objects are not present.",
            "Request_ResourceNotFound",
            404,
        )
    return row


def add_group(conn: Connection, tenant_id: str, attrs: dict[str, Any]) -> str:
    if not attrs.get("displayName"):
        raise DirectoryError("Invalid value specified for property 'displayName'.")
    values = _columns(GROUP_FIELDS, attrs)
    values.setdefault("mail_nickname", "".join(c for c in attrs["displayName"] if c.isalnum()))
    gid = new_id()
    conn.execute(
        groups.insert().values(
            id=gid,
            tenant_id=tenant_id,
            created_at=now_iso(),
            version=next_versions(conn, tenant_id),
            purged=False,
            **values,
        )
    )
    return gid


def update_group(conn: Connection, tenant_id: str, ref: str, attrs: dict[str, Any]) -> str:
    row = require_group(conn, tenant_id, ref)
    _lifecycle(conn, groups, tenant_id, row.id, **_columns(GROUP_FIELDS, attrs))
    return str(row.id)


def delete_group(conn: Connection, tenant_id: str, ref: str, *, hard: bool = False) -> str:
    row = require_group(conn, tenant_id, ref)
    if hard or row.deleted_at is not None:
        member_ids = [
            m.member_id
            for m in conn.execute(
                select(memberships.c.member_id).where(memberships.c.group_id == row.id)
            )
        ]
        _bump_users(conn, tenant_id, member_ids)
        _purge_links(conn, tenant_id, row.id)
        _lifecycle(
            conn, groups, tenant_id, row.id, purged=True, deleted_at=row.deleted_at or now_iso()
        )
    else:
        _lifecycle(conn, groups, tenant_id, row.id, deleted_at=now_iso())
    return str(row.id)


def restore_group(conn: Connection, tenant_id: str, ref: str) -> str:
    row = require_group(conn, tenant_id, ref)
    if row.deleted_at is None:
        raise DirectoryError(f"Group '{ref}' is not in the recycle bin.")
    _lifecycle(conn, groups, tenant_id, row.id, deleted_at=None)
    return str(row.id)


def _bump_users(conn: Connection, tenant_id: str, user_ids: list[str]) -> None:
    """Scope of a user depends on its groups' assignments: bump it so the provisioning
    service's next incremental cycle re-evaluates it."""
    if user_ids:
        last = next_versions(conn, tenant_id, len(user_ids))
        conn.execute(
            users.update().where(users.c.id == bindparam("uid")).values(version=bindparam("v")),
            [{"uid": uid, "v": last - i} for i, uid in enumerate(user_ids)],
        )


def add_member(conn: Connection, tenant_id: str, group_ref: str, member_ref: str) -> None:
    group = require_group(conn, tenant_id, group_ref)
    member: Row[Any] | None = find_user(conn, tenant_id, member_ref)
    member_type = "user"
    if member is None:
        member, member_type = require_group(conn, tenant_id, member_ref), "group"
    exists = conn.execute(
        select(memberships).where(
            and_(memberships.c.group_id == group.id, memberships.c.member_id == member.id)
        )
    ).first()
    if exists:
        raise DirectoryError(
            "One or more added object references already exist for the following "
            "modified properties: 'members'."
        )
    conn.execute(
        memberships.insert().values(
            group_id=group.id, member_id=member.id, member_type=member_type, tenant_id=tenant_id
        )
    )
    _lifecycle(conn, groups, tenant_id, group.id)
    _record_membership(conn, tenant_id, group.id, member.id, member_type, removed=False)
    _lifecycle(conn, users if member_type == "user" else groups, tenant_id, member.id)


def remove_member(conn: Connection, tenant_id: str, group_ref: str, member_ref: str) -> None:
    group = require_group(conn, tenant_id, group_ref)
    member = find_user(conn, tenant_id, member_ref) or require_group(conn, tenant_id, member_ref)
    deleted = conn.execute(
        memberships.delete().where(
            memberships.c.group_id == group.id, memberships.c.member_id == member.id
        )
    ).rowcount
    if not deleted:
        raise DirectoryError(
            f"'{member_ref}' is not a member of '{group_ref}'.",
            status=404,
            code="Request_ResourceNotFound",
        )
    _lifecycle(conn, groups, tenant_id, group.id)
    is_user = find_user(conn, tenant_id, member.id) is not None
    _record_membership(
        conn, tenant_id, group.id, member.id, "user" if is_user else "group", removed=True
    )
    _lifecycle(conn, users if is_user else groups, tenant_id, member.id)


def _record_membership(
    conn: Connection,
    tenant_id: str,
    group_id: str,
    member_id: str,
    member_type: str,
    *,
    removed: bool,
) -> None:
    """Log the change under the group's new version (its delta round reports it)."""
    conn.execute(
        membership_changes.insert().values(
            tenant_id=tenant_id,
            group_id=group_id,
            member_id=member_id,
            member_type=member_type,
            version=current_version(conn, tenant_id),
            removed=removed,
        )
    )


def group_user_members(conn: Connection, group_id: str) -> list[str]:
    return [
        r.member_id
        for r in conn.execute(
            select(memberships.c.member_id).where(
                memberships.c.group_id == group_id, memberships.c.member_type == "user"
            )
        )
    ]


def assign(conn: Connection, tenant_id: str, sp_id: str, principal_ref: str) -> str:
    """Assign a user or group to an enterprise app: it enters the provisioning scope."""
    principal: Row[Any] | None = find_user(conn, tenant_id, principal_ref)
    ptype = "User"
    if principal is None:
        principal, ptype = require_group(conn, tenant_id, principal_ref), "Group"
    aid = new_id()
    conn.execute(
        assignments.insert().values(
            id=aid,
            tenant_id=tenant_id,
            sp_id=sp_id,
            principal_id=principal.id,
            principal_type=ptype,
            created_at=now_iso(),
        )
    )
    _touch_principal(conn, tenant_id, principal.id, ptype)
    return aid


def unassign(conn: Connection, tenant_id: str, sp_id: str, principal_ref: str) -> None:
    principal = find_user(conn, tenant_id, principal_ref) or require_group(
        conn, tenant_id, principal_ref
    )
    row = conn.execute(
        select(assignments).where(
            assignments.c.sp_id == sp_id, assignments.c.principal_id == principal.id
        )
    ).first()
    if row is None:
        raise DirectoryError(f"'{principal_ref}' is not assigned.", "Request_ResourceNotFound", 404)
    conn.execute(assignments.delete().where(assignments.c.id == row.id))
    _touch_principal(conn, tenant_id, principal.id, row.principal_type)


def _touch_principal(conn: Connection, tenant_id: str, pid: str, ptype: str) -> None:
    if ptype == "User":
        _lifecycle(conn, users, tenant_id, pid)
    else:
        _lifecycle(conn, groups, tenant_id, pid)
        _bump_users(conn, tenant_id, group_user_members(conn, pid))
