"""The recycle bin: a deleted user or group is kept, out of the live tables, for
`SCIMHUB_RECYCLE_DAYS`, and can be restored with the same id, attributes, `created` and
memberships until the clean-up work purges it.

The deleters (`Users.delete`, `Groups.delete`, and so SCIM, Bulk and pull sync) call `keep`
in their own transaction: a rolled-back delete leaves nothing here. A restore is one write
transaction too: the row goes back with `version` + 1 and `lastModified` now (its ETag
changes), the memberships whose other side still exists are re-added, and the bin row goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Literal

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from ..scim.errors import NotFound, Uniqueness
from ..store.engine import Database, as_utc, utcnow
from ..store.errors import is_unique_violation
from ..store.tables import groups, memberships, recycle_bin, users
from ..store.upsert import inserted_keys
from .actor import Actor
from .audit import Audit
from .changes import member_event, without
from .custom_attributes import CustomAttributes
from .events import EventType, NewEvent, Source, SourceKind, caused_by, current_source, record
from .locator import Locator
from .render import document, groups_of, member_entries, members_query

Kind = Literal["User", "Group"]
_CHUNK = 500  # ids per IN (...) list


def keep(conn: Connection, org_id: str, kind: Kind, row: Any, kept: dict[str, Any]) -> None:
    """Put a users or groups row, about to be deleted in this transaction, in the bin with
    the memberships a restore puts back (`kept`, see `store.tables.recycle_bin`)."""
    name = row.user_name if kind == "User" else row.display_name
    conn.execute(
        recycle_bin.insert().values(
            org_id=org_id,
            id=row.id,
            resource_type=kind,
            name=name,
            name_ci=name.lower(),
            external_id=row.external_id,
            display_name=row.display_name,
            active=row.active if kind == "User" else None,
            password_hash=row.password_hash if kind == "User" else None,
            data=row.data,
            created=row.created,
            last_modified=row.last_modified,
            version=row.version,
            memberships=kept,
            deleted_at=utcnow(),
            deleted_by=current_source().as_json(),
            provisioned_by=row.provisioned_by,
        )
    )


class NameTaken(Uniqueness):
    """The name of the resource being restored now belongs to another live resource (the
    IdP created it again meanwhile): that one is a resource of its own, so the restore is
    refused rather than merged."""

    def __init__(self, kind: Kind, name: str, holder_id: str) -> None:
        attribute = "userName" if kind == "User" else "displayName"
        super().__init__(
            f"cannot restore: {attribute} '{name}' now belongs to {kind.lower()} {holder_id}; "
            f"rename or delete that {kind.lower()} first"
        )
        self.holder_id = holder_id


@dataclass(frozen=True, slots=True)
class Deleted:
    """One resource in the bin, as listings show it."""

    id: str
    resource_type: str
    name: str
    display_name: str | None
    external_id: str | None
    deleted_at: datetime
    deleted_by: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resourceType": self.resource_type,
            "name": self.name,
            "displayName": self.display_name,
            "externalId": self.external_id,
            "deletedAt": self.deleted_at.isoformat().replace("+00:00", "Z"),
            "deletedBy": self.deleted_by,
        }


@dataclass(frozen=True, slots=True)
class Restored:
    """The restored resource (rendered as a SCIM GET answers it) and how many of its
    memberships came back; those whose other side is gone meanwhile are skipped."""

    resource: dict[str, Any]
    memberships_restored: int
    memberships_skipped: int


def _deleted(r: Any) -> Deleted:
    return Deleted(
        r.id,
        r.resource_type,
        r.name,
        r.display_name,
        r.external_id,
        as_utc(r.deleted_at),
        r.deleted_by,
    )


class RecycleBin:
    def __init__(self, db: Database, audit: Audit, attributes: CustomAttributes) -> None:
        self.db = db
        self.audit = audit
        self.attributes = attributes

    def entries(
        self, org_id: str, kind: Kind, *, limit: int = 100, offset: int = 0
    ) -> tuple[list[Deleted], int]:
        """The org's deleted users (or groups), most recently deleted first, and their count."""
        b = recycle_bin
        where = [b.c.org_id == org_id, b.c.resource_type == kind]
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(b).where(*where)).scalar_one()
            rows = conn.execute(
                select(b)
                .where(*where)
                .order_by(b.c.deleted_at.desc(), b.c.id)
                .offset(offset)
                .limit(limit)
            ).all()
        return [_deleted(r) for r in rows], int(total)

    def get(self, org_id: str, kind: Kind, resource_id: str) -> Deleted:
        with self.db.read() as conn:
            return _deleted(self._row(conn, org_id, kind, resource_id))

    def restore_user(self, org_id: str, user_id: str, loc: Locator, *, actor: Actor) -> Restored:
        """Put a deleted user back, in the groups it was in that still exist. Raises
        NotFound (not in this org's bin), NameTaken (409)."""
        return self._restore(org_id, "User", user_id, loc, actor)

    def restore_group(self, org_id: str, group_id: str, loc: Locator, *, actor: Actor) -> Restored:
        """Put a deleted group back with its members and in the groups it was in, as far
        as they still exist. Raises NotFound, NameTaken (409)."""
        return self._restore(org_id, "Group", group_id, loc, actor)

    def purge(self, before: datetime, *, batch: int = 10_000) -> int:
        """Remove for good what was deleted before `before` (retention), a batch per
        transaction so writers are never held up for long."""
        b = recycle_bin
        removed = 0
        while True:
            with self.db.write() as conn:
                keys = conn.execute(
                    select(b.c.org_id, b.c.id).where(b.c.deleted_at < before).limit(batch)
                ).all()
                for org_id, ids in _by_org(keys):
                    conn.execute(delete(b).where(b.c.org_id == org_id, b.c.id.in_(ids)))
            removed += len(keys)
            if len(keys) < batch:
                return removed

    # -- internals --------------------------------------------------------------------

    def _restore(
        self, org_id: str, kind: Kind, resource_id: str, loc: Locator, actor: Actor
    ) -> Restored:
        source = Source(SourceKind.ADMIN, actor.name, tracking_id=actor.tracking_id)
        try:
            with caused_by(source), self.db.write() as conn:
                kept = self._row(conn, org_id, kind, resource_id, lock=True)
                holder = self._holder(conn, org_id, kind, kept.name_ci)
                if holder is not None:
                    raise NameTaken(kind, kept.name, holder)
                put_back = self._user if kind == "User" else self._group
                restored, new = put_back(conn, org_id, kept, loc)
                conn.execute(
                    delete(recycle_bin).where(
                        recycle_bin.c.org_id == org_id, recycle_bin.c.id == resource_id
                    )
                )
                self.audit.record(
                    org_id,
                    actor.name,
                    f"Restore {kind.lower()}",
                    target=kept.name,
                    detail={
                        "id": resource_id,
                        "memberships_restored": restored.memberships_restored,
                        "memberships_skipped": restored.memberships_skipped,
                    },
                    tracking_id=actor.tracking_id,
                    conn=conn,
                )
                record(conn, org_id, new)  # last: its position lock is held until commit
        except IntegrityError as exc:
            # The name was taken between the check and the insert (PostgreSQL, concurrent
            # writers): name the holder as the check would have.
            if not is_unique_violation(exc):
                raise
            with self.db.read() as conn:
                kept = self._row(conn, org_id, kind, resource_id)
                holder = self._holder(conn, org_id, kind, kept.name_ci)
            raise NameTaken(kind, kept.name, holder or "unknown") from None
        return restored

    def _user(
        self, conn: Connection, org_id: str, kept: Any, loc: Locator
    ) -> tuple[Restored, list[NewEvent]]:
        """Insert the user and its memberships; what it is now, and its events."""
        types = self.attributes.types(org_id)
        data = types.of("User").declared_only(kept.data)
        row = {
            "id": kept.id,
            "org_id": org_id,
            "user_name": kept.name,
            "user_name_ci": kept.name_ci,
            "external_id": kept.external_id,
            "display_name": kept.display_name,
            "active": kept.active,
            "data": data,
            "password_hash": kept.password_hash,
            "provisioned_by": kept.provisioned_by,
            "created": kept.created,
            "last_modified": utcnow(),
            "version": kept.version + 1,
        }
        conn.execute(users.insert().values(**row))
        types.keep_values(conn, "User", kept.id, data)
        wanted = list(kept.memberships.get("groups", []))
        live = _existing(conn, groups, org_id, wanted)
        added = self._add(
            conn, org_id, kept.id, [(g, kept.id, "User") for g in wanted if g in live]
        )
        member_of = groups_of(conn, [kept.id], loc)[kept.id]
        doc = document(SimpleNamespace(**row), "User", loc, {"groups": member_of})
        new = [NewEvent(EventType.USER_RESTORED, without(doc, "groups")), *added]
        return Restored(doc, len(added), len(wanted) - len(added)), new

    def _group(
        self, conn: Connection, org_id: str, kept: Any, loc: Locator
    ) -> tuple[Restored, list[NewEvent]]:
        """Insert the group, its members and its own memberships; likewise."""
        types = self.attributes.types(org_id)
        data = types.of("Group").declared_only(kept.data)
        row = {
            "id": kept.id,
            "org_id": org_id,
            "display_name": kept.name,
            "display_name_ci": kept.name_ci,
            "external_id": kept.external_id,
            "data": data,
            "provisioned_by": kept.provisioned_by,
            "created": kept.created,
            "last_modified": utcnow(),
            "version": kept.version + 1,
        }
        conn.execute(groups.insert().values(**row))
        types.keep_values(conn, "Group", kept.id, data)
        members = list(kept.memberships.get("members", []))
        parents = list(kept.memberships.get("member_of", []))
        live_users = _existing(
            conn, users, org_id, [m["member_id"] for m in members if m["member_type"] == "User"]
        )
        live_groups = _existing(
            conn, groups, org_id, [m["member_id"] for m in members if m["member_type"] == "Group"]
        )
        live_parents = _existing(conn, groups, org_id, parents)
        rows = [
            (kept.id, m["member_id"], m["member_type"])
            for m in members
            if m["member_id"] in (live_users if m["member_type"] == "User" else live_groups)
        ] + [(p, kept.id, "Group") for p in parents if p in live_parents]
        added = self._add(conn, org_id, kept.id, rows)
        members_now = member_entries(conn.execute(members_query(kept.id)), loc)
        doc = document(SimpleNamespace(**row), "Group", loc, {"members": members_now})
        new = [NewEvent(EventType.GROUP_RESTORED, without(doc, "members")), *added]
        return Restored(doc, len(added), len(members) + len(parents) - len(added)), new

    @staticmethod
    def _add(
        conn: Connection, org_id: str, restored_id: str, rows: list[tuple[str, str, str]]
    ) -> list[NewEvent]:
        """Insert (group, member, member type) rows, one `group.member_added` each. The
        other groups whose members change move on a version, as with any member change
        (the restored group's own was set when it was inserted)."""
        values = [
            {"group_id": g, "member_id": m, "org_id": org_id, "member_type": t} for g, m, t in rows
        ]
        inserted = {(k.group_id, k.member_id) for k in inserted_keys(conn, memberships, values)}
        done = [r for r in rows if (r[0], r[1]) in inserted]
        changed = sorted({g for g, _m, _t in done if g != restored_id})
        for chunk in _chunks(changed):
            conn.execute(
                update(groups)
                .where(groups.c.org_id == org_id, groups.c.id.in_(chunk))
                .values(version=groups.c.version + 1, last_modified=utcnow())
            )
        return [member_event(EventType.GROUP_MEMBER_ADDED, g, m, t) for g, m, t in done]

    @staticmethod
    def _holder(conn: Connection, org_id: str, kind: Kind, name_ci: str) -> str | None:
        """The id of the live resource holding the name now, if any."""
        if kind == "User":
            stmt = select(users.c.id).where(
                users.c.org_id == org_id, users.c.user_name_ci == name_ci
            )
        else:
            stmt = select(groups.c.id).where(
                groups.c.org_id == org_id, groups.c.display_name_ci == name_ci
            )
        return conn.execute(stmt).scalar_one_or_none()

    @staticmethod
    def _row(
        conn: Connection, org_id: str, kind: Kind, resource_id: str, *, lock: bool = False
    ) -> Any:
        b = recycle_bin
        stmt = select(b).where(
            b.c.org_id == org_id, b.c.id == resource_id, b.c.resource_type == kind
        )
        row = conn.execute(stmt.with_for_update() if lock else stmt).first()
        if row is None:
            raise NotFound(f"{kind} {resource_id} is not in the recycle bin")
        return row


def _existing(conn: Connection, table: Any, org_id: str, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(ids):
        found.update(
            conn.execute(
                select(table.c.id).where(table.c.org_id == org_id, table.c.id.in_(chunk))
            ).scalars()
        )
    return found


def _by_org(keys: Iterable[Any]) -> Iterable[tuple[str, list[str]]]:
    by_org: dict[str, list[str]] = {}
    for org_id, resource_id in keys:
        by_org.setdefault(org_id, []).append(resource_id)
    return by_org.items()


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]
