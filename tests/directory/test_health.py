"""The background-work status the console shows: in-process on SQLite; with workers on
PostgreSQL, alive workers by heartbeat and this organisation's jobs only."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from scimhub.api.services import Hub
from scimhub.directory.health import Health, InProcess, Workers
from scimhub.sync.tasks import PULL_ROUND
from tests.conftest import OrgClient


def _health(hub: Hub, *, in_process: bool) -> Health:
    return Health(
        hub.db, in_process=in_process, worker_stalled_seconds=hub.settings.worker_stalled_seconds
    )


def test_in_process_on_sqlite(hub: Hub, org: OrgClient) -> None:
    assert isinstance(_health(hub, in_process=True).background(org.org_id), InProcess)


def test_the_database_answers(hub: Hub) -> None:
    check = hub.health.database()
    assert check.dialect == ("sqlite" if hub.db.is_sqlite else "postgresql")
    assert check.elapsed_ms >= 0


@pytest.fixture
def queue(hub: Hub) -> Iterator[Hub]:
    if hub.db.is_sqlite:
        pytest.skip("the task queue lives in PostgreSQL")
    yield hub
    with hub.db.write() as conn:
        conn.execute(text("DELETE FROM procrastinate_jobs"))
        conn.execute(text("DELETE FROM procrastinate_workers"))


def test_workers_by_heartbeat_and_this_orgs_jobs(
    queue: Hub, org: OrgClient, other_org: OrgClient
) -> None:
    health = _health(queue, in_process=False)
    nobody = health.background(org.org_id)
    assert isinstance(nobody, Workers)
    assert (nobody.healthy, nobody.queue.workers_alive) == (False, 0)

    with queue.db.write() as conn:
        conn.execute(text("SELECT procrastinate_register_worker_v1()"))  # a live worker
        conn.execute(
            text(  # and one that went silent long ago
                "INSERT INTO procrastinate_workers (last_heartbeat) "
                "VALUES (now() - interval '1 hour')"
            )
        )
        for org_id, status in (
            (org.org_id, "todo"),
            (org.org_id, "doing"),
            (other_org.org_id, "todo"),
            (other_org.org_id, "todo"),
        ):
            conn.execute(
                text(
                    "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status) "
                    "VALUES ('default', :t, CAST(:a AS jsonb), "
                    "CAST(:s AS procrastinate_job_status))"
                ),
                {
                    "t": PULL_ROUND,
                    "a": json.dumps({"org_id": org_id, "instance_id": "i"}),
                    "s": status,
                },
            )
    seen = health.background(org.org_id)
    assert isinstance(seen, Workers)
    assert seen.healthy and seen.queue.workers_alive == 1 and seen.queue.last_heartbeat is not None
    assert (seen.queue.waiting, seen.queue.running, seen.queue.failed_last_day) == (1, 1, 0)
