"""The retry schedule: exponential with jitter, at least 3 days and 8 attempts before an
event is given up, Retry-After honoured within bounds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from scimhub.delivery.schedule import RetrySchedule, parse_retry_after

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def test_delays_grow_exponentially_up_to_the_cap_with_jitter() -> None:
    schedule, rng = RetrySchedule(), random.Random(1)
    plain = RetrySchedule(jitter=0)
    assert [plain.delay(n, rng).total_seconds() for n in range(1, 5)] == [10, 30, 90, 270]
    assert plain.delay(20, rng) == timedelta(hours=12)
    for n in range(1, 20):
        base = plain.delay(n, rng)
        jittered = [schedule.delay(n, rng) for _ in range(50)]
        assert all(base * 0.8 <= d <= base * 1.2 for d in jittered)
        assert len(set(jittered)) > 1


def test_the_default_schedule_tries_for_three_days_and_more_than_eight_times() -> None:
    schedule, rng = RetrySchedule(), random.Random(2)
    for _ in range(20):
        attempts, at = 1, NOW  # the first attempt fails at NOW
        while not schedule.gives_up(attempts, NOW, at):
            at += schedule.delay(attempts, rng)
            attempts += 1
        assert attempts >= 8 and at - NOW >= timedelta(days=3)
        assert at - NOW < timedelta(days=4)
    assert not schedule.disables(NOW, NOW + timedelta(days=4, hours=23))
    assert schedule.disables(NOW, NOW + timedelta(days=5))


def test_retry_after_replaces_the_delay_within_bounds() -> None:
    schedule, rng = RetrySchedule(), random.Random(3)
    assert schedule.wait(1, "120", NOW, rng) == timedelta(seconds=120)
    assert schedule.wait(1, "0", NOW, rng) == schedule.first  # never a tight loop
    assert schedule.wait(1, "999999999", NOW, rng) == timedelta(days=1)
    date = "Fri, 04 Dec 2026 10:05:00 GMT"
    assert schedule.wait(1, date, NOW, rng) == timedelta(minutes=5)
    assert parse_retry_after("soon", NOW) is None and parse_retry_after(None, NOW) is None
    assert parse_retry_after("Fri, 04 Dec 2026 09:00:00 GMT", NOW) == timedelta(0)
