"""The emulator's timestamps are Graph's: UTC, microseconds, a 'Z' suffix, so that their
lexicographic order is time order."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from scimhub.emulator.db import now_iso


def test_graph_timestamp_format() -> None:
    before = datetime.now(UTC)
    stamp = now_iso()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp)
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert before <= parsed <= datetime.now(UTC)
    assert now_iso() >= stamp
