"""Each run of background work logs one line — task, tracking id, organisation, outcome,
duration — and every line logged during the run carries its tracking id; runs are counted
by task and outcome."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from scimhub import metrics
from scimhub.api.services import Hub
from scimhub.asgi import background_work
from scimhub.logs import JsonFormatter
from scimhub.sync.task_runs import task_run
from scimhub.tracking_ids import VALID
from tests.conftest import OrgClient


class _Lines(logging.Handler):
    """Formatted as they are emitted, as a stream handler does (the context is the run's)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def lines() -> Iterator[list[dict[str, Any]]]:
    handler = _Lines()
    logger = logging.getLogger("scimhub")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def _tasks(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == "scimhub.tasks"]


def test_each_run_logs_one_line_under_its_tracking_id(
    hub: Hub, org: OrgClient, lines: list[dict[str, Any]]
) -> None:
    work = background_work(hub)
    gone = str(uuid.uuid4())
    work.pull(org.org_id, gone)
    work.clean_up()
    pulled, cleaned = _tasks(lines)
    assert pulled["task"] == "pull_round" and pulled["outcome"] == "skipped"
    assert (pulled["org_id"], pulled["instance_id"]) == (org.org_id, gone)
    assert cleaned["task"] == "clean_up" and cleaned["outcome"] == "ok"
    assert set(cleaned["removed"]) >= {"requests", "events", "sessions"}
    for line in (pulled, cleaned):
        assert VALID.match(line["tracking_id"]) and line["duration_ms"] >= 0
    assert pulled["tracking_id"] != cleaned["tracking_id"]


def test_a_failed_run_says_so_and_what_it_logged_carries_its_id(
    lines: list[dict[str, Any]],
) -> None:
    counted = metrics.install(per_org=False)
    labels = {"task": "test_task", "outcome": "failed"}
    before = counted.registry.get_sample_value("scimhub_background_tasks_total", labels) or 0
    with pytest.raises(RuntimeError), task_run("test_task", "TEST_run", org_id="org-9"):
        logging.getLogger("scimhub.test_inner").warning("half way")
        raise RuntimeError("broken")
    inner, line = lines[-2:]
    assert (inner["message"], inner["tracking_id"], inner["org_id"]) == (
        "half way",
        "TEST_run",
        "org-9",
    )
    assert (line["task"], line["outcome"]) == ("test_task", "failed")
    assert line["tracking_id"] == "TEST_run"
    assert counted.registry.get_sample_value("scimhub_background_tasks_total", labels) == before + 1
