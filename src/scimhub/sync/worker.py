"""One `scimhub worker` process: procrastinate's worker running the tasks of `tasks.py`
until SIGINT/SIGTERM (it finishes the jobs in hand first)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from .tasks import Schedule, worker_app
from .work import SyncWork


def run(
    database_url: str,
    work: SyncWork,
    schedule: Schedule,
    *,
    concurrency: int,
    heartbeat_seconds: int,
) -> None:
    app = worker_app(database_url, work, schedule)
    name = f"{socket.gethostname()}:{os.getpid()}"
    logging.getLogger("scimhub.sync").info(
        "worker %s: concurrency %d, pull every %ss, checks every %ss",
        name,
        concurrency,
        schedule.pull_interval or "-",
        schedule.status_interval or "-",
    )

    async def main() -> None:
        async with app.open_async():
            await app.run_worker_async(
                name=name,
                concurrency=concurrency,
                wait=True,
                update_heartbeat_interval=heartbeat_seconds,
                stalled_worker_timeout=schedule.stalled_seconds,
            )

    asyncio.run(main())
