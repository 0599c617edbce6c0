"""Groups of an organisation and their memberships.

Members are rows, never part of the stored document: adding or removing members touches
only the rows that change, so a PATCH on a 100,000-member group costs what it changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from ..scim.errors import InvalidValue, NotFound, Uniqueness
from ..scim.patch import MemberChange, apply_patch, parse_patch
from ..scim.resource import normalize
from ..scim.schemas import GROUP
from ..store import queries
from ..store.engine import Database, utcnow
from ..store.errors import is_unique_violation
from ..store.filter_sql import FilterCompiler
from ..store.tables import groups, memberships, users
from ..store.upsert import insert_ignoring_duplicates
from . import search
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


def _member_ids(members: Iterable[dict[str, Any]]) -> list[str]:
    ids = []
    for member in members:
        value = member.get("value")
        if not isinstance(value, str) or not value:
            raise InvalidValue("each member needs a 'value' with the member's id")
        ids.append(value)
    return ids


class Groups:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, org_id: str, body: Any, loc: Locator) -> dict[str, Any]:
        result = normalize(GROUP, body)
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
                    )
                )
                self._add(conn, org_id, gid, _member_ids(result.members))
                row = self._row(conn, org_id, gid)
                members = member_entries(conn.execute(members_query(gid)), loc)
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise _taken(result.doc["displayName"]) from None
            raise
        return self._render(row, loc, members)

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
        result = normalize(GROUP, body)

        def change(conn: Connection, _current: Any) -> dict[str, Any]:
            conn.execute(delete(memberships).where(memberships.c.group_id == group_id))
            self._add(conn, org_id, group_id, _member_ids(result.members))
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

        def change(conn: Connection, current: Any) -> dict[str, Any] | None:
            result = apply_patch(GROUP, current.data, ops)
            members_changed = False
            for member_change in result.deferred:
                members_changed |= self._apply(conn, org_id, group_id, member_change)
            if result.changed:
                return _columns(result.doc)
            return {} if members_changed else None

        return self._write(org_id, group_id, loc, if_match, change, with_members)

    def delete(self, org_id: str, group_id: str, *, if_match: str | None = None) -> None:
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
            conn.execute(delete(memberships).where(memberships.c.member_id == group_id))
            conn.execute(delete(groups).where(groups.c.id == group_id))

    def search(
        self, org_id: str, query: search.Query, loc: Locator, *, with_members: bool = True
    ) -> tuple[list[dict[str, Any]], int]:
        with self.db.read() as conn:
            rows, total = search.run(conn, GROUP, org_id, query)
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
            known = []
            for chunk in _chunks(list(dict.fromkeys(add))):
                known += [
                    r.id
                    for r in conn.execute(
                        select(users.c.id).where(users.c.org_id == org_id, users.c.id.in_(chunk))
                    )
                ]
                known += [
                    r.id
                    for r in conn.execute(
                        select(groups.c.id).where(
                            groups.c.org_id == org_id,
                            groups.c.id.in_(chunk),
                            groups.c.id != group_id,
                        )
                    )
                ]
            changed = self._add(conn, org_id, group_id, known) > 0
            if remove:
                changed |= self._apply(conn, org_id, group_id, MemberChange("remove", remove))
            if changed:
                conn.execute(
                    update(groups)
                    .where(groups.c.id == group_id)
                    .values(version=groups.c.version + 1, last_modified=utcnow())
                )

    # -- memberships ------------------------------------------------------------------

    def _apply(self, conn: Connection, org_id: str, group_id: str, change: MemberChange) -> bool:
        """Apply one deferred PATCH operation on `members`; True if rows changed."""
        m = memberships
        if change.op == "add":
            return self._add(conn, org_id, group_id, change.values or []) > 0
        if change.op == "replace":
            removed = conn.execute(delete(m).where(m.c.group_id == group_id)).rowcount
            return self._add(conn, org_id, group_id, change.values or []) > 0 or removed > 0
        # remove
        stmt = delete(m).where(m.c.group_id == group_id)
        if change.values is not None:
            removed = 0
            for chunk in _chunks(change.values):
                removed += conn.execute(stmt.where(m.c.member_id.in_(chunk))).rowcount
            return removed > 0
        if change.filter is not None:
            cond = FilterCompiler(GROUP, conn.dialect.name).membership_condition(change.filter)
            return conn.execute(stmt.where(cond)).rowcount > 0
        return conn.execute(stmt).rowcount > 0

    def _add(self, conn: Connection, org_id: str, group_id: str, ids: list[str]) -> int:
        """Add members by id after checking each exists in the org; returns rows added."""
        wanted = list(dict.fromkeys(ids))
        if group_id in wanted:
            raise InvalidValue("a group cannot be a member of itself")
        rows = []
        for chunk in _chunks(wanted):
            found = {
                r.id: "User"
                for r in conn.execute(
                    select(users.c.id).where(users.c.org_id == org_id, users.c.id.in_(chunk))
                )
            }
            found.update(
                {
                    r.id: "Group"
                    for r in conn.execute(
                        select(groups.c.id).where(groups.c.org_id == org_id, groups.c.id.in_(chunk))
                    )
                }
            )
            missing = [i for i in chunk if i not in found]
            if missing:
                raise InvalidValue(f"no user or group with id '{missing[0]}' in this organisation")
            rows += [
                {"group_id": group_id, "member_id": i, "org_id": org_id, "member_type": found[i]}
                for i in chunk
            ]
        return insert_ignoring_duplicates(conn, memberships, rows)

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
                values = change(conn, current)
                if values is not None:
                    conn.execute(
                        update(groups)
                        .where(groups.c.id == group_id)
                        .values(**values, version=groups.c.version + 1, last_modified=utcnow())
                    )
                    current = self._row(conn, org_id, group_id)
                members = (
                    member_entries(conn.execute(members_query(group_id)), loc)
                    if with_members
                    else None
                )
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise Uniqueness("displayName is already in use in this organisation") from None
            raise
        return self._render(current, loc, members)

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


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]
