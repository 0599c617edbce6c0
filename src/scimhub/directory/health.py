"""The hub's own components as `/healthz` and the console's Status page check them: the
database, and where the background work runs — in the API process (SQLite), or in
`scimhub worker` processes fed by the PostgreSQL task queue."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..store.engine import Database
from ..store.queue_status import QueueStatus, queue_status


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
