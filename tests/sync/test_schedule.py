"""Turning the hub's intervals into procrastinate's periodic schedules, the settings that
choose where background work runs, and what happens to a dead worker's jobs."""

from __future__ import annotations

import asyncio

import pytest
from procrastinate.jobs import Job, Status

from scimhub.config import ConfigError, Settings
from scimhub.sync.tasks import PULL_ROUND, Schedule, conninfo, cron_every, recover


@pytest.mark.parametrize(
    ("seconds", "cron"),
    [
        (1, "* * * * * */1"),
        (15, "* * * * * */15"),
        (60, "* * * * * */60"),
        (120, "*/2 * * * *"),
        (900, "*/15 * * * *"),
        (3600, "*/60 * * * *"),
        (7200, "0 */2 * * *"),
        (86400, "0 */24 * * *"),
    ],
)
def test_intervals_that_divide_a_minute_an_hour_or_a_day(seconds: int, cron: str) -> None:
    assert cron_every(seconds, "X") == cron


@pytest.mark.parametrize("seconds", [7, 90, 5000, 100_000])
def test_other_intervals_are_refused_naming_the_setting(seconds: int) -> None:
    with pytest.raises(ConfigError, match=f"SCIMHUB_PULL_INTERVAL_SECONDS={seconds}"):
        Schedule(pull_interval=seconds, status_interval=300, stalled_seconds=60)


def test_schedule_crons() -> None:
    assert Schedule(900, 300, 60).crons() == ("*/15 * * * *", "*/5 * * * *", "* * * * * */20")
    # nothing scheduled when an interval is 0; recovery runs a few times per timeout
    assert Schedule(0, 0, 6).crons() == (None, None, "* * * * * */2")
    assert Schedule(0, 0, 2).crons()[2] == "* * * * * */1"


def test_conninfo_from_the_hub_url() -> None:
    assert conninfo("postgresql+psycopg://u:p@db:5433/hub") == "postgresql://u:p@db:5433/hub"
    with pytest.raises(ConfigError, match="postgresql"):
        conninfo("sqlite:///data/scimhub.db")


def test_where_background_work_runs() -> None:
    assert Settings.from_env({}).in_process_scheduler  # SQLite: in the API process
    pg = {"SCIMHUB_DATABASE_URL": "postgresql://db/hub"}
    assert not Settings.from_env(pg).in_process_scheduler  # PostgreSQL: scimhub worker
    assert Settings.from_env({**pg, "SCIMHUB_SCHEDULER": "inprocess"}).in_process_scheduler
    with pytest.raises(ConfigError, match="SCIMHUB_SCHEDULER"):
        Settings.from_env({"SCIMHUB_SCHEDULER": "cron"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SCIMHUB_PULL_PAGE_SIZE": "1000"}, "SCIMHUB_PULL_PAGE_SIZE"),
        ({"SCIMHUB_TOKEN_RENEW_DAYS": "200"}, "SCIMHUB_TOKEN_RENEW_DAYS"),
        ({"SCIMHUB_WORKER_STALLED_SECONDS": "15"}, "SCIMHUB_WORKER_STALLED_SECONDS"),
        ({"SCIMHUB_JOB_TOKEN_DAYS": "1"}, "SCIMHUB_JOB_TOKEN_DAYS"),
        ({"SCIMHUB_ENTRA_CLIENT_SECRET_EXPIRES": "next year"}, "2027-03-31"),
    ],
)
def test_background_settings_are_validated(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_client_secret_expiry_setting() -> None:
    end_of_day = Settings.from_env({"SCIMHUB_ENTRA_CLIENT_SECRET_EXPIRES": "2027-03-31"})
    assert end_of_day.entra_client_secret_expires is not None
    assert end_of_day.entra_client_secret_expires.isoformat().startswith("2027-03-31T23:59:59")
    exact = Settings.from_env({"SCIMHUB_ENTRA_CLIENT_SECRET_EXPIRES": "2027-03-31T08:00:00Z"})
    assert exact.entra_client_secret_expires is not None
    assert exact.entra_client_secret_expires.hour == 8
    assert Settings.from_env({}).entra_client_secret_expires is None


class RecordingManager:
    """Stands in for procrastinate's JobManager: returns given stalled jobs, records calls."""

    def __init__(self, stalled: list[Job]) -> None:
        self.stalled = stalled
        self.asked: list[float] = []
        self.retried: list[int | None] = []
        self.finished: list[tuple[int | None, Status]] = []

    async def get_stalled_jobs(self, *, seconds_since_heartbeat: float) -> list[Job]:
        self.asked.append(seconds_since_heartbeat)
        return self.stalled

    async def retry_job(self, job: Job) -> None:
        self.retried.append(job.id)

    async def finish_job(self, job: Job, *, status: Status, delete_job: bool) -> None:
        self.finished.append((job.id, status))


def test_a_dead_workers_jobs_are_retried_until_they_look_like_the_cause() -> None:
    jobs = [
        Job(id=n, queue="default", lock=None, queueing_lock=None, task_name=PULL_ROUND, attempts=n)
        for n in (1, 2, 3)
    ]
    manager = RecordingManager(jobs)
    assert asyncio.run(recover(manager, 60)) == {"retried": 2, "failed": 1, "ended": 0}
    assert manager.asked == [60]
    assert manager.retried == [1, 2]
    assert manager.finished == [(3, Status.FAILED)]
