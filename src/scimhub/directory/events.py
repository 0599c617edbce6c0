"""Change events: what changed in an organisation's directory, recorded in the transaction
that changed it (an outbox), so a rolled-back write leaves no event and a committed one
always has its events. Apps read them in order through the events API or receive them as
webhooks; both follow the positions `store.event_positions` hands out in commit order.

Who caused a change (`Source`) is taken from a context variable that each entry point sets
(the SCIM endpoint for its token, pull sync for its instance, the console for its admin):
the directory's write methods stay what they are, and work handed to a thread keeps it
(AnyIO runs threaded work in a copy of the caller's context).
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import takewhile
from random import getrandbits
from typing import Any

from sqlalchemy import Connection, delete, select, update

from ..store import event_positions
from ..store.engine import Database, as_utc, event_time, notice
from ..store.tables import event_streams, events

COMMITTED = "events"  # the `Database.subscribe` topic of writes that recorded events


class EventType(StrEnum):
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_DELETED = "user.deleted"
    USER_RESTORED = "user.restored"
    GROUP_CREATED = "group.created"
    GROUP_UPDATED = "group.updated"
    GROUP_DELETED = "group.deleted"
    GROUP_RESTORED = "group.restored"
    GROUP_MEMBER_ADDED = "group.member_added"
    GROUP_MEMBER_REMOVED = "group.member_removed"
    INTEGRATION_ERROR = "integration.error"
    INTEGRATION_RESTORED = "integration.restored"
    SYNC_COMPLETED = "sync.completed"


class SourceKind(StrEnum):
    SCIM = "scim"  # a SCIM client, by its token (Entra's push, Okta, scripts)
    ENTRA = "entra"  # the hub's own work against an Entra instance (pull sync, restore)
    LDAP = "ldap"  # the hub's sync rounds from an organisation's LDAP / AD source
    ADMIN = "admin"  # an administrator, in the console or the CLI
    SYSTEM = "system"  # the hub's background work


@dataclass(frozen=True, slots=True)
class Source:
    """Who caused a change, and the tracking id of the request or round that made it."""

    kind: SourceKind
    name: str
    id: str | None = None  # the token's or the instance's id
    tracking_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        # Spelled out rather than dataclasses.asdict (a deep copy): this runs on every write.
        doc = {"kind": str(self.kind), "name": self.name}
        if self.id is not None:
            doc["id"] = self.id
        if self.tracking_id is not None:
            doc["tracking_id"] = self.tracking_id
        return doc


_SYSTEM = Source(SourceKind.SYSTEM, "scimhub")
_source: ContextVar[Source] = ContextVar("scimhub_event_source", default=_SYSTEM)


def provisioner() -> dict[str, Any] | None:
    """The client writing now, as a user's or group's `provisioned_by`: a SCIM client or a
    sync source; None for administrators and the hub's own work, which provision nothing."""
    source = _source.get()
    if source.kind in (SourceKind.ADMIN, SourceKind.SYSTEM):
        return None
    doc = {"kind": str(source.kind), "name": source.name}
    if source.id is not None:
        doc["id"] = source.id
    return doc


def current_source() -> Source:
    """Who is causing the changes being made now (the recycle bin notes who deleted)."""
    return _source.get()


class caused_by:  # lower case: used as a function, `with caused_by(source):`
    """Events recorded inside this block name `source` as their cause. A class rather than
    a generator-based context manager: the SCIM endpoint enters one per request, and this
    costs a third as much."""

    __slots__ = ("_source", "_token")

    def __init__(self, source: Source) -> None:
        self._source = source

    def __enter__(self) -> None:
        self._token = _source.set(self._source)

    def __exit__(self, *_exc: object) -> None:
        _source.reset(self._token)


@dataclass(frozen=True, slots=True)
class NewEvent:
    type: EventType
    data: dict[str, Any]
    changed: dict[str, Any] | None = None


def new_event_id() -> str:
    """A UUIDv7 (RFC 9562): time-ordered, so the index on event ids grows at its end instead
    of at a random page per write. The random bits come from `random` (reseeded in every
    forked process): an event id is an identifier, not a secret, and `uuid4` (os.urandom and
    a UUID object) was a tenth of what recording an event cost."""
    value = (time.time_ns() // 1_000_000) << 80 | getrandbits(80)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # the RFC's variant
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def record(conn: Connection, org_id: str, new: list[NewEvent]) -> None:
    """Append events to the org's stream in the caller's transaction; call it last in the
    transaction (the positions' row lock is held until commit). Nothing to record: no-op,
    so a write that changed nothing emits nothing and takes no lock."""
    if not new:
        return
    event_positions.append(
        conn,
        org_id,
        event_time(),
        _source.get().as_json(),
        [(new_event_id(), str(e.type), e.data, e.changed) for e in new],
    )
    notice(conn, COMMITTED)


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    id: str
    type: str
    occurred_at: datetime
    org_id: str
    data: dict[str, Any]
    changed: dict[str, Any] | None
    source: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "org_id": self.org_id,
            "data": self.data,
            "source": self.source,
            "cursor": cursor_of(self.seq),
        }
        if self.changed is not None:
            doc["changed"] = self.changed
        return doc


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[Event] = field(default_factory=list)
    next_cursor: str = ""


class CursorExpired(Exception):
    """The cursor points before events that retention has already removed."""


class BadCursor(ValueError):
    """Not a cursor this hub handed out."""


def cursor_of(seq: int) -> str:
    """Cursors are opaque to clients; today they carry the stream position."""
    return f"{seq:d}"


def parse_cursor(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise BadCursor(value)
    return int(value)


def _event(r: Any) -> Event:
    return Event(r.seq, r.id, r.type, as_utc(r.occurred_at), r.org_id, r.data, r.changed, r.source)


class Events:
    def __init__(self, db: Database) -> None:
        self.db = db

    def page(
        self, org_id: str, *, after: str | None, limit: int, types: frozenset[str] | None = None
    ) -> EventPage:
        """Up to `limit` events after the cursor (from the oldest kept when None), oldest
        first. `next_cursor` continues from the last event returned, past the events the
        `types` filter passed over, or stays where it was when there was none: reading
        from a cursor again returns the same events. Raises BadCursor for a position the
        stream has not reached (never handed out), CursorExpired for one before what
        retention removed.

        The statements need not share a snapshot (PostgreSQL reads in READ COMMITTED), so
        they are ordered to be right regardless: the stream's end is read before the events
        (every event up to it is committed, so a page short of `limit` has seen them all),
        and the pruned mark after them (a prune that removed events this read should have
        returned has moved the mark by then)."""
        start = parse_cursor(after) if after is not None else 0
        where = [events.c.org_id == org_id, events.c.seq > start]
        if types:
            where.append(events.c.type.in_(sorted(types)))
        with self.db.read() as conn:
            end = self._stream(conn, org_id)[0]
            if start > end:
                raise BadCursor(after or "")
            rows = conn.execute(
                select(events).where(*where).order_by(events.c.seq).limit(limit)
            ).all()
            pruned = self._stream(conn, org_id)[1]
        if after is not None and start < pruned:
            raise CursorExpired(after)
        found = [_event(r) for r in rows]
        last = found[-1].seq if found else start
        return EventPage(found, cursor_of(last if len(found) == limit else max(last, end)))

    @staticmethod
    def _stream(conn: Connection, org_id: str) -> tuple[int, int]:
        """The org's last position and how far retention cut its stream (0, 0: none yet)."""
        row = conn.execute(
            select(event_streams.c.last_seq, event_streams.c.pruned_through).where(
                event_streams.c.org_id == org_id
            )
        ).first()
        return (int(row.last_seq), int(row.pruned_through)) if row else (0, 0)

    def last_position(self, org_id: str) -> int:
        with self.db.read() as conn:
            last = conn.execute(
                select(event_streams.c.last_seq).where(event_streams.c.org_id == org_id)
            ).scalar_one_or_none()
        return int(last or 0)

    def prune(self, before: datetime, *, batch: int = 10_000) -> int:
        """Remove events older than `before` (retention), remembering per organisation how
        far the stream was cut, so an older cursor is told (410) instead of skipping. Only
        a prefix of a stream goes, up to its first event not older than `before`, so the
        mark only moves forward and no event younger than retention is removed. Each
        stream is walked from its oldest event by position (what is read is what goes),
        at most `batch` events per transaction, so writers (SQLite has one write lock for
        every organisation) are never held up for long."""
        s = event_streams.c
        oldest = (
            select(events.c.occurred_at)
            .where(events.c.org_id == s.org_id)
            .order_by(events.c.seq)
            .limit(1)
            .scalar_subquery()
        )
        with self.db.read() as conn:
            cut = conn.execute(
                select(s.org_id).where(s.last_seq > s.pruned_through, oldest < before)
            ).scalars()
            orgs = list(cut)
        old = (events.c.occurred_at < before).label("old")
        removed = 0
        for org_id in orgs:
            full = True
            while full:
                with self.db.write() as conn:
                    rows = conn.execute(
                        select(events.c.seq, old)
                        .where(events.c.org_id == org_id)
                        .order_by(events.c.seq)
                        .limit(batch)
                    ).all()
                    gone = [r.seq for r in takewhile(lambda r: r.old, rows)]
                    if not gone:
                        break
                    full = len(gone) == batch
                    removed += conn.execute(
                        delete(events).where(events.c.org_id == org_id, events.c.seq <= gone[-1])
                    ).rowcount
                    conn.execute(
                        update(event_streams)
                        .where(
                            event_streams.c.org_id == org_id,
                            event_streams.c.pruned_through < gone[-1],
                        )
                        .values(pruned_through=gone[-1])
                    )
        return removed
