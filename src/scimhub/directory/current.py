"""The hub's side of a comparison with a source: the users and groups a source's objects
would be matched with, read a page at a time and never written. A sync preview compares
with these; a pull round from scratch asks which linked objects it did not see."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..store.engine import Database
from ..store.tables import entra_links, groups, memberships, users

_CHUNK = 500  # ids per IN (...), under every database's parameter limit


@dataclass(frozen=True, slots=True)
class StoredUser:
    id: str
    user_name: str
    active: bool
    doc: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredGroup:
    id: str
    display_name: str
    members: frozenset[str]  # the user members' userNames, lower-cased


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


class Current:
    def __init__(self, db: Database) -> None:
        self.db = db

    def users_by_id(self, org_id: str, ids: Iterable[str]) -> dict[str, StoredUser]:
        return self._users(org_id, users.c.id, sorted(set(ids)), key=lambda u: u.id)

    def users_by_name(self, org_id: str, names: Iterable[str]) -> dict[str, StoredUser]:
        """Keyed by lower-cased userName, as userName is matched (caseExact false)."""
        wanted = sorted({n.lower() for n in names})
        return self._users(org_id, users.c.user_name_ci, wanted, key=lambda u: u.user_name.lower())

    def groups_by_name(self, org_id: str, names: Iterable[str]) -> dict[str, StoredGroup]:
        """Keyed by lower-cased displayName (Entra matches groups on it), with members."""
        wanted = sorted({n.lower() for n in names})
        found: dict[str, tuple[str, str]] = {}
        members: dict[str, set[str]] = defaultdict(set)
        with self.db.read() as conn:
            for chunk in _chunks(wanted):
                for r in conn.execute(
                    select(groups.c.id, groups.c.display_name, groups.c.display_name_ci).where(
                        groups.c.org_id == org_id, groups.c.display_name_ci.in_(chunk)
                    )
                ):
                    found[r.display_name_ci] = (r.id, r.display_name)
            ids = sorted(gid for gid, _ in found.values())
            for chunk in _chunks(ids):
                for m in conn.execute(
                    select(memberships.c.group_id, users.c.user_name_ci)
                    .join(users, users.c.id == memberships.c.member_id)
                    .where(memberships.c.group_id.in_(chunk))
                ):
                    members[m.group_id].add(m.user_name_ci)
        return {
            key: StoredGroup(gid, name, frozenset(members.get(gid, ())))
            for key, (gid, name) in found.items()
        }

    def members_of(self, group_ids: Iterable[str]) -> dict[str, set[str]]:
        """Each group's direct members (users and groups) by id: what a source that lists
        a group's whole membership is compared with."""
        found: dict[str, set[str]] = defaultdict(set)
        with self.db.read() as conn:
            for chunk in _chunks(sorted(set(group_ids))):
                for m in conn.execute(
                    select(memberships.c.group_id, memberships.c.member_id).where(
                        memberships.c.group_id.in_(chunk)
                    )
                ):
                    found[m.group_id].add(m.member_id)
        return dict(found)

    def linked_present(self, instance_id: str, kind: str) -> dict[str, str]:
        """The instance's links (source object id → resource id) whose resource is still
        there, and for users still active: what a removal would still change."""
        resource = users if kind == "User" else groups
        stmt = (
            select(entra_links.c.object_id, entra_links.c.resource_id)
            .join(resource, resource.c.id == entra_links.c.resource_id)
            .where(entra_links.c.instance_id == instance_id, entra_links.c.kind == kind)
        )
        if kind == "User":
            stmt = stmt.where(users.c.active.is_(True))
        with self.db.read() as conn:
            return {r.object_id: r.resource_id for r in conn.execute(stmt)}

    def _users(
        self, org_id: str, column: Any, wanted: list[str], *, key: Callable[[StoredUser], str]
    ) -> dict[str, StoredUser]:
        found: dict[str, StoredUser] = {}
        with self.db.read() as conn:
            for chunk in _chunks(wanted):
                for r in conn.execute(
                    select(users.c.id, users.c.user_name, users.c.active, users.c.data).where(
                        users.c.org_id == org_id, column.in_(chunk)
                    )
                ):
                    user = StoredUser(r.id, r.user_name, bool(r.active), dict(r.data))
                    found[key(user)] = user
        return found
