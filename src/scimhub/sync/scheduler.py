"""The in-process scheduler, the default on SQLite (one process): the background work of
`work.py` on fixed intervals, in the API process's thread pool. On PostgreSQL,
`scimhub worker` processes run the same work as procrastinate tasks instead (`tasks.py`).

Several API processes on PostgreSQL may each run this scheduler too (SCIMHUB_SCHEDULER=
inprocess): a pull round holds a cross-process lock, so one process runs it and the others
skip; checks and clean-up are harmless to repeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from ..directory.instances import Mode
from .work import SyncWork

log = logging.getLogger("scimhub.sync")

HOUR = 3600.0


async def every(interval: float, name: str, step: Callable[[], Any]) -> None:
    """Run `step` in a thread every `interval` seconds (the first after one interval); a
    failure is logged and the loop goes on."""
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(step)
        except Exception:  # one failed round must not end the schedule
            log.exception("background %s failed", name)


def _pull_all(work: SyncWork) -> None:
    for instance in work.instances_in_mode(Mode.PULL):
        try:
            work.pull(instance.org_id, instance.id)
        except Exception:  # recorded by work.pull; the other instances still sync
            log.debug("pull of %s failed", instance.name, exc_info=True)


def _check_all(work: SyncWork) -> None:
    for instance in work.all_instances():
        work.check(instance.org_id, instance.id)


async def run_forever(work: SyncWork, *, pull_interval: float, status_interval: float) -> None:
    loops = [every(HOUR, "expiry check", work.check_expiry), every(HOUR, "clean-up", work.clean_up)]
    if pull_interval:
        loops.append(every(pull_interval, "pull sync", lambda: _pull_all(work)))
    if status_interval:
        loops.append(every(status_interval, "status check", lambda: _check_all(work)))
    await asyncio.gather(*loops)
