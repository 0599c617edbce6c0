"""One log line and the metrics of each run of background work: which task, under which
tracking id (every line logged during the run carries it too), for which organisation, how
it ended and how long it took. The work in `work.py` and the webhook runs below go through
`task_run`, so both schedulers — in-process and procrastinate workers — report alike.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .. import logs, metrics
from ..delivery.deliver import Deliverer, RunResult

log = logging.getLogger("scimhub.tasks")


@dataclass
class Run:
    """What the task says of itself before it ends: its outcome unless it raised
    (`failed` then), and fields for its line."""

    outcome: str = "ok"
    fields: dict[str, Any] = field(default_factory=dict)


@contextmanager
def task_run(
    task: str, tracking_id: str, *, org_id: str | None = None, **fields: Any
) -> Iterator[Run]:
    run = Run(fields=fields)
    started = time.perf_counter()
    with logs.bound(tracking_id, org_id):
        try:
            yield run
        except BaseException:
            run.outcome = "failed"
            raise
        finally:
            seconds = time.perf_counter() - started
            counted = metrics.current()
            if counted is not None:
                counted.task(task, run.outcome, seconds)
            log.info(
                "%s: %s in %.1f ms",
                task,
                run.outcome,
                seconds * 1000,
                extra={
                    "fields": {
                        "tracking_id": tracking_id,
                        "org_id": org_id,
                        "task": task,
                        "outcome": run.outcome,
                        "duration_ms": round(seconds * 1000, 2),
                        **run.fields,
                    }
                },
            )


def deliver(deliverer: Deliverer, endpoint_id: str, tracking_id: str) -> RunResult:
    """One endpoint's delivery run (`Deliverer.run`): `busy` when another process had it,
    `retrying` when it ended on a failed attempt."""
    with task_run("webhook_delivery", tracking_id, endpoint_id=endpoint_id) as run:
        result = deliverer.run(endpoint_id)
        run.outcome = "busy" if result.busy else "retrying" if result.failed else "ok"
        run.fields["delivered"] = result.delivered
        return result


def webhook_clean_up(deliverer: Deliverer, tracking_id: str) -> int:
    with task_run("webhook_clean_up", tracking_id) as run:
        removed = deliverer.clean_up()
        run.fields["removed"] = removed
        return removed
