"""How the background work is doing, for the console's status page: where it runs and, with
`scimhub worker`, which workers are alive (procrastinate's heartbeats) and the queue's jobs
for one organisation (other organisations' jobs are not shown)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from ..config import Settings
from ..store.engine import Database, as_utc

_WORKERS = text(
    "SELECT count(*) FILTER (WHERE last_heartbeat >= now() - make_interval(secs => :stalled)) "
    "AS alive, max(last_heartbeat) AS last FROM procrastinate_workers")
_JOBS = text(
    "SELECT status::text AS status, count(*) AS n FROM procrastinate_jobs "
    "WHERE args->>'org_id' = :org AND (status IN ('todo', 'doing') OR "
    "(status = 'failed' AND id IN (SELECT job_id FROM procrastinate_events "
    "WHERE type = 'failed' AND at >= now() - interval '1 day'))) GROUP BY status")


@dataclass(frozen=True, slots=True)
class BackgroundStatus:
    mode: str  # "inprocess" | "worker"
    healthy: bool
    workers_alive: int = 0
    last_heartbeat: datetime | None = None
    waiting: int = 0
    running: int = 0
    failed_last_day: int = 0


def background_status(db: Database, settings: Settings, org_id: str) -> BackgroundStatus:
    if settings.in_process_scheduler:
        return BackgroundStatus("inprocess", True)
    with db.read() as conn:
        workers = conn.execute(_WORKERS, {"stalled": settings.worker_stalled_seconds}).one()
        jobs = {r.status: int(r.n) for r in conn.execute(_JOBS, {"org": org_id})}
    return BackgroundStatus(
        "worker", healthy=bool(workers.alive), workers_alive=int(workers.alive),
        last_heartbeat=as_utc(workers.last) if workers.last else None,
        waiting=jobs.get("todo", 0), running=jobs.get("doing", 0),
        failed_last_day=jobs.get("failed", 0))
