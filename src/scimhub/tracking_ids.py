"""Tracking ids `<PREFIX>_<uuid>_<n>`, as in the seed's `ATLAS_497d70df-..._136`, for every
part of the hub that reports something an admin may quote (API responses, background
work). The uuid is drawn once per process and `n` counts in that process: unique across
processes with nothing shared between them, and cheaper than a uuid per id."""

from __future__ import annotations

import itertools
import os
import re
import uuid

VALID = re.compile(r"^[A-Za-z0-9]{1,16}_[0-9a-fA-F-]{36}_\d{1,9}$")

_process = str(uuid.uuid4())
_counter = itertools.count(1)


def _new_process() -> None:
    """A forked worker (gunicorn --preload) must not reuse its parent's uuid."""
    global _process, _counter
    _process, _counter = str(uuid.uuid4()), itertools.count(1)


os.register_at_fork(after_in_child=_new_process)


def new_tracking_id(prefix: str) -> str:
    return f"{prefix}_{_process}_{next(_counter)}"
