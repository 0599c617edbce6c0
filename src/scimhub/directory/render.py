"""Rows to SCIM documents: the stored doc plus `id`, `meta` and the derived multi-valued
attributes (a user's `groups`, a group's `members`), which live in the memberships table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, func, literal, select, union_all

from ..scim.render import meta_for, render
from ..store import queries
from ..store.tables import groups, memberships, users
from .locator import Locator


def document(
    row: Any, resource_type: str, loc: Locator, derived: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The full resource (before projection) from a users or groups row."""
    meta = meta_for(  # a naive time (SQLite's) is formatted as the UTC it is
        resource_type,
        row.created,
        row.last_modified,
        row.version,
        loc.location(resource_type, row.id),
    )
    return render(row.data, resource_id=row.id, meta=meta, derived=derived)


def groups_of(
    conn: Connection, user_ids: Sequence[str], loc: Locator
) -> dict[str, list[dict[str, Any]]]:
    """Each user's direct groups, for the read-only `groups` attribute (RFC 7643 §4.1.2)."""
    found: dict[str, list[dict[str, Any]]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return found
    if len(user_ids) == 1:
        rows = conn.execute(queries.groups_of_user, {"user_id": user_ids[0]})
    else:
        rows = conn.execute(queries.groups_of_users, {"user_ids": list(user_ids)})
    for member_id, gid, name in rows:
        found[member_id].append(group_entry(loc, gid, name))
    return found


def group_entry(loc: Locator, group_id: str, name: str) -> dict[str, Any]:
    """One entry of a user's `groups`: direct membership, since nesting is not expanded."""
    return {
        "value": group_id,
        "$ref": loc.location("Group", group_id),
        "display": name,
        "type": "direct",
    }


def members_query(group_id: str) -> Any:
    """A group's members with their display names, users first then groups, by id."""
    m = memberships
    user_members = (
        select(
            m.c.member_id,
            literal("User").label("type"),
            func.coalesce(users.c.display_name, users.c.user_name),
        )
        .join(users, users.c.id == m.c.member_id)
        .where(m.c.group_id == group_id, m.c.member_type == "User")
    )
    group_members = (
        select(m.c.member_id, literal("Group").label("type"), groups.c.display_name)
        .join(groups, groups.c.id == m.c.member_id)
        .where(m.c.group_id == group_id, m.c.member_type == "Group")
    )
    return union_all(user_members, group_members)


def member_entries(
    rows: Iterable[Any], loc: Locator, *, with_display: bool = False
) -> list[dict[str, Any]]:
    """Member entries. A group's document leaves out `display`: clients compare the members
    they PATCHed with what comes back, and a name they never sent would look like a change.
    The paged Members view, read by people, includes it."""
    out = []
    for member_id, kind, display in rows:
        entry = {"value": member_id, "$ref": loc.location(kind, member_id), "type": kind}
        if with_display and display:
            entry["display"] = display
        out.append(entry)
    return out
