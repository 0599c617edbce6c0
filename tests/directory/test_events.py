"""The event log itself: positions in commit order, cursors, retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import update

from scimhub.api.services import Hub
from scimhub.directory.events import (
    BadCursor,
    CursorExpired,
    Events,
    EventType,
    NewEvent,
    Source,
    SourceKind,
    caused_by,
    record,
)
from scimhub.store.engine import utcnow
from scimhub.store.tables import events


def _emit(hub: Hub, org_id: str, *names: str) -> None:
    with hub.db.write() as conn:
        record(conn, org_id, [NewEvent(EventType.USER_CREATED, {"id": n}) for n in names])


def test_events_are_read_in_order_from_a_cursor(hub: Hub) -> None:
    org = hub.orgs.create("events").id
    log = Events(hub.db)
    with caused_by(Source(SourceKind.ADMIN, "ada@example.com", tracking_id="T_1")):
        _emit(hub, org, "a", "b")
    _emit(hub, org, "c")
    first = log.page(org, after=None, limit=2)
    assert [e.data["id"] for e in first.events] == ["a", "b"]
    assert first.events[0].source == {
        "kind": "admin",
        "name": "ada@example.com",
        "tracking_id": "T_1",
    }
    rest = log.page(org, after=first.next_cursor, limit=10)
    assert [e.data["id"] for e in rest.events] == ["c"]
    assert rest.events[0].source["kind"] == "system"
    # the same cursor gives the same events; the end of the stream keeps its cursor
    assert log.page(org, after=first.next_cursor, limit=10).events == rest.events
    assert log.page(org, after=rest.next_cursor, limit=10).next_cursor == rest.next_cursor


def test_a_rolled_back_write_leaves_no_event_and_no_gap(hub: Hub) -> None:
    org = hub.orgs.create("rollback").id
    with pytest.raises(RuntimeError), hub.db.write() as conn:
        record(conn, org, [NewEvent(EventType.GROUP_CREATED, {"id": "lost"})])
        raise RuntimeError("the write fails after its events")
    _emit(hub, org, "kept")
    page = Events(hub.db).page(org, after=None, limit=10)
    assert [(e.seq, e.data["id"]) for e in page.events] == [(1, "kept")]


def test_streams_are_per_organisation(hub: Hub) -> None:
    a, b = hub.orgs.create("a").id, hub.orgs.create("b").id
    _emit(hub, a, "a1")
    _emit(hub, b, "b1")
    log = Events(hub.db)
    assert [e.data["id"] for e in log.page(b, after=None, limit=10).events] == ["b1"]
    assert log.page(a, after=None, limit=10).events[0].seq == 1


def test_a_cursor_older_than_retention_is_refused_not_skipped(hub: Hub) -> None:
    org = hub.orgs.create("retention").id
    log = Events(hub.db)
    _emit(hub, org, "old1", "old2")
    start = log.page(org, after=None, limit=1).next_cursor
    with hub.db.write() as conn:
        conn.execute(
            update(events)
            .where(events.c.org_id == org)
            .values(occurred_at=utcnow() - timedelta(days=40))
        )
    _emit(hub, org, "new")
    assert log.prune(utcnow() - timedelta(days=30)) >= 2
    with pytest.raises(CursorExpired):
        log.page(org, after=start, limit=10)
    assert [e.data["id"] for e in log.page(org, after=None, limit=10).events] == ["new"]


@pytest.mark.parametrize("cursor", ["", "-1", "x", "²", "1" * 30])
def test_a_cursor_that_is_not_ours_is_refused(hub: Hub, cursor: str) -> None:
    with pytest.raises(BadCursor):
        Events(hub.db).page("any", after=cursor, limit=1)


def test_a_cursor_the_stream_has_not_reached_is_refused(hub: Hub) -> None:
    """A made-up position ahead of the stream would silently skip the events written
    until the stream got there."""
    org = hub.orgs.create("future").id
    _emit(hub, org, "a")
    log = Events(hub.db)
    assert log.page(org, after="1", limit=10).events == []
    with pytest.raises(BadCursor):
        log.page(org, after="2", limit=10)
    with pytest.raises(BadCursor):
        log.page(hub.orgs.create("empty").id, after="1", limit=10)


def test_a_filtered_read_moves_past_the_events_it_passed_over(hub: Hub) -> None:
    """Otherwise a reader of rare types keeps its old cursor until retention removes the
    events it skipped, and is told it lost events it never wanted."""
    org = hub.orgs.create("filtered").id
    _emit(hub, org, "u1", "u2")
    with hub.db.write() as conn:
        record(conn, org, [NewEvent(EventType.GROUP_DELETED, {"id": "g1"})])
    _emit(hub, org, "u3")
    log = Events(hub.db)
    groups = frozenset({"group.deleted"})
    page = log.page(org, after=None, limit=10, types=groups)
    assert [e.data["id"] for e in page.events] == ["g1"]
    assert page.next_cursor == "4"  # past u3, which the filter passed over
    # a full page continues from its last event: what follows may not have been read
    users = frozenset({"user.created"})
    full = log.page(org, after=None, limit=2, types=users)
    assert [e.data["id"] for e in full.events] == ["u1", "u2"]
    assert full.next_cursor == "2"
    rest = log.page(org, after=full.next_cursor, limit=2, types=users)
    assert [e.data["id"] for e in rest.events] == ["u3"]
    assert log.page(org, after="4", limit=10, types=groups).next_cursor == "4"


def test_retention_prunes_in_batches_and_the_mark_follows(hub: Hub) -> None:
    org = hub.orgs.create("batches").id
    _emit(hub, org, *(f"old{i}" for i in range(5)))
    with hub.db.write() as conn:
        conn.execute(
            update(events)
            .where(events.c.org_id == org)
            .values(occurred_at=utcnow() - timedelta(days=40))
        )
    _emit(hub, org, "new")
    log = Events(hub.db)
    assert log.prune(utcnow() - timedelta(days=30), batch=2) == 5
    with pytest.raises(CursorExpired):
        log.page(org, after="4", limit=10)
    page = log.page(org, after="5", limit=10)  # read through the last pruned: nothing lost
    assert [e.data["id"] for e in page.events] == ["new"]
    assert log.prune(utcnow() - timedelta(days=30), batch=2) == 0


def test_retention_removes_only_the_prefix_older_than_it(hub: Hub) -> None:
    """The stream is cut up to its first event younger than retention: an older one after
    it (a clock set back) waits, and what the prune did not reach is never lost."""
    org = hub.orgs.create("prefix").id
    _emit(hub, org, "old1", "old2", "young", "old3")
    with hub.db.write() as conn:
        conn.execute(
            update(events)
            .where(events.c.org_id == org, events.c.seq.in_([1, 2, 4]))
            .values(occurred_at=utcnow() - timedelta(days=40))
        )
    log = Events(hub.db)
    log.prune(utcnow() - timedelta(days=30))  # other tests' organisations share the database
    kept = log.page(org, after=None, limit=10)
    assert [(e.seq, e.data["id"]) for e in kept.events] == [(3, "young"), (4, "old3")]
    with pytest.raises(CursorExpired):
        log.page(org, after="1", limit=10)
    with hub.db.write() as conn:
        conn.execute(
            update(events)
            .where(events.c.org_id == org, events.c.seq == 3)
            .values(occurred_at=utcnow() - timedelta(days=40))
        )
    log.prune(utcnow() - timedelta(days=30))  # every one old now: all of it
    with pytest.raises(CursorExpired):
        log.page(org, after="3", limit=10)
    assert log.page(org, after="4", limit=10).events == []


def test_a_prune_between_the_reads_statements_is_not_a_silent_skip(hub: Hub) -> None:
    """On PostgreSQL each statement of a read sees what committed before it: a prune that
    commits while a page is read must still make the page a 410, not a page that starts
    after what the prune removed. (On SQLite the read is one snapshot and the page is
    whole.)"""
    org = hub.orgs.create("race").id
    _emit(hub, org, "a", "b", "c")
    with hub.db.write() as conn:
        conn.execute(
            update(events)
            .where(events.c.org_id == org, events.c.seq <= 2)
            .values(occurred_at=utcnow() - timedelta(days=40))
        )
    log = Events(hub.db)
    fired: list[bool] = []

    def prune_first(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not fired and "FROM events" in statement and "ORDER BY events.seq" in statement:
            fired.append(True)
            log.prune(utcnow() - timedelta(days=30))

    sa_event.listen(hub.db.engine, "before_cursor_execute", prune_first)
    try:
        try:
            page = log.page(org, after="1", limit=10)
        except CursorExpired:
            pass  # the prune was seen
        else:  # the read's snapshot came first: it must then be whole
            assert [e.data["id"] for e in page.events] == ["b", "c"]
    finally:
        sa_event.remove(hub.db.engine, "before_cursor_execute", prune_first)
    assert fired
    with pytest.raises(CursorExpired):
        log.page(org, after="1", limit=10)
