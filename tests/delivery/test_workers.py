"""Webhook delivery in `scimhub worker` processes on PostgreSQL: a worker killed in the
middle of a delivery (the receiver has the event, the hub never heard its answer) loses
nothing and reorders nothing — another worker takes the endpoint over from its cursor and
sends that one event again, with the same webhook-id."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from procrastinate.jobs import Job, Status
from sqlalchemy import select, text

from scimhub.api.services import Hub
from scimhub.config import Settings
from scimhub.directory.events import EventType, NewEvent, record
from scimhub.directory.webhooks import Outcome
from scimhub.store.tables import webhook_deliveries
from scimhub.sync.tasks import DELIVER_WEBHOOK, recover
from tests.conftest import _postgres_database
from tests.delivery.conftest import ADMIN
from tests.delivery.receiver import Received, Receiver, serving
from tests.e2e.entra import Hub as LiveHub
from tests.e2e.entra import run_workers, wait_for
from tests.sync.test_schedule import RecordingManager


def test_a_stalled_delivery_run_is_ended_not_queued_again() -> None:
    stalled = Job(
        id=7, queue="default", lock="webhook:e", queueing_lock="webhook:e",
        task_name=DELIVER_WEBHOOK, attempts=0,
    )  # fmt: skip
    manager = RecordingManager([stalled])
    assert asyncio.run(recover(manager, 3)) == {"retried": 0, "failed": 0, "ended": 1}
    assert manager.finished == [(7, Status.FAILED)] and manager.retried == []


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Hub, dict[str, str]]]:
    server = os.environ.get("SCIMHUB_TEST_DATABASE_URL")
    if not server:
        pytest.skip("workers need PostgreSQL (SCIMHUB_TEST_DATABASE_URL)")
    for url in _postgres_database(server):  # a database of its own: workers serve it all
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMHUB_")}
        env |= {
            "SCIMHUB_DATA_DIR": str(tmp_path / "hub"),
            "SCIMHUB_DATABASE_URL": url,
            "SCIMHUB_SECRET_KEY": Fernet.generate_key().decode(),
            "SCIMHUB_WEBHOOK_ALLOW_PRIVATE": "true",
            "SCIMHUB_PULL_INTERVAL_SECONDS": "0",
            "SCIMHUB_STATUS_INTERVAL_SECONDS": "0",
        }
        hub = Hub.open(Settings.from_env(env))
        try:
            yield hub, env
        finally:
            hub.close()


def test_a_killed_workers_delivery_is_finished_by_another_in_order(
    world: tuple[Hub, dict[str, str]], tmp_path: Path
) -> None:
    hub, env = world
    org_id = hub.orgs.create("workers").id
    in_flight, release = threading.Event(), threading.Event()
    hold_at = 8

    def answer(got: Received) -> tuple[int, dict[str, str]]:
        time.sleep(0.02)
        if len(receiver.requests) == hold_at and not release.is_set():
            in_flight.set()  # the 8th delivery: hold it while its worker is killed
            release.wait(30)
        return 200, {}

    receiver = Receiver(respond=answer)
    with serving(receiver):
        created = hub.webhooks.add(org_id, receiver.url, actor=ADMIN)
        receiver.secrets = [created.secret]
        for n in range(6):
            with hub.db.write() as conn:
                record(conn, org_id, [NewEvent(EventType.USER_CREATED, {"n": 5 * n + i})
                                      for i in range(5)])  # fmt: skip
        emitted = [e.id for e in hub.events.page(org_id, after=None, limit=100).events]
        live = LiveHub("", org_id, "", env)
        with run_workers(live, tmp_path, 2) as workers:
            assert in_flight.wait(30), "no delivery reached the receiver"
            with hub.db.read() as conn:
                job_id = conn.execute(
                    text(
                        "SELECT id FROM procrastinate_jobs WHERE task_name = :t "
                        "AND status = 'doing'"
                    ),
                    {"t": DELIVER_WEBHOOK},
                ).scalar_one()
            started = f"Starting job {DELIVER_WEBHOOK}[{job_id}]"
            victim = next(w for w in workers if started in w.log())
            survivor = next(w for w in workers if w is not victim)
            victim.kill()
            release.set()  # the receiver has the event; its worker never hears the answer
            wait_for(lambda: len(receiver.acknowledged) == len(emitted), timeout=60)
            assert "ended, the next run resumes" in survivor.log()

    assert receiver.acknowledged == emitted  # every event, in order
    assert not receiver.bad_signatures
    seen = [r.id for r in receiver.requests]
    held = seen[hold_at - 1]
    assert seen.count(held) == 2  # the one in flight came again, with its webhook-id
    assert all(seen.count(i) == 1 for i in emitted if i != held)
    assert seen.index(held) == emitted.index(held)  # nothing after it went out before it
    with hub.db.read() as conn:
        delivered = (
            conn.execute(
                select(webhook_deliveries.c.event_id)
                .where(
                    webhook_deliveries.c.endpoint_id == created.endpoint.id,
                    webhook_deliveries.c.outcome == Outcome.DELIVERED.value,
                )
                .order_by(webhook_deliveries.c.id)
            )
            .scalars()
            .all()
        )
    assert list(delivered) == emitted  # recorded once each
