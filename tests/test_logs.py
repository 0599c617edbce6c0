"""The log formats: one JSON object per line with the tracking id and organisation of the
request or task it was written in (and a traceback as a field, never extra lines), or
readable text; and the settings that choose them, checked at start."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest

from scimhub import logs
from scimhub.config import ConfigError, Settings
from scimhub.logs import JsonFormatter, TextFormatter


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("scimhub.test_format")
    level = logging.WARNING
    return logger.makeRecord(logger.name, level, __file__, 1, msg, args, None, extra=extra)


def test_a_json_line_holds_the_context_and_the_calls_fields() -> None:
    with logs.bound("HUB_1", "org-1"):
        record = _record("pulled %d pages", 3, fields={"task": "pull_round", "skipped": None})
        line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed == {
        "time": parsed["time"],
        "level": "warning",
        "logger": "scimhub.test_format",
        "message": "pulled 3 pages",
        "tracking_id": "HUB_1",
        "org_id": "org-1",
        "task": "pull_round",  # and `skipped`, None, left out
    }
    outside = json.loads(JsonFormatter().format(_record("no context")))
    assert "tracking_id" not in outside and "org_id" not in outside


def test_a_traceback_is_one_field_of_the_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert len(line.splitlines()) == 1
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_text_is_for_people() -> None:
    with logs.bound("HUB_2"):
        text = TextFormatter().format(_record("GET /healthz", fields={"status": 200}))
    assert text.endswith("WARNING scimhub.test_format GET /healthz tracking_id=HUB_2 status=200")


def test_records_skip_what_no_format_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    """`lean_records` (every hub process calls it) stops records from walking the stack for
    the caller's file and line; the lines themselves lose nothing."""
    # logging's defaults, whatever an earlier test's hub process set; restored afterwards
    monkeypatch.setattr(logging, "_srcfile", os.path.normcase(logging.info.__code__.co_filename))
    for name in ("logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, name, True)
    logger = logging.getLogger("scimhub.test_lean")
    monkeypatch.setattr(logger, "propagate", False)  # to this test's handler alone
    captured: list[logging.LogRecord] = []
    lines: list[str] = []
    handler = logging.Handler()
    handler.setFormatter(JsonFormatter())

    def emit(record: logging.LogRecord) -> None:
        captured.append(record)
        lines.append(handler.format(record))

    handler.emit = emit  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        logger.warning("before")
        logs.lean_records()
        with logs.bound("HUB_3"):
            logger.warning("after %s", "lean", extra={"fields": {"status": 200}})
    finally:
        logger.removeHandler(handler)
    before, after = captured
    assert before.filename == Path(__file__).name and before.threadName is not None
    assert after.filename == "(unknown file)" and after.lineno == 0
    assert after.threadName is None and after.processName is None
    parsed = json.loads(lines[1])
    assert parsed["message"] == "after lean"
    assert parsed["tracking_id"] == "HUB_3" and parsed["status"] == 200


def test_the_formats_and_metrics_settings_are_checked(tmp_path: Path) -> None:
    assert Settings.from_env({}).log_format == "json"
    assert Settings.from_env({"SCIMHUB_LOG_FORMAT": "Text"}).log_format == "text"
    got = Settings.from_env({"SCIMHUB_METRICS_TOKEN": "x" * 16, "SCIMHUB_METRICS_PER_ORG": "on"})
    assert got.metrics_per_org and "x" * 16 not in repr(got)
    for env, named in (
        ({"SCIMHUB_LOG_FORMAT": "xml"}, "SCIMHUB_LOG_FORMAT"),
        ({"SCIMHUB_METRICS_TOKEN": "short"}, "SCIMHUB_METRICS_TOKEN"),
        ({"SCIMHUB_METRICS_PER_ORG": "maybe"}, "SCIMHUB_METRICS_PER_ORG"),
        ({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "absent")}, "PROMETHEUS_MULTIPROC_DIR"),
    ):
        with pytest.raises(ConfigError, match=named):
            Settings.from_env(env)
