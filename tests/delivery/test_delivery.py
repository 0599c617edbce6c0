"""Delivery to a real receiver on loopback: every message signed (and verified by the
Standard Webhooks library), in the events API's order, each event acknowledged once
however often the receiver fails, head of line, retries on the schedule."""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta

from sqlalchemy import select
from standardwebhooks import Webhook

from scimhub.directory.events import EventType
from scimhub.directory.webhooks import EndpointState, Outcome
from scimhub.store.tables import webhook_deliveries
from tests.delivery.conftest import ADMIN, Hooks
from tests.delivery.receiver import Received, Receiver, serving


def test_each_event_arrives_signed_with_its_id_as_the_events_api_renders_it(
    hooks: Hooks, receiver: Receiver
) -> None:
    created = hooks.service.add(hooks.org_id, receiver.url, actor=ADMIN)
    receiver.secrets = [created.secret]
    ids = hooks.emit(3)
    hooks.drain(created.endpoint.id, lambda: len(receiver.acknowledged) == 3)
    assert receiver.acknowledged == ids and not receiver.bad_signatures
    page = hooks.hub.events.page(hooks.org_id, after=None, limit=10)
    for got, event in zip(receiver.requests, page.events, strict=True):
        assert got.id == event.id
        assert json.loads(got.body) == event.as_json()
        assert Webhook(created.secret).verify(got.body, got.headers) == event.as_json()
        assert got.headers["content-type"] == "application/json"
        assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    done = hooks.service.deliveries(hooks.org_id, created.endpoint.id)
    assert [d.outcome for d in done] == [Outcome.DELIVERED] * 3
    assert all(d.status_code == 200 and d.latency_ms is not None for d in done)
    assert hooks.service.get(hooks.org_id, created.endpoint.id).cursor == page.events[-1].seq


def test_a_new_endpoint_starts_at_the_end_of_the_stream(hooks: Hooks, receiver: Receiver) -> None:
    hooks.emit(2)  # before the endpoint existed: only a replay sends these
    created = hooks.service.add(hooks.org_id, receiver.url, actor=ADMIN)
    later = hooks.emit(1)
    hooks.drain(created.endpoint.id, lambda: len(receiver.acknowledged) == 1)
    assert receiver.acknowledged == later


def test_the_filter_passes_over_other_types_and_the_cursor_catches_up(
    hooks: Hooks, receiver: Receiver
) -> None:
    created = hooks.service.add(hooks.org_id, receiver.url, ["group.created"], actor=ADMIN)
    hooks.emit(2, EventType.USER_CREATED)
    wanted = hooks.emit(1, EventType.GROUP_CREATED)
    hooks.emit(2, EventType.USER_UPDATED)
    hooks.drain(
        created.endpoint.id,
        lambda: hooks.service.get(hooks.org_id, created.endpoint.id).cursor == 5,
    )
    assert receiver.acknowledged == wanted
    # caught up: nothing is due any more, so the poller finds nothing to do
    assert created.endpoint.id not in hooks.deliverer.due()


def test_a_flaky_receiver_that_goes_away_gets_every_event_once_and_in_order(
    hooks: Hooks,
) -> None:
    """30% of requests fail (500), and for a while nothing listens at all; events keep
    coming throughout. In the end every event was acknowledged exactly once, in the
    stream's order, and the hub recorded one delivery per event."""
    chance = random.Random(13)

    def flaky(got: Received) -> tuple[int, dict[str, str]]:
        return (500, {}) if chance.random() < 0.3 else (200, {})

    receiver = Receiver(respond=flaky)
    with serving(receiver) as up:
        created = hooks.service.add(hooks.org_id, up.url, actor=ADMIN)
        receiver.secrets = [created.secret]
        endpoint_id, port = created.endpoint.id, up.port
        for _ in range(10):
            hooks.emit(3)
            hooks.deliverer.run(endpoint_id)
    # down: connections refused; the events keep coming and wait
    for _ in range(5):
        hooks.emit(2)
        hooks.deliverer.run(endpoint_id)
        time.sleep(0.02)
    down = hooks.service.get(hooks.org_id, endpoint_id)
    assert down.state == EndpointState.RETRYING and down.failing_since is not None
    with serving(receiver, port=port):
        hooks.emit(5)
        hooks.drain(endpoint_id, lambda: len(receiver.acknowledged) == len(hooks.emitted))
    assert receiver.acknowledged == hooks.emitted  # each once, in order
    assert not receiver.bad_signatures
    assert any(r.headers["webhook-id"] for r in receiver.requests)
    with hooks.hub.db.read() as conn:
        delivered = (
            conn.execute(
                select(webhook_deliveries.c.event_id)
                .where(
                    webhook_deliveries.c.endpoint_id == endpoint_id,
                    webhook_deliveries.c.outcome == Outcome.DELIVERED.value,
                )
                .order_by(webhook_deliveries.c.id)
            )
            .scalars()
            .all()
        )
        failed = (
            conn.execute(
                select(webhook_deliveries.c.error).where(
                    webhook_deliveries.c.endpoint_id == endpoint_id,
                    webhook_deliveries.c.outcome == Outcome.FAILED.value,
                )
            )
            .scalars()
            .all()
        )
    assert list(delivered) == hooks.emitted
    assert "answered 500" in failed
    assert any(e and e.startswith("could not connect") for e in failed)
    final = hooks.service.get(hooks.org_id, endpoint_id)
    assert final.state == EndpointState.OK and final.failing_since is None


def test_a_failing_event_holds_the_ones_behind_it(hooks: Hooks, receiver: Receiver) -> None:
    created = hooks.service.add(hooks.org_id, receiver.url, actor=ADMIN)
    first, *rest = hooks.emit(3)
    refusals = iter([503, 503, 503])
    receiver.respond = lambda got: (next(refusals, 200) if got.id == first else 200, {})
    hooks.drain(created.endpoint.id, lambda: len(receiver.acknowledged) == 3)
    seen = [r.id for r in receiver.requests]
    assert seen == [first] * 4 + rest  # nothing behind it went out before it
    attempts = [d.attempt for d in hooks.service.deliveries(hooks.org_id, created.endpoint.id)]
    assert attempts[::-1] == [1, 2, 3, 4, 1, 1]


def test_retry_after_is_honoured(hooks: Hooks, receiver: Receiver) -> None:
    created = hooks.service.add(hooks.org_id, receiver.url, actor=ADMIN)
    answers = iter([(429, {"Retry-After": "1"}), (200, {})])
    receiver.respond = lambda got: next(answers)
    hooks.emit(1)
    hooks.deliverer.run(created.endpoint.id)
    waiting = hooks.service.get(hooks.org_id, created.endpoint.id)
    assert waiting.next_attempt_at is not None
    assert timedelta(seconds=0.9) < waiting.next_attempt_at - hooks.clock() <= timedelta(seconds=1)
    assert created.endpoint.id not in hooks.deliverer.due()  # not before its time
    hooks.drain(created.endpoint.id, lambda: len(receiver.acknowledged) == 1)
    first, second = receiver.requests
    assert second.at - first.at >= 0.95  # the schedule alone would have waited 10 ms


def test_410_gone_disables_the_endpoint_and_keeps_the_event(
    hooks: Hooks, receiver: Receiver
) -> None:
    created = hooks.service.add(hooks.org_id, receiver.url, actor=ADMIN)
    receiver.respond = lambda got: (410, {})
    hooks.emit(2)
    hooks.deliverer.run(created.endpoint.id)
    gone = hooks.service.get(hooks.org_id, created.endpoint.id)
    assert not gone.enabled and gone.state == EndpointState.DISABLED
    assert gone.disabled_reason == "the receiver answered 410 Gone"
    assert gone.cursor == created.endpoint.cursor  # the event is still to be delivered
    assert len(receiver.requests) == 1 and not hooks.deliverer.due().count(gone.id)
    audit, _ = hooks.hub.audit.events(hooks.org_id, action="Webhook endpoint disabled")
    assert audit[0].detail["reason"] == "the receiver answered 410 Gone"
    # switched on again, it resumes with the event that was refused
    receiver.respond = lambda got: (200, {})
    hooks.service.set_enabled(hooks.org_id, gone.id, True, actor=ADMIN)
    hooks.drain(gone.id, lambda: len(receiver.acknowledged) == 2)
    assert receiver.acknowledged == hooks.emitted


def test_redirects_are_not_followed(hooks: Hooks, receiver: Receiver) -> None:
    created = hooks.service.add(hooks.org_id, receiver.url, actor=ADMIN)
    receiver.respond = lambda got: (307, {"Location": f"http://127.0.0.1:{receiver.port}/else"})
    hooks.emit(1)
    hooks.deliverer.run(created.endpoint.id)
    assert [r.path for r in receiver.requests] == [receiver.path]
    (attempt,) = hooks.service.deliveries(hooks.org_id, created.endpoint.id)
    assert (attempt.status_code, attempt.outcome, attempt.error) == (
        307,
        Outcome.FAILED,
        "answered 307",
    )
