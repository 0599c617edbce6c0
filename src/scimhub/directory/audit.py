"""The hub's own audit trail: who did what to which organisation, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from ..store.engine import Database, as_utc, event_time
from ..store.tables import audit_events


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    org_id: str | None
    time: datetime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]
    tracking_id: str | None


class Audit:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        org_id: str | None,
        actor: str,
        action: str,
        *,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
        tracking_id: str | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Record an event; pass `conn` to make it part of the caller's transaction."""
        values = {
            "org_id": org_id,
            "time": event_time(),
            "actor": actor,
            "action": action,
            "target": target,
            "detail": detail or {},
            "tracking_id": tracking_id,
        }
        if conn is not None:
            conn.execute(audit_events.insert().values(**values))
            return
        with self.db.write() as own:
            own.execute(audit_events.insert().values(**values))

    def events(
        self, org_id: str, *, action: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[AuditEvent], int]:
        """The organisation's trail, newest first."""
        return self._events(audit_events.c.org_id == org_id, action, limit, offset)

    def platform_events(
        self, *, action: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[AuditEvent], int]:
        """The platform's trail (what the operator did to organisations: `org_id` NULL,
        the organisation's id as `target`), newest first. It outlives the organisations."""
        return self._events(audit_events.c.org_id.is_(None), action, limit, offset)

    def _events(
        self, owner: ColumnElement[bool], action: str | None, limit: int, offset: int
    ) -> tuple[list[AuditEvent], int]:
        t = audit_events
        where = [owner]
        if action:
            where.append(t.c.action == action)
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one()
            rows = conn.execute(
                select(t)
                .where(*where)
                .order_by(t.c.time.desc(), t.c.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
        return [
            AuditEvent(
                r.id,
                r.org_id,
                as_utc(r.time),
                r.actor,
                r.action,
                r.target,
                r.detail or {},
                r.tracking_id,
            )
            for r in rows
        ], total
