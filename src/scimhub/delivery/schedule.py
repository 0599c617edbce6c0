"""When a failed delivery is tried again, and when the hub stops trying.

Exponential backoff with jitter: 10 s after the first failure, then three times longer
each time (30 s, 1.5 min, 4.5 min, ... 6 h), at most 12 h apart, each delay stretched or
shrunk by up to a fifth at random so receivers coming back from an outage are not hit by
every hub at once. A `Retry-After` from the receiver (seconds or an HTTP date) replaces
the computed delay, up to a day. The head event is retried for at least 3 days and at
least 8 attempts (about 15 over 3.4 days with these numbers), then given up: passed
over, recorded and replayable, and the events behind it go on. An endpoint that has not
had one success for 5 days is disabled (with an audit event); 410 Gone disables it at
once.

Everything is a field, so tests run the same rules in milliseconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    first: timedelta = timedelta(seconds=10)
    factor: float = 3.0
    cap: timedelta = timedelta(hours=12)
    jitter: float = 0.2  # each delay times a random factor in [1 - jitter, 1 + jitter]
    give_up_after: timedelta = timedelta(days=3)
    min_attempts: int = 8
    disable_after: timedelta = timedelta(days=5)
    max_retry_after: timedelta = timedelta(days=1)

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """The wait after the `attempts`-th failed attempt of an event (1 = the first)."""
        base = min(self.first * self.factor ** max(0, attempts - 1), self.cap)
        return base * rng.uniform(1 - self.jitter, 1 + self.jitter)

    def wait(
        self, attempts: int, retry_after: str | None, now: datetime, rng: random.Random
    ) -> timedelta:
        asked = parse_retry_after(retry_after, now)
        if asked is not None:
            return min(max(asked, self.first), self.max_retry_after)
        return self.delay(attempts, rng)

    def gives_up(self, attempts: int, retrying_since: datetime, now: datetime) -> bool:
        return attempts >= self.min_attempts and now - retrying_since >= self.give_up_after

    def disables(self, failing_since: datetime, now: datetime) -> bool:
        return now - failing_since >= self.disable_after


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """RFC 9110 §10.2.3: delay-seconds or an HTTP-date; None when absent or malformed."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value[:9]))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))
