"""The background work against the hub's database (SQLite, and PostgreSQL in CI): clean-up
removes exactly what is past its time; work for a vanished instance is skipped."""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import update

from scimhub.api.services import Hub
from scimhub.asgi import background_work
from scimhub.directory.events import CursorExpired, EventType, NewEvent, record
from scimhub.directory.request_log import RequestEntry, RequestLog
from scimhub.store.engine import utcnow
from scimhub.store.tables import consent_states, events, integration_errors, sessions
from tests.conftest import OrgClient


def _entry(org_id: str, days_ago: int, tracking_id: str) -> RequestEntry:
    return RequestEntry(
        org_id,
        utcnow() - timedelta(days=days_ago),
        "GET",
        "/Users",
        "User",
        200,
        None,
        1,
        tracking_id,
        None,
        None,
    )


def test_clean_up_removes_what_is_past_its_time_and_keeps_the_rest(
    hub: Hub, org: OrgClient
) -> None:
    work = background_work(hub)
    assert (
        work.retention.request_log
        == timedelta(days=hub.settings.request_log_days)
        == timedelta(days=30)
    )
    tag = uuid.uuid4().hex[:8]
    hub.requests.record(_entry(org.org_id, 31, f"OLD_{tag}_1"))
    hub.requests.record(_entry(org.org_id, 29, f"NEW_{tag}_1"))
    for name in ("old", "new"):
        hub.instances.record_failure(
            org.org_id,
            None,
            tracking_id=f"{name}-{tag}",
            operation="test",
            status=401,
            code="701018",
            upstream_code=None,
            upstream_message=None,
            correlation_id=None,
            client_request_id=None,
        )
    admin = hub.admins.create(
        org.org_id, f"clean-{tag}@example.com", "a long passphrase 1", "admin"
    )
    live_cookie, _ = hub.sessions.start(admin)
    dead_cookie, _ = hub.sessions.start(admin)
    live_state, dead_state = f"live-{tag}", f"dead-{tag}"
    for state in (live_state, dead_state):
        hub.instances.new_consent_state(state, org.org_id, "admin", None, {}, {})
    past = utcnow() - timedelta(minutes=1)
    with hub.db.write() as conn:
        conn.execute(
            update(integration_errors)
            .where(integration_errors.c.tracking_id == f"old-{tag}")
            .values(time=utcnow() - timedelta(days=31))
        )
        conn.execute(
            update(sessions)
            .where(sessions.c.id_hash == hashlib.sha256(dead_cookie.encode()).hexdigest())
            .values(expires_at=past)
        )
        conn.execute(
            update(consent_states)
            .where(consent_states.c.state_hash == hashlib.sha256(dead_state.encode()).hexdigest())
            .values(expires_at=past)
        )

    removed = work.clean_up()

    assert removed.requests >= 1 and removed.failures >= 1
    assert removed.sessions >= 1 and removed.consent_states >= 1
    kept = {e.tracking_id for e in hub.requests.entries(org.org_id, limit=10)[0]}
    assert kept == {f"NEW_{tag}_1"}
    failures = {f.tracking_id for f in hub.instances.failures(org.org_id)[0]}
    assert failures == {f"new-{tag}"}
    assert hub.sessions.lookup(live_cookie) is not None
    assert hub.instances.consume_consent_state(live_state, []) is not None
    assert hub.instances.consume_consent_state(dead_state, []) is None
    assert work.clean_up().requests == 0  # nothing left to remove


def test_work_for_a_vanished_instance_is_skipped(hub: Hub, org: OrgClient) -> None:
    work = background_work(hub)
    gone = str(uuid.uuid4())
    assert work.pull(org.org_id, gone) is None
    assert work.check(org.org_id, gone) is False
    assert hub.instances.failures(org.org_id)[1] == 0  # nothing to record either


def test_expiry_check_warns_while_the_client_secret_nears_its_end(
    hub: Hub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    work = background_work(hub)
    settings = work.reader.settings
    assert work.check_expiry().client_secret_days_left is None  # not configured
    now = utcnow()
    monkeypatch.setattr(
        work.reader, "settings", replace(settings, client_secret_expires=now + timedelta(days=60))
    )
    with caplog.at_level(logging.WARNING, "scimhub.sync"):
        assert work.check_expiry(now).client_secret_days_left == 60
        assert "client secret" not in caplog.text
        monkeypatch.setattr(
            work.reader,
            "settings",
            replace(settings, client_secret_expires=now + timedelta(days=12)),
        )
        assert work.check_expiry(now).client_secret_days_left == 12
    assert "the hub's client secret (SCIMHUB_ENTRA_CLIENT_SECRET) expires" in caplog.text


def test_a_flush_returns_only_when_entries_taken_by_another_flush_are_written(
    hub: Hub, org: OrgClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console's provisioning log and clean-up flush, then read or delete: an entry
    another thread's flush was still writing must not be missed (it once was, in CI)."""
    log = RequestLog(hub.db)
    writing, release = threading.Event(), threading.Event()
    real_write = hub.db.write

    @contextmanager
    def slow_write() -> Iterator[Any]:
        with real_write() as conn:
            writing.set()
            release.wait(5)
            yield conn

    tag = uuid.uuid4().hex[:8]
    log.record(_entry(org.org_id, 0, f"RACE_{tag}_1"))
    monkeypatch.setattr(log, "db", SimpleNamespace(write=slow_write))  # only write() is used
    first = threading.Thread(target=log.flush)
    first.start()
    assert writing.wait(5)  # the first flush holds the batch, mid-write
    log.db = hub.db
    second = threading.Thread(target=log.flush)
    second.start()
    second.join(0.3)
    assert second.is_alive()  # waits for the first flush instead of returning early
    release.set()
    first.join(5)
    second.join(5)
    assert f"RACE_{tag}_1" in {e.tracking_id for e in log.entries(org.org_id, limit=5)[0]}


def test_clean_up_prunes_change_events_past_their_retention(hub: Hub, org: OrgClient) -> None:
    work = background_work(hub)
    assert (
        work.retention.events
        == timedelta(days=hub.settings.event_retention_days)
        == timedelta(days=30)
    )
    with hub.db.write() as conn:
        record(conn, org.org_id, [NewEvent(EventType.USER_CREATED, {"id": "old"})] * 3)
        conn.execute(
            update(events)
            .where(events.c.org_id == org.org_id)
            .values(occurred_at=utcnow() - timedelta(days=31))
        )
    with hub.db.write() as conn:
        record(conn, org.org_id, [NewEvent(EventType.USER_CREATED, {"id": "new"})])

    assert work.clean_up().events >= 3  # other tests' organisations share the database

    assert [e.data["id"] for e in hub.events.page(org.org_id, after=None, limit=10).events] == [
        "new"
    ]
    with pytest.raises(CursorExpired):  # a reader still before them is told, not skipped
        hub.events.page(org.org_id, after="0", limit=10)
    assert work.clean_up().events == 0
