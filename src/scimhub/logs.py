"""The hub's log lines: JSON, one object per line, for log collectors (the default), or
readable text for development (SCIMHUB_LOG_FORMAT=text). Fields: docs/operations.md, "Logs".

The existing `log.info(...)` calls need nothing new. Two things are added to every line:
the tracking id and organisation of the request or background task it was written in
(`bound`, a context variable: threads started through AnyIO inherit it), and the fields a
call passes as `extra={"fields": {...}}` (the access log's status and duration, say).

Nothing here decides what is logged: no record carries a token, a password or a cookie
because no call site puts one in (the test suite checks every line it makes).
"""

from __future__ import annotations

import logging
import logging.config
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

import orjson

# (tracking id, organisation id) of the request or task running in this context
_context: ContextVar[tuple[str, str | None] | None] = ContextVar("scimhub_log", default=None)


def bind(tracking_id: str, org_id: str | None = None) -> Token[tuple[str, str | None] | None]:
    return _context.set((tracking_id, org_id))


def unbind(token: Token[tuple[str, str | None] | None]) -> None:
    _context.reset(token)


@contextmanager
def bound(tracking_id: str, org_id: str | None = None) -> Iterator[None]:
    token = bind(tracking_id, org_id)
    try:
        yield
    finally:
        unbind(token)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The context's ids, then the call's own fields (but None: a field left out)."""
    out: dict[str, Any] = {}
    context = _context.get()
    if context is not None:
        out["tracking_id"] = context[0]
        if context[1]:
            out["org_id"] = context[1]
    given = getattr(record, "fields", None)
    if isinstance(given, dict):
        out.update({k: v for k, v in given.items() if v is not None})
    return out


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class TextFormatter(logging.Formatter):
    """`time level logger message key=value ...`, for a person at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        fields = _fields(record)
        if not fields:
            return text
        return text + " " + " ".join(f"{k}={v}" for k, v in fields.items())


FORMATTERS: dict[str, type[logging.Formatter]] = {"json": JsonFormatter, "text": TextFormatter}


def dict_config(log_format: str, level: str = "info") -> dict[str, Any]:
    """The logging configuration of a hub process, for `logging.config.dictConfig` (and
    uvicorn's `log_config`, which applies it in every process it starts): every record
    to standard error in `log_format`; the hub's, uvicorn's and procrastinate's at `level`,
    other libraries' warnings and errors. uvicorn's access log is off: the hub writes its
    own (`api.access`)."""
    lvl = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"hub": {"()": FORMATTERS[log_format]}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "hub",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "scimhub": {"level": lvl},
            "uvicorn": {"level": lvl, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": lvl, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
            "procrastinate": {"level": lvl},
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
    }


def lean_records() -> None:
    """Stop every record from gathering what no hub formatter prints: the calling file and
    line (a walk up the stack, about half of what an access line cost), thread and process
    names. These are the switches of the logging HOWTO's "Optimization" section; a process
    serving the hub calls this once, whoever configured its handlers."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def configure(log_format: str, level: str = "info") -> None:
    logging.config.dictConfig(dict_config(log_format, level))
    lean_records()
