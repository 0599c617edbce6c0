"""What happens when a receiver keeps failing: the head event is given up after the whole
schedule (recorded, replayable) and the events behind it go on; an endpoint with no
success for 5 days is disabled, with an audit event; nothing is dropped silently, not even
what retention removed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from scimhub.delivery.schedule import RetrySchedule
from scimhub.directory.webhooks import EndpointState, Outcome, _last_before
from scimhub.store.tables import events
from tests.delivery.conftest import ADMIN, Clock, Hooks, make_service
from tests.delivery.receiver import Receiver


def test_a_given_up_event_is_passed_over_recorded_and_replayable(
    hooks: Hooks, receiver: Receiver
) -> None:
    schedule = RetrySchedule(
        first=timedelta(milliseconds=5),
        cap=timedelta(milliseconds=10),
        give_up_after=timedelta(milliseconds=30),
        min_attempts=3,
    )
    service = make_service(hooks.hub, schedule=schedule)
    hooks.service = service
    created = service.add(hooks.org_id, receiver.url, actor=ADMIN)
    poison, *rest = hooks.emit(3)
    receiver.respond = lambda got: (400 if got.id == poison else 200, {})
    hooks.drain(created.endpoint.id, lambda: len(receiver.acknowledged) == 2)
    assert receiver.acknowledged == rest
    history = service.deliveries(hooks.org_id, created.endpoint.id)
    tries = [d for d in history[::-1] if d.event_id == poison]
    assert len(tries) >= 3 and tries[-1].time - tries[0].time >= timedelta(milliseconds=30)
    gave_up = [d for d in history if d.outcome == Outcome.GAVE_UP]
    assert [d.event_id for d in gave_up] == [poison] and gave_up[0].status_code == 400
    assert [
        d.event_id for d in service.webhooks.undelivered(hooks.org_id, created.endpoint.id)
    ] == [poison]
    ok = service.get(hooks.org_id, created.endpoint.id)
    assert ok.state == EndpointState.OK and ok.failing_since is None

    # the receiver is fixed: a replay from before the event sends it and what followed
    receiver.respond = lambda got: (200, {})
    first = hooks.hub.events.page(hooks.org_id, after=None, limit=1).events[0]
    replayed = service.replay(hooks.org_id, created.endpoint.id, first.occurred_at, actor=ADMIN)
    assert replayed.cursor == first.seq - 1
    count = len(receiver.requests)
    hooks.drain(created.endpoint.id, lambda: len(receiver.requests) == count + 3)
    assert [r.id for r in receiver.requests[count:]] == hooks.emitted  # same ids, same order
    assert service.webhooks.undelivered(hooks.org_id, created.endpoint.id) == []
    audit, _ = hooks.hub.audit.events(hooks.org_id, action="Webhook events replayed")
    assert audit[0].actor == ADMIN.name and audit[0].tracking_id == ADMIN.tracking_id


def test_a_replay_never_moves_the_cursor_forward(hooks: Hooks, receiver: Receiver) -> None:
    created = hooks.service.add(hooks.org_id, receiver.url, actor=ADMIN)
    receiver.respond = lambda got: (503, {})
    hooks.emit(2)
    hooks.deliverer.run(created.endpoint.id)
    later = hooks.clock() + timedelta(hours=1)  # after every event: nothing to replay
    moved = hooks.service.replay(hooks.org_id, created.endpoint.id, later, actor=ADMIN)
    assert moved.cursor == created.endpoint.cursor  # the failing event still comes first
    assert moved.next_attempt_at is None and moved.attempts == 0


def test_a_replay_sends_what_occurred_from_its_time_on(hooks: Hooks, receiver: Receiver) -> None:
    created = hooks.service.add(hooks.org_id, receiver.url, actor=ADMIN)
    hooks.emit(2)
    recent = hooks.emit(2)
    hooks.drain(created.endpoint.id, lambda: len(receiver.acknowledged) == 4)
    with hooks.hub.db.write() as conn:  # the first two a day ago
        conn.execute(
            update(events)
            .where(events.c.org_id == hooks.org_id, events.c.seq <= 2)
            .values(occurred_at=hooks.clock() - timedelta(days=1))
        )
    since = hooks.clock() - timedelta(hours=1)
    moved = hooks.service.replay(hooks.org_id, created.endpoint.id, since, actor=ADMIN)
    assert moved.cursor == 2
    count = len(receiver.requests)
    hooks.drain(created.endpoint.id, lambda: len(receiver.requests) == count + 2)
    assert [r.id for r in receiver.requests[count:]] == recent
    earlier = hooks.clock() - timedelta(days=2)  # before every event: all of them
    assert hooks.service.replay(hooks.org_id, created.endpoint.id, earlier, actor=ADMIN).cursor == 0
    with hooks.hub.db.read() as conn:  # the walk back, a page at a time
        assert [_last_before(conn, hooks.org_id, since, page=n) for n in (1, 2, 3)] == [2, 2, 2]
        assert _last_before(conn, hooks.org_id, earlier, page=2) == 0
        assert _last_before(conn, hooks.org_id, hooks.clock(), page=2) == 4


def test_no_success_for_five_days_disables_the_endpoint_with_an_audit_event(
    hooks: Hooks, receiver: Receiver
) -> None:
    clock = Clock(hooks.clock())
    service = make_service(hooks.hub, schedule=RetrySchedule(), clock=clock)
    created = service.add(hooks.org_id, receiver.url, actor=ADMIN)
    receiver.respond = lambda got: (500, {})
    hooks.emit(3)
    days = 0.0
    while (ep := service.get(hooks.org_id, created.endpoint.id)).enabled:
        assert days < 6, "still enabled after 6 days"
        if ep.next_attempt_at is not None:
            clock.at = ep.next_attempt_at  # sleep until the attempt is due
        assert service.deliverer.run(ep.id).failed
        days = (clock() - (ep.failing_since or clock())).total_seconds() / 86400
    assert 5 <= days < 5.6
    assert ep.state == EndpointState.DISABLED
    assert ep.disabled_reason == "no successful delivery for 5 days"
    # every attempt of the 3+ days was recorded; the head event was given up on the way
    history = service.deliveries(hooks.org_id, ep.id, limit=100)
    outcomes = [d.outcome for d in history]
    assert outcomes[0] == Outcome.DISABLED and Outcome.GAVE_UP in outcomes
    assert outcomes.count(Outcome.FAILED) >= 8
    (audit,), _ = hooks.hub.audit.events(hooks.org_id, action="Webhook endpoint disabled")
    assert audit.actor == "scimhub webhook delivery" and audit.target == ep.id
    assert audit.detail["reason"] == "no successful delivery for 5 days"
    assert ep.id not in service.deliverer.due()


def test_events_removed_by_retention_are_recorded_not_skipped_silently(
    hooks: Hooks, receiver: Receiver
) -> None:
    created = hooks.service.add(hooks.org_id, receiver.url, actor=ADMIN)
    hooks.service.set_enabled(hooks.org_id, created.endpoint.id, False, actor=ADMIN)
    hooks.emit(3)
    kept = hooks.emit(1)
    with hooks.hub.db.write() as conn:  # the first three are older than retention
        conn.execute(
            update(events)
            .where(events.c.org_id == hooks.org_id, events.c.seq <= 3)
            .values(occurred_at=hooks.clock() - timedelta(days=400))
        )
    hooks.hub.events.prune(hooks.clock() - timedelta(days=30))
    hooks.service.set_enabled(hooks.org_id, created.endpoint.id, True, actor=ADMIN)
    hooks.drain(created.endpoint.id, lambda: len(receiver.acknowledged) == 1)
    assert receiver.acknowledged == kept
    expired = [
        d
        for d in hooks.service.deliveries(hooks.org_id, created.endpoint.id)
        if d.outcome == Outcome.EXPIRED
    ]
    assert len(expired) == 1
    assert expired[0].error == "events 1-3 were removed by retention before they were delivered"
