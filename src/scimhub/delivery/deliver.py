"""One endpoint's next deliveries: read the events after its cursor that match its filter,
post them one at a time, in order, and record each attempt with the cursor's move in one
transaction (`directory.webhooks`).

Order per endpoint is the events API's order, and an event that fails holds the ones
behind it (head of line) until it is delivered or given up (see `schedule.py`). So that
one endpoint is never served by two runs at once — two API processes with the in-process
scheduler, procrastinate workers — a run holds the endpoint's cross-process lock
(`store.locks`; the in-process scheduler also never starts two runs of one endpoint, and
procrastinate's `lock=` serialises a worker's jobs), and the cursor only moves if it is
still where the run read it.

A delivery is at least once: a process that dies after the receiver answered but before
the record was committed sends that event again, with the same `webhook-id`.
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import httpx
import orjson

from .. import metrics
from ..directory.events import CursorExpired, Event, Events, cursor_of
from ..directory.webhooks import (
    Attempt,
    Delivery,
    Endpoint,
    EndpointState,
    Outcome,
    Progress,
    Webhooks,
)
from ..store.engine import Database, event_time
from ..store.locks import try_lock
from . import signing
from .client import Answer, PinnedClient
from .schedule import RetrySchedule
from .secrets import SecretBox, SecretUnreadable
from .url_safety import Resolver, Target, UnsafeUrl, resolve

log = logging.getLogger("scimhub.delivery")

GONE = 410
TIMEOUT_SECONDS = 10.0
RUN_EVENTS = 100  # events one run delivers before it lets other endpoints have the thread
PAGE = 25
TEST_EVENT_TYPE = "webhook.test"


@dataclass(frozen=True, slots=True)
class RunResult:
    delivered: int = 0  # events the cursor moved past (delivered, or given up)
    failed: bool = False  # the run ended on a failed attempt (retried later)
    busy: bool = False  # another process was running this endpoint


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    allow_private: bool = False
    timeout: float = TIMEOUT_SECONDS
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    run_events: int = RUN_EVENTS
    ca_file: str | None = None  # trust this CA instead of the usual ones (tests)
    deliveries_kept: timedelta = timedelta(days=30)


def signing_keys(endpoint: Endpoint, box: SecretBox, now: datetime) -> list[str]:
    """The current secret, and the previous one while its rotation grace lasts."""
    keys = [box.decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_valid_until
        and endpoint.previous_valid_until > now
    ):
        keys.append(box.decrypt(endpoint.previous_secret_encrypted))
    return keys


def body_of(event: Event) -> str:
    return orjson.dumps(event.as_json()).decode()


class Deliverer:
    def __init__(
        self,
        db: Database,
        webhooks: Webhooks,
        events: Events,
        box: SecretBox,
        options: DeliveryOptions,
        *,
        resolver: Resolver = socket.getaddrinfo,
        clock: Callable[[], datetime] = event_time,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.webhooks = webhooks
        self.events = events
        self.box = box
        self.options = options
        self.resolver = resolver
        self.clock = clock
        self.rng = rng or random.Random()
        # made once: loading the CA bundle costs more than a delivery
        self.tls = (
            ssl.create_default_context(cafile=options.ca_file)
            if options.ca_file
            else httpx.create_ssl_context(trust_env=False)
        )

    # -- for the schedulers ---------------------------------------------------------------

    def due(self) -> list[str]:
        return self.webhooks.due(self.clock())

    def run(self, endpoint_id: str) -> RunResult:
        """Deliver what is due for one endpoint, up to `run_events` events."""
        with try_lock(self.db, f"webhook:{endpoint_id}") as mine:
            if not mine:
                return RunResult(busy=True)
            return self._run(endpoint_id)

    def clean_up(self) -> int:
        return self.webhooks.prune_deliveries(self.clock() - self.options.deliveries_kept)

    # -- for admins -----------------------------------------------------------------------

    def send_test(self, endpoint: Endpoint, actor_name: str) -> Delivery:
        """A signed `webhook.test` message outside the stream: it moves no cursor and
        holds nothing up, and goes out even while the endpoint is disabled."""
        now = self.clock()
        msg_id = f"test_{uuid.uuid4()}"
        doc = {
            "id": msg_id,
            "type": TEST_EVENT_TYPE,
            "occurred_at": now.isoformat().replace("+00:00", "Z"),
            "org_id": endpoint.org_id,
            "data": {"endpoint_id": endpoint.id},
            "source": {"kind": "admin", "name": actor_name},
        }
        body = orjson.dumps(doc).decode()
        try:
            target = self._target(endpoint)
            keys = signing_keys(endpoint, self.box, now)
        except (UnsafeUrl, SecretUnreadable) as refused:
            answer = Answer(None, 0, error=str(refused))
        else:
            with self._client(target) as client:
                answer = client.post(body.encode(), signing.headers(msg_id, body, keys, now))
        return self.webhooks.record_test(
            endpoint,
            Attempt(
                0, msg_id, 1, now, Outcome.TEST, answer.status_code, answer.latency_ms, answer.error
            ),
        )

    # -- inside ---------------------------------------------------------------------------

    def _run(self, endpoint_id: str) -> RunResult:
        endpoint = self.webhooks.by_id(endpoint_id)
        now = self.clock()
        if endpoint is None or not endpoint.enabled:
            return RunResult()
        if endpoint.next_attempt_at is not None and endpoint.next_attempt_at > now:
            return RunResult()
        try:
            target = self._target(endpoint)
            keys = signing_keys(endpoint, self.box, now)
        except (UnsafeUrl, SecretUnreadable) as refused:
            # The name now resolves somewhere it must not (or nowhere), or the secret was
            # encrypted under a key this process lacks: a failed attempt of the head
            # event, retried on the schedule like any other failure.
            return self._refused(endpoint, str(refused), now)
        delivered = 0
        with self._client(target) as client:
            while delivered < self.options.run_events:
                page = self._page(endpoint)
                if page is None:
                    return RunResult(delivered)
                found, next_cursor = page
                if not found:  # caught up: pass over what the filter does not match
                    self.webhooks.advance(endpoint, next_cursor)
                    return RunResult(delivered)
                for event in found:
                    moved = self._deliver(client, endpoint, keys, event)
                    if moved is None:  # someone moved the cursor first: stop here
                        return RunResult(delivered)
                    if moved.cursor != event.seq:
                        return RunResult(delivered, failed=True)
                    endpoint, delivered = moved, delivered + 1
                    if delivered >= self.options.run_events:
                        break
        return RunResult(delivered)

    def _refused(self, endpoint: Endpoint, reason: str, now: datetime) -> RunResult:
        page = self._page(endpoint)
        if page is None:
            return RunResult()
        if not page[0]:  # nothing to send anyway
            self.webhooks.advance(endpoint, page[1])
            return RunResult()
        log.warning("webhook %s: not delivering: %s", endpoint.id, reason)
        self._failed(endpoint, page[0][0], Answer(None, 0, error=reason), now)
        return RunResult(failed=True)

    def _page(self, endpoint: Endpoint) -> tuple[list[Event], int] | None:
        """The next events for the endpoint and the cursor past them; None when another
        process moved the cursor while retention was being accounted for."""
        types = frozenset(endpoint.event_types) or None
        try:
            page = self.events.page(
                endpoint.org_id, after=cursor_of(endpoint.cursor), limit=PAGE, types=types
            )
        except CursorExpired:
            moved = self.webhooks.skip_pruned(endpoint)
            if moved is None:
                return None
            page = self.events.page(
                endpoint.org_id, after=cursor_of(moved.cursor), limit=PAGE, types=types
            )
        return page.events, int(page.next_cursor)

    def _deliver(
        self, client: PinnedClient, endpoint: Endpoint, keys: list[str], event: Event
    ) -> Endpoint | None:
        """Post one event; the endpoint as it is after the record, None if it had moved."""
        now = self.clock()
        body = body_of(event)
        answer = client.post(body.encode(), signing.headers(event.id, body, keys, now))
        if answer.ok:
            attempt = Attempt(
                event.seq,
                event.id,
                endpoint.attempts + 1,
                now,
                Outcome.DELIVERED,
                answer.status_code,
                answer.latency_ms,
            )
            progress = Progress(event.seq, EndpointState.OK, 0, None, None, None)
            if not self.webhooks.record(endpoint, attempt, progress):
                return None
            _count(Outcome.DELIVERED, endpoint, (self.clock() - event.occurred_at).total_seconds())
            return replace(
                endpoint,
                cursor=event.seq,
                state=EndpointState.OK,
                attempts=0,
                next_attempt_at=None,
                retrying_since=None,
                failing_since=None,
            )
        log.info(
            "webhook %s: event %s attempt %d failed: %s",
            endpoint.id,
            event.id,
            endpoint.attempts + 1,
            answer.error,
        )
        return self._failed(endpoint, event, answer, now)

    def _failed(
        self, endpoint: Endpoint, event: Event, answer: Answer, now: datetime
    ) -> Endpoint | None:
        """Record a failed attempt of the head event and decide what comes next: wait,
        give the event up, or disable the endpoint."""
        schedule = self.options.schedule
        attempts = endpoint.attempts + 1
        since = endpoint.retrying_since or now
        retrying_since: datetime | None = since
        failing_since = endpoint.failing_since or now
        cursor, outcome, reason = endpoint.cursor, Outcome.FAILED, None
        state, next_at = EndpointState.RETRYING, None
        if answer.status_code == GONE:
            outcome, reason = Outcome.DISABLED, "the receiver answered 410 Gone"
        elif schedule.disables(failing_since, now):
            span = _span(schedule.disable_after)
            outcome, reason = Outcome.DISABLED, f"no successful delivery for {span}"
        elif schedule.gives_up(attempts, since, now):
            # passed over for good (and replayable); the next event starts its own schedule
            outcome, cursor = Outcome.GAVE_UP, event.seq
            attempts, retrying_since = 0, None
        else:
            next_at = now + schedule.wait(attempts, answer.retry_after, now, self.rng)
        if reason is not None:
            state = EndpointState.DISABLED
            log.warning("webhook %s disabled: %s", endpoint.id, reason)
        record = Attempt(
            event.seq,
            event.id,
            endpoint.attempts + 1,
            now,
            outcome,
            answer.status_code,
            answer.latency_ms,
            answer.error,
        )
        progress = Progress(
            cursor,
            state,
            attempts,
            next_at,
            retrying_since,
            failing_since,
            reason,
        )
        if not self.webhooks.record(endpoint, record, progress):
            return None
        _count(outcome, endpoint)
        return replace(
            endpoint,
            cursor=cursor,
            state=state,
            attempts=progress.attempts,
            next_attempt_at=next_at,
            retrying_since=retrying_since,
            failing_since=failing_since,
            enabled=reason is None,
            disabled_reason=reason,
        )

    def _target(self, endpoint: Endpoint) -> Target:
        return resolve(
            endpoint.url, allow_private=self.options.allow_private, resolver=self.resolver
        )

    def _client(self, target: Target) -> PinnedClient:
        return PinnedClient(target, timeout=self.options.timeout, verify=self.tls)


def _count(outcome: Outcome, endpoint: Endpoint, lag_seconds: float | None = None) -> None:
    """`scimhub_webhook_deliveries_total`, and for a delivery the event's lag."""
    counted = metrics.current()
    if counted is not None:
        counted.delivery(outcome.value, lag_seconds, endpoint.org_id)


def _span(value: timedelta) -> str:
    seconds = value.total_seconds()
    if seconds >= 86400:
        return f"{seconds / 86400:g} days"
    return f"{seconds:g} seconds"
