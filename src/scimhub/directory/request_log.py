"""The record of inbound SCIM requests (the console's provisioning log).

Requests are buffered and written in batches: one INSERT per request would cost the hot path
more than the request itself. A batch is written when it fills or when `flush` runs (the
app flushes periodically and at shutdown), so at most one interval of entries is at risk if
the process dies; the directory data itself is never buffered.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from ..store.engine import Database, as_utc
from ..store.hot import HotInsert
from ..store.tables import scim_requests


@dataclass(frozen=True, slots=True)
class RequestEntry:
    org_id: str
    time: datetime
    method: str
    path: str
    resource_type: str | None
    status: int
    scim_type: str | None
    duration_ms: int
    tracking_id: str
    client: str | None
    token_id: str | None
    # Set for a write refused because it named an attribute the organisation has not
    # defined (scim.errors.UndefinedAttribute): that attribute, and whose write it was.
    undefined_attribute: str | None = None
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class RefusedAttribute:
    """The writes refused since a time for naming one undefined attribute."""

    attribute: str  # as the client named it: "urn:...:User:costCenter"
    resource_type: str | None
    subjects: int  # distinct resources whose writes were refused
    requests: int
    first: datetime
    last: datetime
    latest: list[RequestEntry]  # the newest few
    some_subjects: list[str]


_FIELDS = tuple(f.name for f in fields(RequestEntry))


class RequestLog:
    def __init__(self, db: Database, *, batch_size: int = 500) -> None:
        self.db = db
        self.batch_size = batch_size
        self._insert = HotInsert(db, scim_requests, _FIELDS)
        self._pending: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()  # guards the buffer; record() only waits for it
        self._flushing = threading.Lock()

    def record(self, entry: RequestEntry) -> None:
        with self._lock:
            # Not dataclasses.astuple: it deep-copies, and this runs on every request.
            self._pending.append(tuple(getattr(entry, f) for f in _FIELDS))
            full = len(self._pending) >= self.batch_size
        if full:
            self.flush()

    def flush(self) -> int:
        """Write what is buffered. When it returns, every entry recorded before the call is
        in the database, also when another thread's flush had taken it: flushes take turns
        (readers such as `entries` and `prune` rely on that)."""
        with self._flushing:
            with self._lock:
                batch, self._pending = self._pending, []
            if batch:
                with self.db.write() as conn:
                    self._insert.run(conn, batch)
        return len(batch)

    def prune(self, before: datetime, *, batch: int = 10_000) -> int:
        """Delete entries older than `before`, a batch per transaction so writers are
        never held up for long."""
        self.flush()
        t = scim_requests
        removed = 0
        while True:
            with self.db.write() as conn:
                ids = select(t.c.id).where(t.c.time < before).limit(batch).scalar_subquery()
                n = conn.execute(delete(t).where(t.c.id.in_(ids))).rowcount
            removed += n
            if n < batch:
                return removed

    def entries(
        self,
        org_id: str,
        *,
        status_class: str | None = None,
        tracking_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[RequestEntry], int]:
        """Newest first; `status_class` is "success" (< 400) or "failure" (>= 400)."""
        self.flush()
        t = scim_requests
        where = [t.c.org_id == org_id]
        if status_class == "success":
            where.append(t.c.status < 400)
        elif status_class == "failure":
            where.append(t.c.status >= 400)
        if tracking_id:
            where.append(t.c.tracking_id == tracking_id)
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one()
            # (time, id) descending walks the (org_id, time) index instead of sorting
            rows = conn.execute(
                select(t)
                .where(*where)
                .order_by(t.c.time.desc(), t.c.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
        return [_entry(r) for r in rows], total

    def refused_attributes(
        self, org_id: str, since: datetime, *, limit: int = 20, samples: int = 5
    ) -> list[RefusedAttribute]:
        """The organisation's writes refused since `since` for naming an undefined
        attribute, per attribute, the most refused first."""
        self.flush()
        t = scim_requests
        where = (t.c.org_id == org_id, t.c.time > since, t.c.undefined_attribute.is_not(None))
        # Attribute names and userNames are case-insensitive: "costCenter" and
        # "costcenter", "Ann@x" and "ann@x" are one attribute and one user.
        attribute_ci, subject_ci = func.lower(t.c.undefined_attribute), func.lower(t.c.subject)
        key = (attribute_ci, t.c.resource_type)
        with self.db.read() as conn:
            groups = conn.execute(
                select(
                    func.min(t.c.undefined_attribute),
                    t.c.resource_type,
                    func.count(subject_ci.distinct()),
                    func.count(),
                    func.min(t.c.time),
                    func.max(t.c.time),
                )
                .where(*where)
                .group_by(*key)
                .order_by(func.count().desc(), func.min(t.c.undefined_attribute))
                .limit(limit)
            ).all()
            out = []
            for attribute, resource_type, subjects, requests, first, last in groups:
                same = (*where, attribute_ci == attribute.lower())
                latest = conn.execute(
                    select(t).where(*same).order_by(t.c.time.desc(), t.c.id.desc()).limit(samples)
                ).all()
                some = conn.execute(
                    select(func.min(t.c.subject))
                    .where(*same, t.c.subject.is_not(None))
                    .group_by(subject_ci)
                    .order_by(func.max(t.c.time).desc())
                    .limit(2 * samples)
                ).scalars()
                out.append(
                    RefusedAttribute(
                        attribute,
                        resource_type,
                        subjects,
                        requests,
                        as_utc(first),
                        as_utc(last),
                        [_entry(r) for r in latest],
                        list(some),
                    )
                )
        return out


def _entry(r: Any) -> RequestEntry:
    values: dict[str, Any] = {f: getattr(r, f) for f in _FIELDS}
    return RequestEntry(**{**values, "time": as_utc(r.time)})
