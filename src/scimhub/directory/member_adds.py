"""Adding members to a group on PostgreSQL in one statement, under the group's row lock.

A PATCH that only adds members (what Entra sends for every membership it provisions)
would otherwise run, while it holds the lock that every other change to the group waits
for: a lookup of the ids among the org's users and groups, the INSERT of the rows, the
version bump, and a read of the row back: four round trips. Here they are one (CTEs):
the ids found, the rows inserted (existing ones skipped), and the group bumped and
returned only if a row was inserted. Concurrent adds to the same group queue on the row
lock the caller took before, as they did.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    String,
    any_,
    bindparam,
    exists,
    func,
    literal,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql

from ..store.tables import groups, memberships, users


@dataclass(frozen=True, slots=True)
class Added:
    found: set[str]  # the ids that are users or groups of the org
    added: list[tuple[str, str]]  # (member id, member type) inserted, in the order asked
    row: Any  # the group's row after its version bump; None if nothing was inserted


# Parameters are not named after columns: SQLAlchemy would take those as the UPDATE's SET.
@functools.cache
def _statement(set_provisioner: bool) -> Any:
    ids = bindparam("b_ids", type_=postgresql.ARRAY(String(36)))
    org, gid = bindparam("b_org", type_=String(36)), bindparam("b_group", type_=String(36))
    kinds = union_all(
        select(users.c.id.label("id"), literal("User", String(8)).label("kind")).where(
            users.c.org_id == org, users.c.id == any_(ids)
        ),
        select(groups.c.id, literal("Group", String(8))).where(
            groups.c.org_id == org, groups.c.id == any_(ids)
        ),
    ).cte("kinds")
    inserted = (
        postgresql.insert(memberships)
        .from_select(
            ["group_id", "member_id", "org_id", "member_type"],
            select(gid, kinds.c.id, org, kinds.c.kind),
        )
        .on_conflict_do_nothing()
        .returning(memberships.c.member_id, memberships.c.member_type)
        .cte("inserted")
    )
    values: dict[str, Any] = {
        "version": groups.c.version + 1,
        "last_modified": bindparam("b_now"),
    }
    if set_provisioner:
        values["provisioned_by"] = bindparam("b_by", type_=groups.c.provisioned_by.type)
    bumped = (
        update(groups)
        .where(groups.c.id == gid, exists(select(inserted.c.member_id)))
        .values(**values)
        .returning(*groups.c)
        .cte("bumped")
    )
    found = select(func.json_agg(kinds.c.id, type_=JSON)).scalar_subquery()
    pairs = func.json_build_array(inserted.c.member_id, inserted.c.member_type)
    added = select(func.json_agg(pairs, type_=JSON)).scalar_subquery()
    one = select(literal(1).label("one")).subquery("one")
    return select(
        found.label("found"),
        added.label("added"),
        *bumped.c,
    ).select_from(one.outerjoin(bumped, true()))


def add_members(
    conn: Connection,
    org_id: str,
    group_id: str,
    ids: list[str],
    now: Any,
    provisioned_by: dict[str, Any] | None,
) -> Added:
    """Insert these ids (distinct, the group itself not among them) as members; the caller
    holds the group's row lock and refuses the write if any id was not found."""
    params: dict[str, Any] = {"b_ids": ids, "b_org": org_id, "b_group": group_id, "b_now": now}
    if provisioned_by is not None:
        params["b_by"] = provisioned_by
    out = conn.execute(_statement(provisioned_by is not None), params).one()
    found = set(out.found or ())  # json_agg over no rows is NULL
    kinds = {member_id: kind for member_id, kind in out.added or ()}
    added = [(i, kinds[i]) for i in ids if i in kinds]
    return Added(found, added, out if out.id is not None else None)
