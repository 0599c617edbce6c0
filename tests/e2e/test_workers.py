"""`scimhub worker` processes on PostgreSQL (procrastinate), against a live emulator and hub:
a worker killed in the middle of a pull round has its job finished by another without
losing or duplicating anything; periodic rounds are deferred once per tick however many
workers run, and never overlap."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from scimhub.api.services import Hub as Services
from scimhub.config import Settings
from scimhub.store.tables import entra_links, users
from scimhub.sync.tasks import PULL_ROUND, pull_round_job, queue_app
from tests.conftest import _postgres_database
from tests.e2e.entra import Emulator, Hub, connect, run_emulator, run_hub, run_workers, wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Emulator, Hub, Services]]:
    server = os.environ.get("SCIMHUB_TEST_DATABASE_URL")
    if not server:
        pytest.skip("workers need PostgreSQL (SCIMHUB_TEST_DATABASE_URL)")
    # a database of its own: workers serve every organisation they find
    for url in _postgres_database(server):
        with (
            run_emulator(tmp_path / "emu", users=400, groups=3) as emu,
            run_hub(tmp_path / "hub", emu, url, SCIMHUB_PULL_PAGE_SIZE="25") as hub,
        ):
            connect(hub, emu, mode="pull", scope="all")
            services = Services.open(Settings.from_env(hub.env))
            try:
                yield emu, hub, services
            finally:
                services.close()


def _user_count(services: Services, org_id: str) -> int:
    with services.db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(users).where(users.c.org_id == org_id)
            ).scalar_one()
        )


def _entra_user_names(emu: Emulator) -> set[str]:
    listed = json.loads(emu.cli("users", "list", "--tenant", emu.tenant["id"], "--top", "1000"))
    return {u["userPrincipalName"] for u in listed}


def test_a_killed_workers_pull_round_is_finished_by_another(
    world: tuple[Emulator, Hub, Services], tmp_path: Path
) -> None:
    emu, hub, services = world
    instance = services.instances.list(hub.org_id)[0]
    expected = _entra_user_names(emu)
    emu.cli("faults", "set", "--latency-ms", "150")  # 16+ pages: a round of a few seconds
    queue = queue_app(services.settings.database_url)
    with queue.open(), run_workers(hub, tmp_path, 2, SCIMHUB_PULL_INTERVAL_SECONDS="0") as ws:
        job_id = pull_round_job(queue, hub.org_id, instance.id).defer()
        started = f"Starting job {PULL_ROUND}[{job_id}]"
        victim = wait_for(lambda: next((w for w in ws if started in w.log()), None))
        survivor = next(w for w in ws if w is not victim)
        # the first page is applied (its next link saved): kill the worker mid-round
        wait_for(
            lambda: (i := services.instances.get(hub.org_id, instance.id)) and i.users_delta_link,
            interval=0.05,
        )
        victim.kill()
        applied_before = _user_count(services, hub.org_id)
        assert 25 <= applied_before < len(expected)

        # the survivor sees the silent worker's job and runs it again, from the saved page
        wait_for(lambda: "queued again" in survivor.log(), timeout=30)
        wait_for(lambda: queue.job_manager.get_job_status(job_id).value == "succeeded", timeout=60)
        assert started in survivor.log()

    with services.db.read() as conn:
        attempts = conn.execute(
            text("SELECT attempts FROM procrastinate_jobs WHERE id = :i"), {"i": job_id}
        ).scalar_one()
        links = conn.execute(
            select(func.count())
            .select_from(entra_links)
            .where(entra_links.c.instance_id == instance.id)
        ).scalar_one()
    assert attempts == 2
    finished = services.instances.get(hub.org_id, instance.id)
    assert finished is not None and finished.last_pull is not None
    # nothing applied twice: the second attempt created exactly the users the first had not
    assert finished.last_pull["users_created"] == len(expected) - applied_before
    assert _user_count(services, hub.org_id) == len(expected)
    assert _hub_user_names(services, hub.org_id) == {n.lower() for n in expected}
    groups = json.loads(emu.cli("groups", "list", "--tenant", emu.tenant["id"]))
    assert links == len(expected) + len(groups)  # one link per Entra user and group


def _hub_user_names(services: Services, org_id: str) -> set[str]:
    with services.db.read() as conn:
        return {
            r[0] for r in conn.execute(select(users.c.user_name_ci).where(users.c.org_id == org_id))
        }


def test_periodic_rounds_are_deferred_once_and_never_overlap(
    world: tuple[Emulator, Hub, Services], tmp_path: Path
) -> None:
    emu, hub, services = world
    instance = services.instances.list(hub.org_id)[0]
    with run_workers(hub, tmp_path, 3, SCIMHUB_PULL_INTERVAL_SECONDS="2"):
        wait_for(lambda: _rounds(services, "succeeded") >= 4, timeout=60)
    with services.db.read() as conn:
        ticks = conn.execute(
            text(
                "SELECT args->>'timestamp', count(*) FROM procrastinate_jobs "
                "WHERE task_name = 'scimhub.dispatch_pulls' GROUP BY 1"
            )
        ).all()
        spans = conn.execute(
            text(
                "SELECT j.id, min(e.at) FILTER (WHERE e.type = 'started'), "
                "max(e.at) FILTER (WHERE e.type IN ('succeeded', 'failed')) "
                "FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id "
                "WHERE j.task_name = :t GROUP BY j.id ORDER BY 2"
            ),
            {"t": PULL_ROUND},
        ).all()
    assert len(ticks) >= 4 and all(n == 1 for _, n in ticks), ticks  # one job per tick
    rounds = [(start, end) for _, start, end in spans if start is not None]
    assert all(end is not None for _, end in rounds)
    for (_, first_end), (second_start, _) in itertools.pairwise(rounds):
        assert first_end <= second_start, "two pull rounds of one instance overlapped"
    assert _user_count(services, hub.org_id) == len(_entra_user_names(emu))
    # the later rounds were incremental: they found nothing new to create
    saved = services.instances.get(hub.org_id, instance.id)
    assert saved is not None and saved.last_pull is not None
    assert saved.last_pull["users_created"] == 0


def _rounds(services: Services, status: str) -> int:
    with services.db.read() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t AND status = :s"
                ),
                {"t": PULL_ROUND, "s": status},
            ).scalar_one()
        )
