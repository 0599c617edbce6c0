"""The in-process scheduler, the default on SQLite (one process): the background work of
`work.py` on fixed intervals, in the API process's thread pool. On PostgreSQL,
`scimhub worker` processes run the same work as procrastinate tasks instead (`tasks.py`).

Several API processes on PostgreSQL may each run this scheduler too (SCIMHUB_SCHEDULER=
inprocess): a pull round holds a cross-process lock, so one process runs it and the others
skip; checks and clean-up are harmless to repeat.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any

from starlette.concurrency import run_in_threadpool

from ..delivery.deliver import Deliverer
from ..directory.events import COMMITTED
from ..directory.instances import Mode
from . import task_runs
from .work import SyncWork

log = logging.getLogger("scimhub.sync")

HOUR = 3600.0
WEBHOOK_POLL_SECONDS = 0.5  # for events committed by other processes, and retries
WEBHOOK_MIN_GAP_SECONDS = 0.02  # between polls woken by this process's commits
WEBHOOK_THREADS = 4  # endpoints delivered at once (a slow receiver holds only its own)


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
    for source in work.ldap_sources():  # LDAP sources are pulled on the same schedule
        try:
            work.ldap_round(source.org_id)
        except Exception:  # recorded by work.ldap_round
            log.debug("round of %s failed", source.name, exc_info=True)


def _check_all(work: SyncWork) -> None:
    for instance in work.all_instances():
        work.check(instance.org_id, instance.id)


async def deliver_forever(
    deliverer: Deliverer,
    *,
    new_id: Callable[[], str],
    interval: float = WEBHOOK_POLL_SECONDS,
    threads: int = WEBHOOK_THREADS,
) -> None:
    """Webhook delivery: whenever this process commits events (at most every
    WEBHOOK_MIN_GAP_SECONDS), and every `interval` for other processes' events and retries
    that come due, ask which endpoints are behind their stream and due (one indexed query)
    and start a run for each in a thread of its own pool — never two runs of one endpoint,
    so its events keep their order, and never in the pool the API's requests use. Each
    run logs its line under a tracking id of its own (`new_id`)."""
    pool = ThreadPoolExecutor(threads, thread_name_prefix="scimhub-webhooks")
    loop = asyncio.get_running_loop()
    running: set[str] = set()
    wake = asyncio.Event()
    pending = threading.Event()  # set by committing threads; one wake-up per poll

    def committed() -> None:
        if not pending.is_set():
            pending.set()
            loop.call_soon_threadsafe(wake.set)

    def finished(endpoint_id: str, future: asyncio.Future[Any]) -> None:
        running.discard(endpoint_id)
        if not future.cancelled() and future.exception() is not None:
            log.error("webhook delivery of %s failed", endpoint_id, exc_info=future.exception())
        elif future.result().delivered >= deliverer.options.run_events:
            wake.set()  # stopped at its run's limit with more to send

    unsubscribe = deliverer.db.subscribe(COMMITTED, committed)
    try:
        while True:
            pending.clear()
            wake.clear()
            try:
                due = await run_in_threadpool(deliverer.due)
            except Exception:  # the database may be away for a moment; poll again
                log.exception("could not look for webhook deliveries")
                due = []
            for endpoint_id in due:
                if endpoint_id in running or len(running) >= threads:
                    continue
                running.add(endpoint_id)
                future = loop.run_in_executor(
                    pool, task_runs.deliver, deliverer, endpoint_id, new_id()
                )
                future.add_done_callback(functools.partial(finished, endpoint_id))
            with suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), interval)
            await asyncio.sleep(WEBHOOK_MIN_GAP_SECONDS)  # a burst of writes: one poll
    finally:
        unsubscribe()
        pool.shutdown(wait=False, cancel_futures=True)


async def run_forever(
    work: SyncWork,
    *,
    pull_interval: float,
    status_interval: float,
    deliverer: Deliverer | None = None,
) -> None:
    loops = [every(HOUR, "expiry check", work.check_expiry), every(HOUR, "clean-up", work.clean_up)]
    if deliverer is not None:
        loops.append(deliver_forever(deliverer, new_id=work.tracking_id))
        loops.append(
            every(
                HOUR,
                "webhook clean-up",
                lambda: task_runs.webhook_clean_up(deliverer, work.tracking_id()),
            )
        )
    if pull_interval:
        loops.append(every(pull_interval, "pull sync", lambda: _pull_all(work)))
    if status_interval:
        loops.append(every(status_interval, "status check", lambda: _check_all(work)))
    await asyncio.gather(*loops)
