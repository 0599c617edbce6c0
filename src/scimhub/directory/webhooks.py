"""Webhook endpoints of an organisation and the record of their deliveries: the rules, in
transactions. Delivery itself (HTTP, signing, the retry schedule) is `scimhub.delivery`,
which calls this module; nothing here sends anything, and nothing here sees a secret in
the clear: they arrive and leave encrypted (`delivery.secrets`).

An endpoint's `cursor` is the position in its organisation's event stream up to which it
is done: every event at or before it was delivered, given up after the whole retry
schedule (recorded, and replayable), or did not match the endpoint's filter. Delivery
reads the next event after it and moves it in the same transaction that records the
delivery, only if nobody moved it in between (a replay, another process), so the cursor
never skips an event and never goes back by itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, delete, func, select, update

from ..store.engine import Database, as_utc, event_time
from ..store.tables import event_streams, events, orgs, webhook_deliveries, webhook_endpoints
from .actor import Actor
from .audit import Audit
from .errors import OrgNotFound


class EndpointState(StrEnum):
    OK = "ok"  # delivered its last event, or has had nothing to deliver
    RETRYING = "retrying"  # the head event failed and waits for its next attempt
    DISABLED = "disabled"  # switched off by delivery (410 Gone, failing for days)


class Outcome(StrEnum):
    """What one row of `webhook_deliveries` says happened."""

    DELIVERED = "delivered"  # a 2xx answer: the cursor moved past the event
    FAILED = "failed"  # no 2xx answer: retried later, the events behind it wait
    GAVE_UP = "gave_up"  # failed for the whole retry schedule: passed over, replayable
    DISABLED = "disabled"  # the attempt that disabled the endpoint (410, failing too long)
    EXPIRED = "expired"  # retention removed events before they were delivered
    TEST = "test"  # a test message, outside the stream


class WebhookAudit(StrEnum):
    """What webhooks write to the audit trail; stored text, never reworded."""

    ADDED = "Webhook endpoint added"
    UPDATED = "Webhook endpoint updated"
    REMOVED = "Webhook endpoint removed"
    SECRET_ROTATED = "Webhook secret rotated"
    ENABLED = "Webhook endpoint enabled"
    DISABLED = "Webhook endpoint disabled"
    REPLAYED = "Webhook events replayed"


class EndpointNotFound(LookupError):
    """No webhook endpoint with that id in that organisation."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    org_id: str
    url: str
    event_types: tuple[str, ...]  # empty: every type
    enabled: bool
    cursor: int
    state: EndpointState
    failing_since: datetime | None
    retrying_since: datetime | None
    disabled_reason: str | None
    next_attempt_at: datetime | None
    attempts: int
    created: datetime
    previous_valid_until: datetime | None
    # Fernet tokens, kept out of every repr (logs, tracebacks, debug info)
    secret_encrypted: str = field(repr=False)
    previous_secret_encrypted: str | None = field(repr=False)

    @property
    def status(self) -> str:
        """One word for listings: enabled endpoints show their delivery state."""
        return str(self.state) if self.enabled else "disabled"

    def as_json(self) -> dict[str, Any]:
        """The public view: never a secret, only whether a rotation is under way."""
        return {
            "id": self.id,
            "url": self.url,
            "eventTypes": list(self.event_types),
            "enabled": self.enabled,
            "status": self.status,
            "cursor": str(self.cursor),
            "failingSince": _iso(self.failing_since),
            "disabledReason": self.disabled_reason,
            "nextAttemptAt": _iso(self.next_attempt_at),
            "attempts": self.attempts,
            "previousSecretValidUntil": _iso(self.previous_valid_until),
            "created": _iso(self.created),
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    endpoint_id: str
    org_id: str
    event_seq: int
    event_id: str
    attempt: int
    time: datetime
    status_code: int | None
    latency_ms: int | None
    error: str | None
    outcome: Outcome

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "endpointId": self.endpoint_id,
            "eventId": self.event_id,
            "cursor": str(self.event_seq),
            "attempt": self.attempt,
            "time": _iso(self.time),
            "statusCode": self.status_code,
            "latencyMs": self.latency_ms,
            "error": self.error,
            "outcome": str(self.outcome),
        }


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt (or a passed-over event), as the deliverer saw it."""

    event_seq: int
    event_id: str
    attempt: int
    time: datetime
    outcome: Outcome
    status_code: int | None = None
    latency_ms: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    """The endpoint's delivery state after an attempt."""

    cursor: int
    state: EndpointState
    attempts: int
    next_attempt_at: datetime | None
    retrying_since: datetime | None
    failing_since: datetime | None
    disabled_reason: str | None = None  # set: the endpoint is disabled by this attempt


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def _endpoint(r: Any) -> Endpoint:
    return Endpoint(
        id=r.id,
        org_id=r.org_id,
        url=r.url,
        event_types=tuple(r.event_types or ()),
        enabled=bool(r.enabled),
        cursor=int(r.cursor),
        state=EndpointState(r.state),
        failing_since=_utc(r.failing_since),
        retrying_since=_utc(r.retrying_since),
        disabled_reason=r.disabled_reason,
        next_attempt_at=_utc(r.next_attempt_at),
        attempts=int(r.attempts),
        created=as_utc(r.created),
        previous_valid_until=_utc(r.previous_valid_until),
        secret_encrypted=r.secret_encrypted,
        previous_secret_encrypted=r.previous_secret_encrypted,
    )


def _delivery(r: Any) -> Delivery:
    return Delivery(
        r.id,
        r.endpoint_id,
        r.org_id,
        int(r.event_seq),
        r.event_id,
        int(r.attempt),
        as_utc(r.time),
        r.status_code,
        r.latency_ms,
        r.error,
        Outcome(r.outcome),
    )


def _last_before(conn: Connection, org_id: str, since: datetime, page: int = 1000) -> int:
    """The position after which every event occurred at or after `since`: the last event
    before it, walking back from the newest by position a page at a time (an ordered walk
    of the primary key, whatever the planner estimates of the times)."""
    older = (events.c.occurred_at < since).label("older")
    query = select(events.c.seq, older).where(events.c.org_id == org_id)
    upper: int | None = None
    while True:
        walk = query if upper is None else query.where(events.c.seq < upper)
        rows = conn.execute(walk.order_by(events.c.seq.desc()).limit(page)).all()
        for r in rows:
            if r.older:
                return int(r.seq)
        if rows:
            upper = int(rows[-1].seq)
        if len(rows) < page:
            # every event kept is as new: from before the oldest; none kept: the end
            return upper - 1 if upper is not None else _last_seq(conn, org_id)


def _last_seq(conn: Connection, org_id: str) -> int:
    last = conn.execute(
        select(event_streams.c.last_seq).where(event_streams.c.org_id == org_id)
    ).scalar_one_or_none()
    return int(last or 0)


# Asked at every poll of the delivery loop, up to 50 times a second while this process
# commits events (sync.scheduler): built once, so each poll reuses its compiled form.
_e, _s = webhook_endpoints, event_streams
_DUE = (
    select(_e.c.id)
    .join(_s, _s.c.org_id == _e.c.org_id)
    .where(
        _e.c.enabled.is_(True),
        _e.c.cursor < _s.c.last_seq,
        (_e.c.next_attempt_at.is_(None)) | (_e.c.next_attempt_at <= bindparam("now")),
    )
    .order_by(_e.c.next_attempt_at.asc().nulls_first(), _e.c.id)
    .limit(bindparam("limit", type_=Integer))
)


_RESUMED = {  # what enabling, replaying or "retry now" clears: deliver at once
    "state": EndpointState.OK.value,
    "attempts": 0,
    "next_attempt_at": None,
    "retrying_since": None,
    "failing_since": None,
}


# Built once: every delivered event runs both (built per call, SQLAlchemy's cache key for
# the literal values cost more than the statements).
_INSERT_DELIVERY = webhook_deliveries.insert()
_MOVE = (
    update(webhook_endpoints)
    .where(
        webhook_endpoints.c.id == bindparam("endpoint_id"),
        webhook_endpoints.c.cursor == bindparam("read_cursor"),
        webhook_endpoints.c.attempts == bindparam("read_attempts"),
    )
    .values(
        cursor=bindparam("new_cursor"),
        state=bindparam("new_state"),
        attempts=bindparam("new_attempts"),
        next_attempt_at=bindparam("new_next_attempt_at"),
        retrying_since=bindparam("new_retrying_since"),
        failing_since=bindparam("new_failing_since"),
    )
)


class Webhooks:
    def __init__(self, db: Database, audit: Audit) -> None:
        self.db = db
        self.audit = audit

    # -- what admins do -------------------------------------------------------------------

    def add(
        self,
        org_id: str,
        *,
        url: str,
        event_types: tuple[str, ...],
        secret_encrypted: str,
        actor: Actor,
    ) -> Endpoint:
        """A new endpoint receives the events after the stream's end as of now; older
        ones only by a replay."""
        now = event_time()
        with self.db.write() as conn:
            if conn.execute(select(orgs.c.id).where(orgs.c.id == org_id)).first() is None:
                raise OrgNotFound(org_id)
            values: dict[str, Any] = {
                "id": str(uuid.uuid4()),
                "org_id": org_id,
                "url": url,
                "event_types": list(event_types),
                "enabled": True,
                "secret_encrypted": secret_encrypted,
                "previous_secret_encrypted": None,
                "previous_valid_until": None,
                "cursor": _last_seq(conn, org_id),
                "state": EndpointState.OK.value,
                "failing_since": None,
                "retrying_since": None,
                "disabled_reason": None,
                "next_attempt_at": None,
                "attempts": 0,
                "created": now,
            }
            conn.execute(webhook_endpoints.insert().values(**values))
            self._audit(conn, org_id, actor, WebhookAudit.ADDED, values["id"], {"url": url})
            return self._get(conn, org_id, str(values["id"]))

    def update(
        self,
        org_id: str,
        endpoint_id: str,
        *,
        actor: Actor,
        url: str | None = None,
        event_types: tuple[str, ...] | None = None,
    ) -> Endpoint:
        values: dict[str, Any] = {}
        if url is not None:
            values["url"] = url
        if event_types is not None:
            values["event_types"] = list(event_types)
        with self.db.write() as conn:
            self._get(conn, org_id, endpoint_id)
            if values:
                self._update(conn, org_id, endpoint_id, values)
                self._audit(conn, org_id, actor, WebhookAudit.UPDATED, endpoint_id, values)
            return self._get(conn, org_id, endpoint_id)

    def remove(self, org_id: str, endpoint_id: str, *, actor: Actor) -> None:
        with self.db.write() as conn:
            gone = self._get(conn, org_id, endpoint_id)
            conn.execute(
                delete(webhook_endpoints).where(
                    webhook_endpoints.c.org_id == org_id, webhook_endpoints.c.id == endpoint_id
                )
            )
            self._audit(conn, org_id, actor, WebhookAudit.REMOVED, endpoint_id, {"url": gone.url})

    def rotate(
        self,
        org_id: str,
        endpoint_id: str,
        *,
        secret_encrypted: str,
        previous_valid_until: datetime,
        actor: Actor,
    ) -> Endpoint:
        """The new secret signs from now on; the current one keeps signing beside it until
        `previous_valid_until` (a secret older than that is dropped)."""
        with self.db.write() as conn:
            current = self._get(conn, org_id, endpoint_id)
            self._update(
                conn,
                org_id,
                endpoint_id,
                {
                    "secret_encrypted": secret_encrypted,
                    "previous_secret_encrypted": current.secret_encrypted,
                    "previous_valid_until": previous_valid_until,
                },
            )
            detail = {"previous_valid_until": _iso(previous_valid_until)}
            self._audit(conn, org_id, actor, WebhookAudit.SECRET_ROTATED, endpoint_id, detail)
            return self._get(conn, org_id, endpoint_id)

    def set_enabled(
        self, org_id: str, endpoint_id: str, enabled: bool, *, actor: Actor
    ) -> Endpoint:
        """Enabling resumes at the cursor, at once and with a fresh retry schedule (the
        event that was failing comes first); disabling keeps the cursor where it is."""
        with self.db.write() as conn:
            current = self._get(conn, org_id, endpoint_id)
            if enabled:
                values: dict[str, Any] = {**_RESUMED, "enabled": True, "disabled_reason": None}
            else:
                values = {"enabled": False, "disabled_reason": f"disabled by {actor.name}"}
            if current.enabled != enabled:
                self._update(conn, org_id, endpoint_id, values)
                action = WebhookAudit.ENABLED if enabled else WebhookAudit.DISABLED
                self._audit(conn, org_id, actor, action, endpoint_id, {"url": current.url})
            return self._get(conn, org_id, endpoint_id)

    def retry_now(self, org_id: str, endpoint_id: str) -> Endpoint:
        """The waiting head event is attempted at the next poll instead of at its time
        (its attempts keep counting towards the schedule)."""
        with self.db.write() as conn:
            self._get(conn, org_id, endpoint_id)
            self._update(conn, org_id, endpoint_id, {"next_attempt_at": None})
            return self._get(conn, org_id, endpoint_id)

    def replay(self, org_id: str, endpoint_id: str, since: datetime, *, actor: Actor) -> Endpoint:
        """Deliver again every event that occurred at or after `since` (delivered ones
        included: receivers tell them by `webhook-id`): every event after the last one
        that occurred before it, found by walking the stream back from its newest event
        (reading as many events as will be sent again). The cursor only moves back, so a
        replay never passes over an event still waiting, and the walk can read outside
        the write: what commits in between is ahead of the cursor anyway."""
        with self.db.read() as conn:
            before = _last_before(conn, org_id, since)
        with self.db.write() as conn:
            current = self._get(conn, org_id, endpoint_id)
            cursor = min(current.cursor, before)
            self._update(conn, org_id, endpoint_id, {**_RESUMED, "cursor": cursor})
            detail = {"since": _iso(since), "from_cursor": current.cursor, "to_cursor": cursor}
            self._audit(conn, org_id, actor, WebhookAudit.REPLAYED, endpoint_id, detail)
            return self._get(conn, org_id, endpoint_id)

    # -- reading --------------------------------------------------------------------------

    def get(self, org_id: str, endpoint_id: str) -> Endpoint:
        with self.db.read() as conn:
            return self._get(conn, org_id, endpoint_id)

    def by_id(self, endpoint_id: str) -> Endpoint | None:
        """For background work, which holds only the id."""
        with self.db.read() as conn:
            row = conn.execute(
                select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
            ).first()
        return _endpoint(row) if row else None

    def endpoints(self, org_id: str) -> list[Endpoint]:
        t = webhook_endpoints
        with self.db.read() as conn:
            rows = conn.execute(
                select(t).where(t.c.org_id == org_id).order_by(t.c.created, t.c.id)
            ).all()
        return [_endpoint(r) for r in rows]

    def count(self) -> int:
        with self.db.read() as conn:
            return int(
                conn.execute(select(func.count()).select_from(webhook_endpoints)).scalar_one()
            )

    def due(self, now: datetime, *, limit: int = 1000) -> list[str]:
        """Enabled endpoints behind their organisation's stream whose next attempt is due:
        those with nothing pending first (no next attempt), then the longest waiting. One
        indexed join: cheap enough to ask at every poll. NULLs first on both databases
        (PostgreSQL sorts them last by default): otherwise a healthy endpoint waits behind
        every retrying one of every organisation while the delivery threads are busy."""
        with self.db.read_one() as conn:
            return list(conn.execute(_DUE, {"now": now, "limit": limit}).scalars())

    def deliveries(
        self, org_id: str, endpoint_id: str, *, limit: int = 50, before: int | None = None
    ) -> list[Delivery]:
        """Newest first; `before` pages on by delivery id."""
        t = webhook_deliveries
        where = [t.c.org_id == org_id, t.c.endpoint_id == endpoint_id]
        if before is not None:
            where.append(t.c.id < before)
        with self.db.read() as conn:
            rows = conn.execute(select(t).where(*where).order_by(t.c.id.desc()).limit(limit)).all()
        return [_delivery(r) for r in rows]

    def undelivered(self, org_id: str, endpoint_id: str, *, limit: int = 50) -> list[Delivery]:
        """Events passed over (given up, lost to retention) and never delivered since:
        what a replay would bring back. Newest first."""
        t = webhook_deliveries
        done = (
            select(t.c.event_seq)
            .where(t.c.endpoint_id == endpoint_id, t.c.outcome == Outcome.DELIVERED.value)
            .scalar_subquery()
        )
        with self.db.read() as conn:
            rows = conn.execute(
                select(t)
                .where(
                    t.c.org_id == org_id,
                    t.c.endpoint_id == endpoint_id,
                    t.c.outcome.in_([Outcome.GAVE_UP.value, Outcome.EXPIRED.value]),
                    t.c.event_seq.not_in(done),
                )
                .order_by(t.c.id.desc())
                .limit(limit)
            ).all()
        return [_delivery(r) for r in rows]

    # -- what delivery records ------------------------------------------------------------

    def record(self, endpoint: Endpoint, attempt: Attempt, progress: Progress | None) -> bool:
        """Record an attempt and, with `progress`, move the endpoint on, in one transaction.
        The endpoint moves only if its cursor and attempts are still what the deliverer
        read (False otherwise: a replay or another process came between; the attempt is
        kept as history all the same). Disabling writes its audit event in it too."""
        with self.db.write() as conn:
            conn.execute(
                _INSERT_DELIVERY,
                {
                    "endpoint_id": endpoint.id,
                    "org_id": endpoint.org_id,
                    "event_seq": attempt.event_seq,
                    "event_id": attempt.event_id[:64],
                    "attempt": attempt.attempt,
                    "time": attempt.time,
                    "status_code": attempt.status_code,
                    "latency_ms": attempt.latency_ms,
                    "error": (attempt.error or None) and attempt.error[:200],
                    "outcome": attempt.outcome.value,
                },
            )
            if progress is None:
                return True
            return self._progress(conn, endpoint, progress)

    def advance(self, endpoint: Endpoint, cursor: int) -> bool:
        """Move the cursor over events the endpoint's filter passes over (no delivery)."""
        if cursor <= endpoint.cursor:
            return True
        with self.db.write() as conn:
            t = webhook_endpoints
            return (
                conn.execute(
                    update(t)
                    .where(t.c.id == endpoint.id, t.c.cursor == endpoint.cursor)
                    .values(cursor=cursor)
                ).rowcount
                == 1
            )

    def skip_pruned(self, endpoint: Endpoint) -> Endpoint | None:
        """Retention removed events the endpoint never got (it was disabled or failing
        longer than events are kept): say so in a delivery row, then go on from the first
        event kept. None when another process moved the cursor first."""
        now = event_time()
        with self.db.write() as conn:
            pruned = conn.execute(
                select(event_streams.c.pruned_through).where(
                    event_streams.c.org_id == endpoint.org_id
                )
            ).scalar_one_or_none()
            if pruned is None or pruned <= endpoint.cursor:
                return endpoint
            conn.execute(
                webhook_deliveries.insert().values(
                    endpoint_id=endpoint.id,
                    org_id=endpoint.org_id,
                    event_seq=int(pruned),
                    event_id="",
                    attempt=0,
                    time=now,
                    error=f"events {endpoint.cursor + 1}-{pruned} were removed by retention "
                    "before they were delivered",
                    outcome=Outcome.EXPIRED.value,
                )
            )
            moved = Progress(
                int(pruned),
                EndpointState.OK,
                0,
                None,
                None,
                endpoint.failing_since,
            )
            if not self._progress(conn, endpoint, moved):
                return None
            return self._get(conn, endpoint.org_id, endpoint.id)

    def record_test(self, endpoint: Endpoint, attempt: Attempt) -> Delivery:
        with self.db.write() as conn:
            row_id = conn.execute(
                webhook_deliveries.insert()
                .values(
                    endpoint_id=endpoint.id,
                    org_id=endpoint.org_id,
                    event_seq=0,
                    event_id=attempt.event_id[:64],
                    attempt=attempt.attempt,
                    time=attempt.time,
                    status_code=attempt.status_code,
                    latency_ms=attempt.latency_ms,
                    error=(attempt.error or None) and attempt.error[:200],
                    outcome=Outcome.TEST.value,
                )
                .returning(webhook_deliveries.c.id)
            ).scalar_one()
            row = conn.execute(
                select(webhook_deliveries).where(webhook_deliveries.c.id == row_id)
            ).one()
        return _delivery(row)

    def prune_deliveries(self, before: datetime, *, batch: int = 10_000) -> int:
        t = webhook_deliveries
        removed = 0
        while True:
            with self.db.write() as conn:
                ids = select(t.c.id).where(t.c.time < before).limit(batch).scalar_subquery()
                n = conn.execute(delete(t).where(t.c.id.in_(ids))).rowcount
            removed += n
            if n < batch:
                return removed

    # -- inside ---------------------------------------------------------------------------

    def _progress(self, conn: Connection, endpoint: Endpoint, progress: Progress) -> bool:
        values: dict[str, Any] = {
            "new_cursor": progress.cursor,
            "new_state": progress.state.value,
            "new_attempts": progress.attempts,
            "new_next_attempt_at": progress.next_attempt_at,
            "new_retrying_since": progress.retrying_since,
            "new_failing_since": progress.failing_since,
            "endpoint_id": endpoint.id,
            "read_cursor": endpoint.cursor,
            "read_attempts": endpoint.attempts,
        }
        disabling = progress.disabled_reason is not None
        statement = _MOVE
        if disabling:
            statement = _MOVE.values(enabled=False, disabled_reason=progress.disabled_reason)
        moved = conn.execute(statement, values).rowcount
        if moved and disabling:
            self.audit.record(
                endpoint.org_id,
                "scimhub webhook delivery",
                WebhookAudit.DISABLED,
                target=endpoint.id,
                detail={"url": endpoint.url, "reason": progress.disabled_reason},
                conn=conn,
            )
        return bool(moved)

    @staticmethod
    def _get(conn: Connection, org_id: str, endpoint_id: str) -> Endpoint:
        t = webhook_endpoints
        row = conn.execute(select(t).where(t.c.org_id == org_id, t.c.id == endpoint_id)).first()
        if row is None:
            raise EndpointNotFound(endpoint_id)
        return _endpoint(row)

    @staticmethod
    def _update(conn: Connection, org_id: str, endpoint_id: str, values: dict[str, Any]) -> None:
        t = webhook_endpoints
        conn.execute(update(t).where(t.c.org_id == org_id, t.c.id == endpoint_id).values(**values))

    def _audit(
        self,
        conn: Connection,
        org_id: str,
        actor: Actor,
        action: WebhookAudit,
        endpoint_id: str,
        detail: dict[str, Any],
    ) -> None:
        self.audit.record(
            org_id,
            actor.name,
            action,
            target=endpoint_id,
            detail=detail,
            tracking_id=actor.tracking_id,
            conn=conn,
        )
