"""Groups of an organisation and their memberships.

Members are rows, never part of the stored document: adding or removing members touches
only the rows that change, so a PATCH on a 100,000-member group costs what it changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, literal, select, union_all, update
from sqlalchemy.exc import IntegrityError

from ..scim.errors import InvalidValue, NotFound, Uniqueness
from ..scim.patch import MemberChange, apply_patch, parse_patch
from ..scim.resource import normalize
from ..store import queries
from ..store.arrays import among
from ..store.engine import Database, utcnow
from ..store.errors import is_unique_violation
from ..store.filter_sql import FilterCompiler
from ..store.tables import groups, memberships, users
from ..store.upsert import inserted_keys
from . import member_adds, recycle_bin, search
from .changes import MemberDelta, group_updated, member_event, without
from .custom_attributes import CustomAttributes
from .events import EventType, NewEvent, provisioner, record
from .locator import Locator
from .render import document, member_entries, members_query
from .versions import check_if_match

_CHUNK = 500  # ids per IN (...) list, well under every driver's parameter limit


def _columns(doc: dict[str, Any]) -> dict[str, Any]:
    name = doc["displayName"]
    return {
        "display_name": name,
        "display_name_ci": name.lower(),
        "external_id": doc.get("externalId"),
        "data": doc,
    }


def _taken(name: str) -> Uniqueness:
    return Uniqueness(f"displayName '{name}' is already in use in this organisation")


@dataclass(frozen=True, slots=True)
class Bumped:
    """A change that wrote the group's row itself (its version bumped): the row after."""

    row: Any


# What a write's change returns: the columns to update (empty: only the version), the row
# it already wrote, or None for no change.
Change = dict[str, Any] | Bumped | None


def _member_ids(members: Iterable[dict[str, Any]]) -> list[str]:
    ids = []
    for member in members:
        value = member.get("value")
        if not isinstance(value, str) or not value:
            raise InvalidValue("each member needs a 'value' with the member's id")
        ids.append(value)
    return ids


class Groups:
    def __init__(self, db: Database, attributes: CustomAttributes) -> None:
        self.db = db
        self.attributes = attributes  # the organisation's own: its resource type

    def create(self, org_id: str, body: Any, loc: Locator) -> dict[str, Any]:
        types = self.attributes.types(org_id)
        result = normalize(types.group, body)
        now = utcnow()
        gid = str(uuid.uuid4())
        try:
            with self.db.write() as conn:
                conn.execute(
                    groups.insert().values(
                        id=gid,
                        org_id=org_id,
                        **_columns(result.doc),
                        created=now,
                        last_modified=now,
                        version=1,
                        provisioned_by=provisioner(),
                    )
                )
                types.keep_values(conn, "Group", gid, result.doc)
                delta = MemberDelta(gid)
                delta.add(self._add(conn, org_id, gid, _member_ids(result.members)))
                row = self._row(conn, org_id, gid)
                members = member_entries(conn.execute(members_query(gid)), loc)
                created = self._render(row, loc, members)
                # The group without its members, then one event per member.
                new = [NewEvent(EventType.GROUP_CREATED, without(created, "members"))]
                record(conn, org_id, new + delta.events())
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise _taken(result.doc["displayName"]) from None
            raise
        return created

    def get(
        self, org_id: str, group_id: str, loc: Locator, *, with_members: bool = True
    ) -> dict[str, Any]:
        with self.db.read() as conn:
            row = self._row(conn, org_id, group_id)
            members = (
                member_entries(conn.execute(members_query(group_id)), loc) if with_members else None
            )
        return self._render(row, loc, members)

    def version(self, org_id: str, group_id: str) -> int:
        with self.db.read() as conn:
            return int(self._row(conn, org_id, group_id).version)

    def members_page(
        self, org_id: str, group_id: str, loc: Locator, *, start_index: int, count: int
    ) -> tuple[list[dict[str, Any]], int]:
        with self.db.read() as conn:
            self._row(conn, org_id, group_id)
            total = conn.execute(
                select(func.count())
                .select_from(memberships)
                .where(memberships.c.group_id == group_id)
            ).scalar_one()
            q = members_query(group_id).subquery()
            rows = conn.execute(
                select(q)
                .order_by(q.c.type.desc(), q.c.member_id)
                .offset(start_index - 1)
                .limit(count)
            )
            return member_entries(rows, loc, with_display=True), total

    def replace(
        self,
        org_id: str,
        group_id: str,
        body: Any,
        loc: Locator,
        *,
        if_match: str | None = None,
        with_members: bool = True,
    ) -> dict[str, Any]:
        result = normalize(self.attributes.resource_type(org_id, "Group"), body)

        def change(conn: Connection, _current: Any, delta: MemberDelta) -> dict[str, Any]:
            delta.remove(
                self._delete(conn, delete(memberships).where(memberships.c.group_id == group_id))
            )
            delta.add(self._add(conn, org_id, group_id, _member_ids(result.members)))
            return _columns(result.doc)

        return self._write(org_id, group_id, loc, if_match, change, with_members)

    def patch(
        self,
        org_id: str,
        group_id: str,
        body: Any,
        loc: Locator,
        *,
        if_match: str | None = None,
        with_members: bool = True,
    ) -> dict[str, Any]:
        ops = parse_patch(body)
        rt = self.attributes.resource_type(org_id, "Group")

        def change(conn: Connection, current: Any, delta: MemberDelta) -> Change:
            result = apply_patch(rt, current.data, ops, resource_id=group_id)
            adds = _only_adds(result.deferred) if not result.changed else None
            if adds is not None and conn.dialect.name == "postgresql":
                return self._add_at_once(conn, org_id, group_id, adds, delta)
            members_changed = False
            for member_change in result.deferred:
                members_changed |= self._apply(conn, org_id, group_id, member_change, delta)
            if result.changed:
                return _columns(result.doc)
            return {} if members_changed else None

        return self._write(org_id, group_id, loc, if_match, change, with_members)

    def delete(
        self, org_id: str, group_id: str, *, if_match: str | None = None, loc: Locator | None = None
    ) -> None:
        """Delete the group (its own member rows go with it, by cascade), keeping it and its
        memberships both ways in the recycle bin. Its events:
        `group.member_removed` for each group it was a member of, then `group.deleted`
        with its last state (located by `loc`, else by the hub-relative path); no event per
        member of its own: they went with the group."""
        with self.db.write() as conn:
            row = self._row(conn, org_id, group_id, lock=True)
            check_if_match(if_match, row.version)
            # Groups this group belonged to change too.
            conn.execute(
                update(groups)
                .where(
                    groups.c.id.in_(
                        select(memberships.c.group_id).where(memberships.c.member_id == group_id)
                    )
                )
                .values(version=groups.c.version + 1, last_modified=utcnow())
            )
            left = (
                conn.execute(
                    delete(memberships)
                    .where(memberships.c.member_id == group_id)
                    .returning(memberships.c.group_id)
                )
                .scalars()
                .all()
            )
            new = [member_event(EventType.GROUP_MEMBER_REMOVED, g, group_id, "Group") for g in left]
            own = conn.execute(
                select(memberships.c.member_id, memberships.c.member_type).where(
                    memberships.c.group_id == group_id
                )
            ).all()
            kept = {
                "members": [{"member_id": m, "member_type": t} for m, t in own],
                "member_of": list(left),
            }
            recycle_bin.keep(conn, org_id, "Group", row, kept)
            conn.execute(delete(groups).where(groups.c.id == group_id))
            self.attributes.types(org_id).drop_values(conn, "Group", group_id)
            last = self._render(row, loc or Locator("", org_id), None)
            record(conn, org_id, [*new, NewEvent(EventType.GROUP_DELETED, last)])

    def search(
        self, org_id: str, query: search.Query, loc: Locator, *, with_members: bool = True
    ) -> tuple[list[dict[str, Any]], int]:
        types = self.attributes.types(org_id)
        with self.db.read() as conn:
            rows, total = search.run(conn, types.group, org_id, query, types.attribute_ids("Group"))
            out = []
            for row in rows:
                members = (
                    member_entries(conn.execute(members_query(row.id)), loc)
                    if with_members
                    else None
                )
                out.append(self._render(row, loc, members))
        return out, total

    def change_members(
        self, org_id: str, group_id: str, *, add: list[str], remove: list[str]
    ) -> None:
        """Add and remove members by hub id (a sync engine's membership delta); ids that
        are not in the org are skipped, not refused: the source may know objects that are
        out of scope here."""
        with self.db.write() as conn:
            self._row(conn, org_id, group_id, lock=True)
            wanted = [i for i in dict.fromkeys(add) if i != group_id]
            kinds = _kinds(conn, org_id, wanted)
            delta = MemberDelta(group_id)
            # In the order given, so the member events come in the source's order.
            added = _insert(conn, org_id, group_id, [(i, kinds[i]) for i in wanted if i in kinds])
            delta.add(added)
            changed = bool(added)
            if remove:
                changed |= self._apply(
                    conn, org_id, group_id, MemberChange("remove", remove), delta
                )
            if changed:
                conn.execute(
                    update(groups)
                    .where(groups.c.id == group_id)
                    .values(version=groups.c.version + 1, last_modified=utcnow())
                )
            record(conn, org_id, delta.events())

    # -- memberships ------------------------------------------------------------------

    def _apply(
        self,
        conn: Connection,
        org_id: str,
        group_id: str,
        change: MemberChange,
        delta: MemberDelta,
    ) -> bool:
        """Apply one deferred PATCH operation on `members`, noting in `delta` the rows it
        added and removed; True if rows changed."""
        m = memberships
        if change.op == "add":
            added = self._add(conn, org_id, group_id, change.values or [])
            delta.add(added)
            return bool(added)
        # remove, or replace (remove all, then add)
        stmt = delete(m).where(m.c.group_id == group_id)
        removed: list[tuple[str, str]] = []
        if change.op == "remove" and change.values is not None:
            for chunk in _chunks(change.values):
                removed += self._delete(
                    conn, stmt.where(among(m.c.member_id, chunk, conn.dialect.name))
                )
        elif change.op == "remove" and change.filter is not None:
            rt = self.attributes.resource_type(org_id, "Group")
            cond = FilterCompiler(rt, conn.dialect.name).membership_condition(change.filter)
            removed = self._delete(conn, stmt.where(cond))
        else:
            removed = self._delete(conn, stmt)
        delta.remove(removed)
        if change.op != "replace":
            return bool(removed)
        added = self._add(conn, org_id, group_id, change.values or [])
        delta.add(added)
        return bool(added) or bool(removed)

    @staticmethod
    def _delete(conn: Connection, stmt: Any) -> list[tuple[str, str]]:
        """Run a DELETE on memberships; the (member id, member type) of the rows deleted."""
        m = memberships
        return [(r[0], r[1]) for r in conn.execute(stmt.returning(m.c.member_id, m.c.member_type))]

    def _add(
        self, conn: Connection, org_id: str, group_id: str, ids: list[str]
    ) -> list[tuple[str, str]]:
        """Add members by id after checking each exists in the org; returns the (member id,
        member type) of the rows added, those already there left out."""
        wanted = list(dict.fromkeys(ids))
        if group_id in wanted:
            raise InvalidValue("a group cannot be a member of itself")
        kinds = _kinds(conn, org_id, wanted)
        missing = [i for i in wanted if i not in kinds]
        if missing:
            raise InvalidValue(f"no user or group with id '{missing[0]}' in this organisation")
        return _insert(conn, org_id, group_id, [(i, kinds[i]) for i in wanted])

    @staticmethod
    def _add_at_once(
        conn: Connection, org_id: str, group_id: str, ids: list[str], delta: MemberDelta
    ) -> Bumped | None:
        """PostgreSQL: members added, and the group bumped, in one statement
        (`member_adds`); the same checks and outcome as `_add` and `_write`'s UPDATE."""
        wanted = list(dict.fromkeys(ids))
        if group_id in wanted:
            raise InvalidValue("a group cannot be a member of itself")
        done = member_adds.add_members(conn, org_id, group_id, wanted, utcnow(), provisioner())
        missing = [i for i in wanted if i not in done.found]
        if missing:  # the write is refused: its transaction rolls back what it inserted
            raise InvalidValue(f"no user or group with id '{missing[0]}' in this organisation")
        delta.add(done.added)
        return Bumped(done.row) if done.row is not None else None

    # -- internals --------------------------------------------------------------------

    def _write(
        self,
        org_id: str,
        group_id: str,
        loc: Locator,
        if_match: str | None,
        change: Any,
        with_members: bool,
    ) -> dict[str, Any]:
        try:
            with self.db.write() as conn:
                current = self._row(conn, org_id, group_id, lock=True)
                check_if_match(if_match, current.version)
                delta = MemberDelta(group_id)
                values = change(conn, current, delta)
                before = current.data
                if isinstance(values, Bumped):  # written already, the row read back
                    current = values.row
                elif values is not None:
                    if (by := provisioner()) is not None:
                        values = {**values, "provisioned_by": by}
                    conn.execute(
                        update(groups)
                        .where(groups.c.id == group_id)
                        .values(**values, version=groups.c.version + 1, last_modified=utcnow())
                    )
                    current = self._row(conn, org_id, group_id)
                    self.attributes.types(org_id).keep_values(
                        conn, "Group", group_id, current.data, before
                    )
                members = (
                    member_entries(conn.execute(members_query(group_id)), loc)
                    if with_members
                    else None
                )
                doc = self._render(current, loc, members)
                if values is not None:
                    # The group first (only if an attribute changed), then its members.
                    new = group_updated(before, current.data, without(doc, "members"))
                    record(conn, org_id, new + delta.events())
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise Uniqueness("displayName is already in use in this organisation") from None
            raise
        return doc

    @staticmethod
    def _row(conn: Connection, org_id: str, group_id: str, *, lock: bool = False) -> Any:
        stmt = queries.group_by_id.with_for_update() if lock else queries.group_by_id
        row = conn.execute(stmt, {"id": group_id, "org_id": org_id}).first()
        if row is None:
            raise NotFound(f"Group {group_id} not found")
        return row

    @staticmethod
    def _render(row: Any, loc: Locator, members: list[dict[str, Any]] | None) -> dict[str, Any]:
        return document(row, "Group", loc, {"members": members})


def _only_adds(changes: list[MemberChange]) -> list[str] | None:
    """The ids a PATCH's member changes add, if all they do is add (and add something)."""
    if any(c.op != "add" for c in changes):
        return None
    return [i for c in changes for i in c.values or []] or None


def _kinds(conn: Connection, org_id: str, ids: list[str]) -> dict[str, str]:
    """Which of these ids are users and groups of the org: id -> "User" | "Group"."""
    d = conn.dialect.name
    found: dict[str, str] = {}
    for chunk in _chunks(ids):
        stmt = union_all(
            select(users.c.id, literal("User")).where(
                users.c.org_id == org_id, among(users.c.id, chunk, d)
            ),
            select(groups.c.id, literal("Group")).where(
                groups.c.org_id == org_id, among(groups.c.id, chunk, d)
            ),
        )
        found.update((r[0], r[1]) for r in conn.execute(stmt))
    return found


def _insert(
    conn: Connection, org_id: str, group_id: str, members: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Insert (member id, member type) rows, those already there skipped; returns the ones
    added, in the order given (RETURNING's order is the driver's)."""
    rows = [
        {"group_id": group_id, "member_id": i, "org_id": org_id, "member_type": t}
        for i, t in members
    ]
    inserted = {k.member_id for k in inserted_keys(conn, memberships, rows)}
    return [(i, t) for i, t in members if i in inserted]


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]
