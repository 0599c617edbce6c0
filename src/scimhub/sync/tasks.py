"""The background work as procrastinate tasks, for `scimhub worker` processes on PostgreSQL.

- Periodic tasks fan the work out: procrastinate defers each periodic tick once, however
  many workers run (a unique row per task and tick in `procrastinate_periodic_defers`).
- A pull round is one job per instance, deferred with a queueing lock (never two waiting)
  and a lock (never two running); the round itself also takes the instance's advisory lock,
  so a "Sync now" from an API process and a worker's round cannot overlap either.
- Webhook delivery is one job per endpoint run, with the endpoint's queueing lock and
  lock: one worker at a time serves an endpoint, so its events keep their order. Every
  worker looks twice a second for endpoints that are behind and due (one cheap query)
  and defers their jobs; the queueing lock turns the other workers' defers into no-ops.
- A worker that dies mid-job stops sending heartbeats; `recover_stalled` in any other
  worker puts its jobs back in the queue. A pull round resumes from the last page it
  saved, so nothing is lost and nothing is applied twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Job, JobDeferrer, Status
from sqlalchemy.engine import make_url

from ..config import ConfigError
from ..delivery.deliver import Deliverer
from ..directory.instances import Mode
from . import task_runs
from .work import SyncWork

log = logging.getLogger("scimhub.sync")

PULL_ROUND = "scimhub.pull_round"
LDAP_ROUND = "scimhub.ldap_round"
CHECK_INSTANCE = "scimhub.check_instance"
DELIVER_WEBHOOK = "scimhub.deliver_webhook"
WEBHOOK_POLL_SECONDS = 0.5
FINISHED_JOBS_KEPT_HOURS = 24
MAX_RUNS = 3  # runs of one job cut short by a dead worker before it is failed


def cron_every(seconds: int, setting: str) -> str:
    """A cron expression firing every `seconds` (croniter's sixth field is seconds). Cron
    can only divide a minute, an hour or a day evenly, so other intervals are refused."""
    for unit, size, template in (
        (1, 60, "* * * * * */{}"),
        (60, 60, "*/{} * * * *"),
        (3600, 24, "0 */{} * * *"),
    ):
        if seconds % unit == 0 and size % (seconds // unit) == 0:
            return template.format(seconds // unit)
    raise ConfigError(
        f"{setting}={seconds}: with `scimhub worker` the interval must divide a "
        "minute, an hour or a day (e.g. 30, 300, 900, 3600, 86400)"
    )


def conninfo(database_url: str) -> str:
    """libpq connection string from the hub's SQLAlchemy URL."""
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise ConfigError("scimhub worker needs SCIMHUB_DATABASE_URL=postgresql://...")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class Schedule:
    pull_interval: int  # seconds; 0: no scheduled pulls
    status_interval: int  # seconds; 0: no scheduled checks
    stalled_seconds: int  # a worker silent this long is dead

    def __post_init__(self) -> None:
        self.crons()  # refuse an interval cron cannot express before the worker starts

    def crons(self) -> tuple[str | None, str | None, str]:
        """(pull, status check, dead-worker recovery): recovery looks a few times per
        stalled-worker timeout."""
        pull = (
            cron_every(self.pull_interval, "SCIMHUB_PULL_INTERVAL_SECONDS")
            if self.pull_interval
            else None
        )
        status = (
            cron_every(self.status_interval, "SCIMHUB_STATUS_INTERVAL_SECONDS")
            if self.status_interval
            else None
        )
        step = max(
            d
            for d in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)
            if d <= max(1, self.stalled_seconds // 3)
        )
        return pull, status, cron_every(step, "SCIMHUB_WORKER_STALLED_SECONDS")


def queue_app(database_url: str) -> procrastinate.App:
    """The queue without task bodies: enough to defer jobs by name or inspect them."""
    return procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(database_url))
    )


def pull_round_job(app: procrastinate.App, org_id: str, instance_id: str) -> JobDeferrer:
    """A pull round for one instance: never two waiting, never two running."""
    return app.configure_task(
        PULL_ROUND,
        lock=f"instance:{instance_id}",
        queueing_lock=f"pull:{instance_id}",
        task_kwargs={"org_id": org_id, "instance_id": instance_id},
    )


def ldap_round_job(app: procrastinate.App, org_id: str, source_id: str) -> JobDeferrer:
    """A round of an LDAP source: its locks are a pull instance's (never two waiting, never
    two running), keyed by the source's id."""
    return app.configure_task(
        LDAP_ROUND,
        lock=f"instance:{source_id}",
        queueing_lock=f"pull:{source_id}",
        task_kwargs={"org_id": org_id},
    )


def check_job(app: procrastinate.App, org_id: str, instance_id: str) -> JobDeferrer:
    return app.configure_task(
        CHECK_INSTANCE,
        queueing_lock=f"check:{instance_id}",
        task_kwargs={"org_id": org_id, "instance_id": instance_id},
    )


def webhook_job(app: procrastinate.App, endpoint_id: str) -> JobDeferrer:
    """One endpoint's delivery run: never two waiting, never two running."""
    return app.configure_task(
        DELIVER_WEBHOOK,
        lock=f"webhook:{endpoint_id}",
        queueing_lock=f"webhook:{endpoint_id}",
        task_kwargs={"endpoint_id": endpoint_id},
    )


async def dispatch_webhooks(app: procrastinate.App, deliverer: Deliverer) -> int:
    """Defer a run for every endpoint that is behind and due; returns how many."""
    due = await asyncio.to_thread(deliverer.due)
    return sum([await _defer_once(webhook_job(app, endpoint_id)) for endpoint_id in due])


async def dispatch_webhooks_forever(
    app: procrastinate.App, deliverer: Deliverer, interval: float = WEBHOOK_POLL_SECONDS
) -> None:
    while True:
        try:
            await dispatch_webhooks(app, deliverer)
        except Exception:  # the database may be away for a moment; poll again
            log.exception("could not dispatch webhook deliveries")
        await asyncio.sleep(interval)


async def _defer_once(job: JobDeferrer) -> bool:
    try:
        await job.defer_async()
    except AlreadyEnqueued:  # one is already waiting: it will do
        return False
    return True


def worker_app(
    database_url: str,
    work: SyncWork,
    schedule: Schedule,
    deliverer: Deliverer | None = None,
) -> procrastinate.App:
    app = queue_app(database_url)
    pull_cron, status_cron, recovery_cron = schedule.crons()

    if deliverer is not None:

        @app.task(name=DELIVER_WEBHOOK)
        def deliver_webhook(endpoint_id: str) -> dict[str, Any]:
            return asdict(task_runs.deliver(deliverer, endpoint_id, work.tracking_id()))

        @app.periodic(cron="29 * * * *")
        @app.task(name="scimhub.webhook_clean_up", queueing_lock="webhook_clean_up")
        def webhook_clean_up(timestamp: int) -> int:
            return task_runs.webhook_clean_up(deliverer, work.tracking_id())

    @app.task(name=PULL_ROUND)
    def pull_round(org_id: str, instance_id: str) -> dict[str, Any] | None:
        return work.pull(org_id, instance_id)

    @app.task(name=LDAP_ROUND)
    def ldap_round(org_id: str) -> dict[str, Any] | None:
        return work.ldap_round(org_id)

    @app.task(name=CHECK_INSTANCE)
    def check_instance(org_id: str, instance_id: str) -> bool:
        return work.check(org_id, instance_id)

    if pull_cron:

        @app.periodic(cron=pull_cron)
        @app.task(name="scimhub.dispatch_pulls", queueing_lock="dispatch_pulls")
        async def dispatch_pulls(timestamp: int) -> int:
            instances = await asyncio.to_thread(work.instances_in_mode, Mode.PULL)
            deferred = [await _defer_once(pull_round_job(app, i.org_id, i.id)) for i in instances]
            sources = await asyncio.to_thread(work.ldap_sources)
            deferred += [await _defer_once(ldap_round_job(app, s.org_id, s.id)) for s in sources]
            return sum(deferred)

    if status_cron:

        @app.periodic(cron=status_cron)
        @app.task(name="scimhub.dispatch_checks", queueing_lock="dispatch_checks")
        async def dispatch_checks(timestamp: int) -> int:
            instances = await asyncio.to_thread(work.all_instances)
            deferred = [await _defer_once(check_job(app, i.org_id, i.id)) for i in instances]
            return sum(deferred)

    @app.periodic(cron="17 * * * *")
    @app.task(name="scimhub.check_expiry", queueing_lock="check_expiry")
    def check_expiry(timestamp: int) -> dict[str, Any]:
        return asdict(work.check_expiry())

    @app.periodic(cron="41 * * * *")
    @app.task(name="scimhub.clean_up", queueing_lock="clean_up", pass_context=True)
    async def clean_up(context: procrastinate.JobContext, timestamp: int) -> dict[str, int]:
        removed = asdict(await asyncio.to_thread(work.clean_up))
        await context.app.job_manager.delete_old_jobs(
            nb_hours=FINISHED_JOBS_KEPT_HOURS,
            include_failed=True,
            include_cancelled=True,
            include_aborted=True,
        )
        return removed

    @app.periodic(cron=recovery_cron)
    @app.task(name="scimhub.recover_stalled", queueing_lock="recover_stalled", pass_context=True)
    async def recover_stalled(context: procrastinate.JobContext, timestamp: int) -> dict[str, int]:
        return await recover(context.app.job_manager, schedule.stalled_seconds)

    return app


class StalledJobs(Protocol):
    """What `recover` uses of procrastinate's JobManager (tests stand in for it)."""

    async def get_stalled_jobs(self, *, seconds_since_heartbeat: float) -> Iterable[Job]: ...
    async def retry_job(self, job: Job) -> None: ...
    async def finish_job(self, job: Job, *, status: Status, delete_job: bool) -> None: ...


async def recover(manager: StalledJobs, stalled_seconds: float) -> dict[str, int]:
    """Queue again the jobs of workers that stopped answering; a job whose runs all ended
    that way (it may be what kills its worker, e.g. out of memory) is failed instead of
    being handed to the next worker.

    A webhook delivery run is ended instead: it has no state of its own (the endpoint's
    cursor is in the database, moved with each delivery), and the run the dispatcher
    already queued behind it holds its queueing lock, so queueing the stalled one again
    would collide with it. Ending it frees the endpoint's lock for that next run."""
    out = {"retried": 0, "failed": 0, "ended": 0}
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds):
        if job.task_name == DELIVER_WEBHOOK:
            log.warning(
                "job %s (%s) was running on a worker that stopped answering; ended, the "
                "next run resumes from the endpoint's cursor",
                job.id,
                job.task_name,
            )
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            out["ended"] += 1
        elif job.attempts >= MAX_RUNS:
            log.error(
                "job %s (%s) was running on a worker that stopped answering, %d times; failed",
                job.id,
                job.task_name,
                job.attempts,
            )
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            out["failed"] += 1
        else:
            log.warning(
                "job %s (%s) was running on a worker that stopped answering; queued again",
                job.id,
                job.task_name,
            )
            await manager.retry_job(job)
            out["retried"] += 1
    return out
