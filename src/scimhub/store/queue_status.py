"""What procrastinate's tables say about `scimhub worker`: the workers alive by their
heartbeats, and one organisation's jobs (never another's). PostgreSQL only: the queue's
schema is installed there by migration 0005."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from .engine import Database, as_utc

_WORKERS = text(
    "SELECT count(*) FILTER (WHERE last_heartbeat >= now() - make_interval(secs => :stalled)) "
    "AS alive, max(last_heartbeat) AS last FROM procrastinate_workers"
)
_ALIVE = text(
    "SELECT count(*) FROM procrastinate_workers "
    "WHERE last_heartbeat >= now() - make_interval(secs => :stalled)"
)
_DEPTH = text(
    "SELECT task_name, status::text AS status, count(*) AS n FROM procrastinate_jobs "
    "WHERE status IN ('todo', 'doing') GROUP BY task_name, status"
)
_JOBS = text(
    "SELECT status::text AS status, count(*) AS n FROM procrastinate_jobs "
    "WHERE args->>'org_id' = :org AND (status IN ('todo', 'doing') OR "
    "(status = 'failed' AND id IN (SELECT job_id FROM procrastinate_events "
    "WHERE type = 'failed' AND at >= now() - interval '1 day'))) GROUP BY status"
)


@dataclass(frozen=True, slots=True)
class QueueStatus:
    workers_alive: int
    last_heartbeat: datetime | None
    waiting: int
    running: int
    failed_last_day: int


def queue_status(db: Database, org_id: str, *, stalled_seconds: int) -> QueueStatus:
    """A worker silent for `stalled_seconds` counts as dead."""
    with db.read() as conn:
        workers = conn.execute(_WORKERS, {"stalled": stalled_seconds}).one()
        jobs = {r.status: int(r.n) for r in conn.execute(_JOBS, {"org": org_id})}
    return QueueStatus(
        int(workers.alive),
        as_utc(workers.last) if workers.last else None,
        waiting=jobs.get("todo", 0),
        running=jobs.get("doing", 0),
        failed_last_day=jobs.get("failed", 0),
    )


def workers_alive(db: Database, *, stalled_seconds: int) -> int:
    """Workers whose heartbeat is younger than `stalled_seconds`, all organisations'."""
    with db.read() as conn:
        return int(conn.execute(_ALIVE, {"stalled": stalled_seconds}).scalar_one())


def queue_depth(db: Database) -> list[tuple[str, str, int]]:
    """(task, todo|doing, jobs) over the whole queue, for the metrics."""
    with db.read() as conn:
        return [(r.task_name, r.status, int(r.n)) for r in conn.execute(_DEPTH)]
