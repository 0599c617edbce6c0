"""App roles and who may sign in to an app: the roles an application defines, the role an
assignment of a user or group grants, "Assignment required?" on an enterprise app, and what
one user is entitled to when they sign in (assigned or not, role values, group ids)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, select

from .constants import GROUPS_CLAIM_LIMIT
from .directory import DirectoryError, assign, find_group, find_user
from .schema import (
    app_roles,
    application_claims,
    assignment_required,
    assignment_roles,
    assignments,
    groups,
    memberships,
)


def define_roles(conn: Connection, app_id: str, roles: Mapping[str, tuple[str, str]]) -> None:
    """Add the app roles (value -> (id, display name)) the application lacks."""
    have = set(conn.execute(select(app_roles.c.id).where(app_roles.c.app_id == app_id)).scalars())
    for value, (role_id, name) in roles.items():
        if role_id not in have:
            conn.execute(
                app_roles.insert().values(app_id=app_id, id=role_id, value=value, display_name=name)
            )


def roles_of(conn: Connection, app_id: str) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(app_roles).where(app_roles.c.app_id == app_id).order_by(app_roles.c.value)
        )
    )


def set_group_claims(conn: Connection, app_id: str, value: str | None) -> None:
    """groupMembershipClaims: "SecurityGroup", "All", or None (no `groups` claim)."""
    if value not in (None, "SecurityGroup", "All"):
        raise DirectoryError("groupMembershipClaims must be SecurityGroup, All or None.")
    conn.execute(application_claims.delete().where(application_claims.c.app_id == app_id))
    if value:
        conn.execute(
            application_claims.insert().values(app_id=app_id, group_membership_claims=value)
        )


def group_claims(conn: Connection, app_id: str) -> str | None:
    return conn.execute(
        select(application_claims.c.group_membership_claims).where(
            application_claims.c.app_id == app_id
        )
    ).scalar()


def set_assignment_required(conn: Connection, sp_id: str, required: bool) -> None:
    conn.execute(assignment_required.delete().where(assignment_required.c.sp_id == sp_id))
    if required:
        conn.execute(assignment_required.insert().values(sp_id=sp_id))


def requires_assignment(conn: Connection, sp_id: str) -> bool:
    found = conn.execute(
        select(assignment_required.c.sp_id).where(assignment_required.c.sp_id == sp_id)
    )
    return found.first() is not None


def assign_role(
    conn: Connection, tenant_id: str, sp: Row[Any], principal_ref: str, role: str | None
) -> str:
    """Assign a user or group to the enterprise app with an app role of its application
    (by value; None: Default Access), or change the role of an existing assignment."""
    principal = find_user(conn, tenant_id, principal_ref) or find_group(
        conn, tenant_id, principal_ref
    )
    existing = (
        conn.execute(
            select(assignments.c.id).where(
                assignments.c.sp_id == sp.id, assignments.c.principal_id == principal.id
            )
        ).scalar()
        if principal is not None
        else None
    )
    assignment_id = existing or assign(conn, tenant_id, sp.id, principal_ref)
    conn.execute(assignment_roles.delete().where(assignment_roles.c.assignment_id == assignment_id))
    if role is not None:
        role_id = conn.execute(
            select(app_roles.c.id).where(app_roles.c.app_id == sp.app_id, app_roles.c.value == role)
        ).scalar()
        if role_id is None:
            raise DirectoryError(
                f"The application has no app role '{role}'.", "Request_BadRequest", 400
            )
        conn.execute(
            assignment_roles.insert().values(assignment_id=assignment_id, app_role_id=role_id)
        )
    return str(assignment_id)


def _live_groups(conn: Connection, member_ids: set[str]) -> set[str]:
    """Live groups the given objects are direct members of."""
    if not member_ids:
        return set()
    rows = conn.execute(
        select(memberships.c.group_id)
        .join(groups, groups.c.id == memberships.c.group_id)
        .where(
            memberships.c.member_id.in_(member_ids),
            groups.c.deleted_at.is_(None),
            groups.c.purged.is_(False),
        )
    ).scalars()
    return set(rows)


@dataclass(frozen=True)
class Entitlement:
    assigned: bool  # directly, or through a group the user is a direct member of
    roles: tuple[str, ...]  # the app role values those assignments grant


def entitlement(conn: Connection, app_id: str, sp_id: str, user_id: str) -> Entitlement:
    """As Entra evaluates it: a group assignment counts for the group's direct members only
    (nested groups do not inherit app assignments)."""
    principals = {user_id} | _live_groups(conn, {user_id})
    rows = conn.execute(
        select(assignments.c.id, app_roles.c.value)
        .outerjoin(assignment_roles, assignment_roles.c.assignment_id == assignments.c.id)
        .outerjoin(
            app_roles,
            (app_roles.c.id == assignment_roles.c.app_role_id) & (app_roles.c.app_id == app_id),
        )
        .where(assignments.c.sp_id == sp_id, assignments.c.principal_id.in_(principals))
    ).all()
    return Entitlement(bool(rows), tuple(sorted({r.value for r in rows if r.value})))


def group_ids(conn: Connection, user_id: str, *, security_only: bool) -> list[str]:
    """The groups a user belongs to, directly or through nested groups (the `groups` claim
    lists transitive memberships), sorted."""
    found: set[str] = set()
    frontier = {user_id}
    while frontier:
        parents = _live_groups(conn, frontier) - found
        found |= parents
        frontier = parents
    if security_only and found:
        found = set(
            conn.execute(
                select(groups.c.id).where(groups.c.id.in_(found), groups.c.security_enabled)
            ).scalars()
        )
    return sorted(found)


def groups_claims(conn: Connection, app_id: str, user_id: str, claims_url: str) -> dict[str, Any]:
    """The ID token's group claims for the app's groupMembershipClaims: `groups`, or past
    the limit the overage pointer to Graph, or nothing when the app asks for none."""
    setting = group_claims(conn, app_id)
    if setting is None:
        return {}
    ids = group_ids(conn, user_id, security_only=setting == "SecurityGroup")
    if len(ids) > GROUPS_CLAIM_LIMIT:
        return {
            "_claim_names": {"groups": "src1"},
            "_claim_sources": {"src1": {"endpoint": claims_url}},
        }
    return {"groups": ids}
