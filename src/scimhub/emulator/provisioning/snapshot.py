"""What one provisioning cycle reads from the directory: the candidate objects (all of
them in an initial cycle, only those changed since the watermark or escrowed in an
incremental one), the assignment scope, and the connector data store."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Row, or_, select

from .. import extensions
from ..db import current_version
from ..schema import assignments, escrows, groups, memberships, sync_links, users


@dataclass
class Link:
    target_id: str
    applied: dict[str, Any]


@dataclass
class Snapshot:
    version: int
    users: list[Row[Any]]
    groups: list[Row[Any]]
    scope_users: set[str]  # ids entitled by assignment (or all live users with SyncAll)
    scope_groups: set[str]
    group_members: dict[str, list[str]]  # candidate group -> live direct user members
    links: dict[tuple[str, str], Link]
    escrowed: dict[tuple[str, str], int] = field(default_factory=dict)
    # candidate user -> its directory extension values, the mappings' extension_* sources
    extensions: dict[str, dict[str, Any]] = field(default_factory=dict)


def load(
    conn: Connection,
    *,
    tenant_id: str,
    sp_id: str,
    job_id: str,
    watermark: int | None,
    sync_all: bool,
    only: tuple[str, str] | None = None,
) -> Snapshot:
    """`only`: (object type, id) for provision-on-demand; otherwise a whole cycle."""
    version = current_version(conn, tenant_id)
    links = {
        (r.object_type, r.source_id): Link(r.target_id, dict(r.applied))
        for r in conn.execute(select(sync_links).where(sync_links.c.job_id == job_id))
    }
    escrowed = {
        (r.object_type, r.source_id): r.attempts
        for r in conn.execute(select(escrows).where(escrows.c.job_id == job_id))
    }

    def candidates(table: Any, kind: str) -> list[Row[Any]]:
        stmt = select(table).where(table.c.tenant_id == tenant_id)
        if only is not None:
            return list(conn.execute(stmt.where(table.c.id == only[1]))) if only[0] == kind else []
        if watermark is not None:
            retry = [sid for (k, sid) in escrowed if k == kind]
            stmt = stmt.where(or_(table.c.version > watermark, table.c.id.in_(retry)))
        linked = {sid for (k, sid) in links if k == kind}
        # Purged objects matter only if the target holds them (to send a DELETE).
        rows = conn.execute(stmt.order_by(table.c.id))
        return [r for r in rows if not r.purged or r.id in linked]

    user_rows, group_rows = candidates(users, "User"), candidates(groups, "Group")

    assigned = conn.execute(select(assignments).where(assignments.c.sp_id == sp_id)).all()
    if sync_all:
        scope_users = {
            r.id
            for r in conn.execute(
                select(users.c.id).where(
                    users.c.tenant_id == tenant_id, users.c.deleted_at.is_(None)
                )
            )
        }
        scope_groups = {
            r.id
            for r in conn.execute(
                select(groups.c.id).where(
                    groups.c.tenant_id == tenant_id, groups.c.deleted_at.is_(None)
                )
            )
        }
    else:
        scope_users = {a.principal_id for a in assigned if a.principal_type == "User"}
        scope_groups = {a.principal_id for a in assigned if a.principal_type == "Group"}
        # Members of assigned groups are entitled (direct members only, as in Entra).
        scope_users |= {
            r.member_id
            for r in conn.execute(
                select(memberships.c.member_id)
                .join(groups, groups.c.id == memberships.c.group_id)
                .where(
                    memberships.c.group_id.in_(scope_groups),
                    memberships.c.member_type == "user",
                    groups.c.deleted_at.is_(None),
                )
            )
        }

    group_members: dict[str, list[str]] = defaultdict(list)
    wanted = [g.id for g in group_rows]
    for start in range(0, len(wanted), 500):
        for r in conn.execute(
            select(memberships.c.group_id, memberships.c.member_id)
            .join(users, users.c.id == memberships.c.member_id)
            .where(
                memberships.c.group_id.in_(wanted[start : start + 500]),
                users.c.deleted_at.is_(None),
            )
        ):
            group_members[r.group_id].append(r.member_id)
    return Snapshot(
        version,
        user_rows,
        group_rows,
        scope_users,
        scope_groups,
        dict(group_members),
        links,
        escrowed,
        extensions.user_values(conn, [u.id for u in user_rows]),
    )
