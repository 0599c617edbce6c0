"""Fault knobs for Graph: throttling (429 + Retry-After), added latency and 5xx errors,
per tenant or global ("*"). Stored in the database so the CLI can turn them on against a
running server. Error rates are deterministic: with rate r, request k fails when
floor(k*r) > floor((k-1)*r), so a test knows exactly which calls fail."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from .schema import faults

GLOBAL = "*"


@dataclass(frozen=True)
class Injection:
    latency_ms: int = 0
    status: int | None = None  # an error status to answer instead of serving the request
    retry_after: int | None = None


def set_fault(conn: Connection, scope: str, **values: Any) -> dict[str, Any]:
    allowed = {
        "throttle_remaining",
        "retry_after",
        "latency_ms",
        "error_rate",
        "error_remaining",
        "error_status",
    }
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
    row = conn.execute(select(faults).where(faults.c.scope == scope)).first()
    if row is None:
        conn.execute(faults.insert().values(scope=scope, counter=0, **values))
    else:
        conn.execute(faults.update().where(faults.c.scope == scope).values(counter=0, **values))
    return describe(conn)[scope]


def clear(conn: Connection, scope: str | None = None) -> None:
    stmt = faults.delete()
    conn.execute(stmt if scope is None else stmt.where(faults.c.scope == scope))


def describe(conn: Connection) -> dict[str, dict[str, Any]]:
    return {
        r.scope: {k: v for k, v in r._mapping.items() if k != "scope"}
        for r in conn.execute(select(faults))
    }


def draw(conn: Connection, tenant_id: str) -> Injection:
    """Consume one request's worth of the configured faults for this tenant."""
    latency, status, retry_after = 0, None, None
    for row in conn.execute(select(faults).where(faults.c.scope.in_([GLOBAL, tenant_id]))).all():
        latency += row.latency_ms
        changes: dict[str, int] = {}
        if status is not None:  # an earlier scope already failed this request
            continue
        if row.throttle_remaining > 0:
            status, retry_after = 429, row.retry_after
            changes["throttle_remaining"] = row.throttle_remaining - 1
        elif row.error_remaining > 0:
            status = row.error_status
            changes["error_remaining"] = row.error_remaining - 1
        elif row.error_rate > 0:
            k = row.counter + 1
            changes["counter"] = k
            if math.floor(k * row.error_rate) > math.floor((k - 1) * row.error_rate):
                status = row.error_status
        if changes:
            conn.execute(faults.update().where(faults.c.scope == row.scope).values(**changes))
    return Injection(latency, status, retry_after)
