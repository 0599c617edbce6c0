"""Who asks for a change: the name the audit trail records and the tracking id of the
request (or background run) it came from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    tracking_id: str | None = None
