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

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from ..store import event_positions
from ..store.engine import Database, as_utc, event_time
from ..store.tables import event_streams, events


class EventType(StrEnum):
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_DELETED = "user.deleted"
    GROUP_CREATED = "group.created"
    GROUP_UPDATED = "group.updated"
    GROUP_DELETED = "group.deleted"
    GROUP_MEMBER_ADDED = "group.member_added"
    GROUP_MEMBER_REMOVED = "group.member_removed"
    INTEGRATION_ERROR = "integration.error"
    INTEGRATION_RESTORED = "integration.restored"
    SYNC_COMPLETED = "sync.completed"


class SourceKind(StrEnum):
    SCIM = "scim"  # a SCIM client, by its token (Entra's push, Okta, scripts)
    ENTRA = "entra"  # the hub's own work against an Entra instance (pull sync, restore)
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
        return {k: str(v) for k, v in asdict(self).items() if v is not None}


_SYSTEM = Source(SourceKind.SYSTEM, "scimhub")
_source: ContextVar[Source] = ContextVar("scimhub_event_source", default=_SYSTEM)


@contextmanager
def caused_by(source: Source) -> Iterator[None]:
    """Events recorded inside this block name `source` as their cause."""
    token = _source.set(source)
    try:
        yield
    finally:
        _source.reset(token)


@dataclass(frozen=True, slots=True)
class NewEvent:
    type: EventType
    data: dict[str, Any]
    changed: dict[str, Any] | None = None


def record(conn: Connection, org_id: str, new: list[NewEvent]) -> None:
    """Append events to the org's stream in the caller's transaction; call it last in the
    transaction (the positions' row lock is held until commit). Nothing to record: no-op,
    so a write that changed nothing emits nothing and takes no lock."""
    if not new:
        return
    last = event_positions.take(conn, org_id, len(new))
    now, source = event_time(), _source.get().as_json()
    conn.execute(
        events.insert(),
        [
            {
                "org_id": org_id,
                "seq": last - len(new) + i + 1,
                "id": str(uuid.uuid4()),
                "type": str(e.type),
                "occurred_at": now,
                "data": e.data,
                "changed": e.changed,
                "source": source,
            }
            for i, e in enumerate(new)
        ],
    )


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
        first. `next_cursor` continues from the last event returned, or stays where it was
        when there was none: reading from a cursor again returns the same events."""
        start = parse_cursor(after) if after is not None else 0
        where = [events.c.org_id == org_id, events.c.seq > start]
        if types:
            where.append(events.c.type.in_(sorted(types)))
        with self.db.read() as conn:
            pruned = (
                conn.execute(
                    select(event_streams.c.pruned_through).where(event_streams.c.org_id == org_id)
                ).scalar_one_or_none()
                or 0
            )
            if after is not None and start < pruned:
                raise CursorExpired(after)
            rows = conn.execute(
                select(events).where(*where).order_by(events.c.seq).limit(limit)
            ).all()
        found = [_event(r) for r in rows]
        return EventPage(found, cursor_of(found[-1].seq) if found else cursor_of(start))

    def last_position(self, org_id: str) -> int:
        with self.db.read() as conn:
            last = conn.execute(
                select(event_streams.c.last_seq).where(event_streams.c.org_id == org_id)
            ).scalar_one_or_none()
        return int(last or 0)

    def prune(self, before: datetime) -> int:
        """Remove events older than `before` (retention), remembering per organisation how
        far the stream was cut, so an older cursor is told (410) instead of skipping."""
        removed = 0
        with self.db.write() as conn:
            cut = conn.execute(
                select(events.c.org_id, func.max(events.c.seq))
                .where(events.c.occurred_at < before)
                .group_by(events.c.org_id)
            ).all()
            for org_id, through in cut:
                removed += conn.execute(
                    delete(events).where(events.c.org_id == org_id, events.c.seq <= through)
                ).rowcount
                # Only a prefix of the stream goes (positions are never reused), so the
                # mark only moves forward.
                conn.execute(
                    update(event_streams)
                    .where(event_streams.c.org_id == org_id)
                    .values(pruned_through=through)
                )
        return removed
