"""The background-work status the console shows: in-process on SQLite; with workers on
PostgreSQL, alive workers by heartbeat and this organisation's jobs only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import text

from scimhub.api.services import Hub
from scimhub.sync.status import background_status
from scimhub.sync.tasks import PULL_ROUND
from tests.conftest import OrgClient


def test_in_process_on_sqlite(hub: Hub, org: OrgClient) -> None:
    settings = replace(hub.settings, scheduler="inprocess")
    assert background_status(hub.db, settings, org.org_id).mode == "inprocess"


@pytest.fixture
def queue(hub: Hub) -> Iterator[Hub]:
    if hub.db.is_sqlite:
        pytest.skip("the task queue lives in PostgreSQL")
    yield hub
    with hub.db.write() as conn:
        conn.execute(text("DELETE FROM procrastinate_jobs"))
        conn.execute(text("DELETE FROM procrastinate_workers"))


def test_workers_by_heartbeat_and_this_orgs_jobs(queue: Hub, org: OrgClient,
                                                  other_org: OrgClient) -> None:
    settings = replace(queue.settings, scheduler="worker")
    nobody = background_status(queue.db, settings, org.org_id)
    assert (nobody.mode, nobody.healthy, nobody.workers_alive) == ("worker", False, 0)

    with queue.db.write() as conn:
        conn.execute(text("SELECT procrastinate_register_worker_v1()"))  # a live worker
        conn.execute(text(  # and one that went silent long ago
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '1 hour')"))
        for org_id, status in ((org.org_id, "todo"), (org.org_id, "doing"),
                               (other_org.org_id, "todo"), (other_org.org_id, "todo")):
            conn.execute(text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status) "
                "VALUES ('default', :t, CAST(:a AS jsonb), CAST(:s AS procrastinate_job_status))"),
                {"t": PULL_ROUND, "a": json.dumps({"org_id": org_id, "instance_id": "i"}),
                 "s": status})
    seen = background_status(queue.db, settings, org.org_id)
    assert seen.healthy and seen.workers_alive == 1 and seen.last_heartbeat is not None
    assert (seen.waiting, seen.running, seen.failed_last_day) == (1, 1, 0)
