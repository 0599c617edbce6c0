"""One `scimhub worker` process: procrastinate's worker running the tasks of `tasks.py`
until SIGINT/SIGTERM (it finishes the jobs in hand first)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from ..delivery.deliver import Deliverer
from .tasks import Schedule, dispatch_webhooks_forever, worker_app
from .work import SyncWork


def run(
    database_url: str,
    work: SyncWork,
    schedule: Schedule,
    *,
    concurrency: int,
    heartbeat_seconds: int,
    deliverer: Deliverer | None = None,
) -> None:
    app = worker_app(database_url, work, schedule, deliverer)
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
            dispatch = (
                asyncio.create_task(dispatch_webhooks_forever(app, deliverer))
                if deliverer is not None
                else None
            )
            try:
                await app.run_worker_async(
                    name=name,
                    concurrency=concurrency,
                    wait=True,
                    update_heartbeat_interval=heartbeat_seconds,
                    stalled_worker_timeout=schedule.stalled_seconds,
                )
            finally:
                if dispatch is not None:
                    dispatch.cancel()

    asyncio.run(main())
