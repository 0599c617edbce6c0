"""The event log itself: positions in commit order, cursors, retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
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
