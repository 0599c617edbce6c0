"""The hub's own components as `/readyz`, the metrics and the console's Status page check
them: the database and its migrations, and where the background work runs — in the API
process (SQLite), or in `scimhub worker` processes fed by the PostgreSQL task queue."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..store import migrate
from ..store.engine import Database
from ..store.queue_status import QueueStatus, queue_depth, queue_status, workers_alive


@dataclass(frozen=True, slots=True)
class DatabaseCheck:
    dialect: str  # "sqlite" | "postgresql"
    elapsed_ms: float


@dataclass(frozen=True, slots=True)
class InProcess:
    """The API process runs the background work: it runs as long as the API does."""

    healthy = True


@dataclass(frozen=True, slots=True)
class Workers:
    """`scimhub worker` processes run it: their heartbeats and this org's jobs."""

    queue: QueueStatus

    @property
    def healthy(self) -> bool:
        return self.queue.workers_alive > 0


BackgroundStatus = InProcess | Workers


@dataclass(frozen=True, slots=True)
class MigrationCheck:
    current: str | None
    head: str | None

    @property
    def at_head(self) -> bool:
        return self.current == self.head


class Health:
    def __init__(self, db: Database, *, in_process: bool, worker_stalled_seconds: int) -> None:
        self.db = db
        self.in_process = in_process
        self.worker_stalled_seconds = worker_stalled_seconds

    def database(self) -> DatabaseCheck:
        """Raises when the database cannot answer."""
        started = time.perf_counter()
        self.db.ping()
        return DatabaseCheck(self.db.dialect, (time.perf_counter() - started) * 1000)

    def background(self, org_id: str) -> BackgroundStatus:
        """Raises when the queue cannot be read."""
        if self.in_process:
            return InProcess()
        return Workers(queue_status(self.db, org_id, stalled_seconds=self.worker_stalled_seconds))

    def migrations(self) -> MigrationCheck:
        """Raises when the database cannot answer."""
        return MigrationCheck(migrate.current(self.db), migrate.head())

    def workers_alive(self) -> int | None:
        """`scimhub worker` processes heard from lately, all organisations'; None when the
        API process runs the background work. Raises when the queue cannot be read."""
        if self.in_process:
            return None
        return workers_alive(self.db, stalled_seconds=self.worker_stalled_seconds)

    def queue(self) -> list[tuple[str, str, int]]:
        """(task, todo|doing, jobs) waiting or running in the task queue; empty when the
        API process runs the background work (it has no queue)."""
        return [] if self.in_process else queue_depth(self.db)
