"""Users of an organisation: create, read, replace, patch, delete, search."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Connection, Row, delete, select, update
from sqlalchemy.exc import IntegrityError

from ..scim.bind import bind_filter
from ..scim.errors import NotFound, Uniqueness
from ..scim.patch import PatchOp, apply_patch, parse_patch
from ..scim.resource import normalize
from ..scim.schemas import ResourceType
from ..store import queries
from ..store.engine import Database, utcnow
from ..store.errors import is_unique_violation
from ..store.hot import HotRead
from ..store.tables import groups, memberships, users
from . import recycle_bin, search
from .changes import member_event, user_updated, without
from .custom_attributes import CustomAttributes
from .events import EventType, NewEvent, provisioner, record
from .locator import Locator
from .render import document, group_entry, groups_of
from .search import Query
from .versions import check_if_match

_passwords = PasswordHasher()


def _columns(doc: dict[str, Any]) -> dict[str, Any]:
    """The indexed copies of attributes kept beside the document."""
    return {
        "user_name": doc["userName"],
        "user_name_ci": doc["userName"].lower(),
        "external_id": doc.get("externalId"),
        "display_name": doc.get("displayName"),
        "active": doc.get("active", True),
        "data": doc,
    }


def _taken(user_name: str) -> Uniqueness:
    return Uniqueness(f"userName '{user_name}' is already in use in this organisation")


class Users:
    def __init__(
        self, db: Database, attributes: CustomAttributes, *, max_values: int | None = None
    ) -> None:
        self.db = db
        self.attributes = attributes  # the organisation's own: its resource type
        self.max_values = max_values  # elements per multi-valued attribute; None: unbounded
        # The reads every SCIM client repeats: a GET by id, Entra's userName match.
        self._by_id = HotRead(db, queries.user_by_id)
        self._with_groups = HotRead(db, queries.user_with_groups)
        self._by_name_with_groups = HotRead(db, queries.user_by_name_with_groups)

    def create(self, org_id: str, body: Any, loc: Locator) -> dict[str, Any]:
        types = self.attributes.types(org_id)
        result = normalize(types.user, body, max_values=self.max_values)
        doc = {**result.doc}
        doc.setdefault("active", True)
        now = utcnow()
        row = {
            "id": str(uuid.uuid4()),
            "org_id": org_id,
            **_columns(doc),
            "created": now,
            "last_modified": now,
            "version": 1,
            "password_hash": _passwords.hash(result.password) if result.password else None,
            "provisioned_by": provisioner(),
        }
        # Rendered from what was written: reading the row back would only cost a query.
        # A new user is in no group, so the event carries the very document returned.
        created = self._render(SimpleNamespace(**row), loc, [])
        try:
            with self.db.write() as conn:
                conn.execute(queries.insert_user, row)
                types.keep_values(conn, "User", row["id"], doc)
                record(conn, org_id, [NewEvent(EventType.USER_CREATED, created)])
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise _taken(doc["userName"]) from None
            raise
        return created

    def get(
        self, org_id: str, user_id: str, loc: Locator, *, with_groups: bool = True
    ) -> dict[str, Any]:
        params = {"id": user_id, "org_id": org_id}
        rows = (self._with_groups if with_groups else self._by_id).rows(params)
        if not rows:
            raise NotFound(f"User {user_id} not found")
        return self._render_joined(rows, loc) if with_groups else self._render(rows[0], loc, None)

    def replace(
        self, org_id: str, user_id: str, body: Any, loc: Locator, *, if_match: str | None = None
    ) -> dict[str, Any]:
        result = normalize(self._type(org_id), body, max_values=self.max_values)
        doc = {**result.doc}
        doc.setdefault("active", True)
        values = _columns(doc)
        if result.password:
            values["password_hash"] = _passwords.hash(result.password)
        return self._write(org_id, user_id, loc, if_match, lambda _current: values)

    def patch(
        self, org_id: str, user_id: str, body: Any, loc: Locator, *, if_match: str | None = None
    ) -> dict[str, Any]:
        """The patch is computed, and a new password hashed, before the write transaction,
        on the version read: inside it they would hold the database's write lock (SQLite has
        one, for every organisation) for as long as they take. Only when another write moved
        the user on in between is the patch applied again, under the lock."""
        ops = parse_patch(body)
        hashes: dict[str, str] = {}
        found = self._by_id.rows({"id": user_id, "org_id": org_id})
        if not found:
            raise NotFound(f"User {user_id} not found")
        seen = found[0]
        check_if_match(if_match, seen.version)
        rt = self._type(org_id)
        prepared = self._patched(rt, user_id, seen.data, ops, hashes)

        def change(current: Any) -> dict[str, Any] | None:
            if current.version == seen.version:
                return prepared
            return self._patched(rt, user_id, current.data, ops, hashes)

        return self._write(org_id, user_id, loc, if_match, change, seen=seen)

    def delete(
        self, org_id: str, user_id: str, *, if_match: str | None = None, loc: Locator | None = None
    ) -> None:
        """Delete the user and its memberships, keeping both in the recycle bin. Its events:
        `group.member_removed` for each group it was in, then `user.deleted` with its last
        state (located by `loc`, else by the hub-relative path)."""
        with self.db.write() as conn:
            row = self._row(conn, org_id, user_id, lock=True)
            check_if_match(if_match, row.version)
            now = utcnow()
            # The user's groups change too: their versions move on with the membership.
            conn.execute(
                update(groups)
                .where(
                    groups.c.id.in_(
                        select(memberships.c.group_id).where(memberships.c.member_id == user_id)
                    )
                )
                .values(version=groups.c.version + 1, last_modified=now)
            )
            left = (
                conn.execute(
                    delete(memberships)
                    .where(memberships.c.member_id == user_id)
                    .returning(memberships.c.group_id)
                )
                .scalars()
                .all()
            )
            new = [member_event(EventType.GROUP_MEMBER_REMOVED, g, user_id, "User") for g in left]
            recycle_bin.keep(conn, org_id, "User", row, {"groups": list(left)})
            conn.execute(delete(users).where(users.c.id == user_id))
            self.attributes.types(org_id).drop_values(conn, "User", user_id)
            last = self._render(row, loc or Locator("", org_id), None)
            record(conn, org_id, [*new, NewEvent(EventType.USER_DELETED, last)])

    def search(
        self, org_id: str, query: search.Query, loc: Locator, *, with_groups: bool = True
    ) -> tuple[list[dict[str, Any]], int]:
        types = self.attributes.types(org_id)
        bound = bind_filter(types.user, query.filter) if query.filter is not None else None
        if bound is not None and with_groups:
            # Entra's matching query, or a unique custom attribute's value: one statement
            # for the user and its groups.
            if (name := search.unique_lookup(types.user, bound)) is not None:
                found = self._by_name_with_groups.rows({"org_id": org_id, "value": name})
                return self._page(found, query, loc)
            if (held := search.unique_custom_lookup(types.user, bound)) is not None:
                attribute_id = types.attribute_ids("User")(held.schema, held.attribute)
                params = {"attribute_id": attribute_id, "value": held.key}
                found = self._one(queries.user_by_unique_value_with_groups, params, org_id)
                return self._page(found, query, loc)
        with self.db.read() as conn:
            rows, total = search.run(conn, types.user, org_id, query, types.attribute_ids("User"))
            member_of = groups_of(conn, [r.id for r in rows], loc) if with_groups else {}
        return [
            self._render(r, loc, member_of.get(r.id) if with_groups else None) for r in rows
        ], total

    # -- internals --------------------------------------------------------------------

    def _one(self, statement: Any, params: dict[str, Any], org_id: str) -> Sequence[Row[Any]]:
        """The rows (one per group, or one) of the user a unique lookup names."""
        with self.db.read_one() as conn:
            return conn.execute(statement, {"org_id": org_id, **params}).all()

    def _page(
        self, rows: Sequence[Row[Any]], query: Query, loc: Locator
    ) -> tuple[list[dict[str, Any]], int]:
        total = 1 if rows else 0
        if not rows or query.start_index > 1 or query.count == 0:
            return [], total
        return [self._render_joined(list(rows), loc)], total

    def _type(self, org_id: str) -> ResourceType:
        return self.attributes.resource_type(org_id, "User")

    def _patched(
        self,
        rt: ResourceType,
        user_id: str,
        data: dict[str, Any],
        ops: list[PatchOp],
        hashes: dict[str, str],
    ) -> dict[str, Any] | None:
        """The column values after `ops`, None when nothing changes. `hashes` keeps each
        password's hash: the password comes from the operations alone, so a second run
        (after a concurrent write) reuses it instead of hashing under the lock."""
        result = apply_patch(rt, data, ops, max_values=self.max_values, resource_id=user_id)
        if not result.changed and result.password is None:
            return None
        values = _columns(result.doc)
        if result.password is not None:  # a new password changes the user, though unseen
            if result.password not in hashes:
                hashes[result.password] = _passwords.hash(result.password)
            values["password_hash"] = hashes[result.password]
        return values

    def _write(
        self,
        org_id: str,
        user_id: str,
        loc: Locator,
        if_match: str | None,
        change: Any,
        *,
        seen: Any = None,
    ) -> dict[str, Any]:
        """Write `change(row)`, the new column values (None: nothing changes). With `seen`,
        the row as read before the transaction, the update is tried at that version first:
        when no other write came in between, the row is read neither again under the lock
        nor after the write."""
        try:
            with self.db.write() as conn:
                current: Any = None
                values = change(seen) if seen is not None else None
                if values is not None:
                    current, before = self._update(conn, org_id, seen, values), seen.data
                if current is None:
                    row = self._row(conn, org_id, user_id, lock=True)
                    check_if_match(if_match, row.version)
                    values = change(row)
                    current, before = row, row.data
                    if values is not None:
                        current = self._update(conn, org_id, row, values)
                        assert current is not None  # the row is locked: still at its version
                if values is not None:
                    self.attributes.types(org_id).keep_values(
                        conn, "User", user_id, current.data, before
                    )
                doc = self._render(current, loc, groups_of(conn, [user_id], loc)[user_id])
                if values is not None:  # a PUT that changes nothing records nothing either
                    new = user_updated(
                        before,
                        current.data,
                        without(doc, "groups"),
                        password_set="password_hash" in values,
                    )
                    record(conn, org_id, new)
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise Uniqueness("userName is already in use in this organisation") from None
            raise
        return doc

    @staticmethod
    def _update(conn: Connection, org_id: str, row: Any, values: dict[str, Any]) -> Any:
        """Update `row` to `values` if it is still at its version; the row as now stored
        (built from what was written, as `create` does), or None if another write moved
        it on."""
        if (by := provisioner()) is not None:
            values = {**values, "provisioned_by": by}
        now = utcnow()
        params = {"b_id": row.id, "b_org_id": org_id, "b_version": row.version}
        done = conn.execute(
            queries.update_user_at_version, {**values, "last_modified": now, **params}
        )
        if done.rowcount != 1:
            return None
        # A hot read's row (a named tuple) or SQLAlchemy's: both have _asdict.
        stored = row._asdict()
        return SimpleNamespace(
            **{**stored, **values, "version": row.version + 1, "last_modified": now}
        )

    @staticmethod
    def _row(conn: Connection, org_id: str, user_id: str, *, lock: bool = False) -> Any:
        stmt = queries.user_by_id.with_for_update() if lock else queries.user_by_id
        row = conn.execute(stmt, {"id": user_id, "org_id": org_id}).first()
        if row is None:
            raise NotFound(f"User {user_id} not found")
        return row

    @classmethod
    def _render_joined(cls, rows: Sequence[Row[Any]], loc: Locator) -> dict[str, Any]:
        """A user from the rows of a user-with-groups statement (one row per group)."""
        return cls._render(
            rows[0],
            loc,
            [group_entry(loc, r.group_id, r.group_name) for r in rows if r.group_id is not None],
        )

    @staticmethod
    def _render(row: Any, loc: Locator, member_of: list[dict[str, Any]] | None) -> dict[str, Any]:
        return document(row, "User", loc, {"groups": member_of})
