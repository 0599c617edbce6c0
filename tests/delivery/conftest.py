"""Delivery over the session's hub database, with short schedules: a deliverer of the
test's own (private addresses allowed, so receivers run on loopback) over the hub's
tables, events recorded as the directory records them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from scimhub.api.services import Hub
from scimhub.delivery.deliver import Deliverer, DeliveryOptions, RunResult
from scimhub.delivery.endpoints import WebhookService
from scimhub.delivery.schedule import RetrySchedule
from scimhub.directory.actor import Actor
from scimhub.directory.events import EventType, NewEvent, record
from scimhub.directory.webhooks import Webhooks
from scimhub.store.engine import event_time
from tests.delivery.receiver import Receiver, serving

FAST = RetrySchedule(
    first=timedelta(milliseconds=10),
    factor=2,
    cap=timedelta(milliseconds=80),
    give_up_after=timedelta(hours=1),
    min_attempts=8,
    disable_after=timedelta(hours=2),
)
ADMIN = Actor("ada@example.com", "TEST_1")


@dataclass
class Clock:
    """A settable clock; None follows the real one."""

    at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at or event_time()

    def advance(self, by: timedelta) -> None:
        self.at = self() + by


@dataclass
class Hooks:
    hub: Hub
    org_id: str
    service: WebhookService
    clock: Clock
    emitted: list[str] = field(default_factory=list)  # event ids, in stream order

    @property
    def deliverer(self) -> Deliverer:
        return self.service.deliverer

    def emit(self, count: int = 1, kind: EventType = EventType.USER_CREATED) -> list[str]:
        """Record `count` events in one write, as a SCIM write does; their ids."""
        with self.hub.db.write() as conn:
            record(
                conn,
                self.org_id,
                [NewEvent(kind, {"id": uuid.uuid4().hex}) for _ in range(count)],
            )
        page = self.hub.events.page(self.org_id, after=None, limit=10_000)
        ids = [e.id for e in page.events if e.id not in self.emitted]
        self.emitted.extend(ids)
        return ids

    def drain(self, endpoint_id: str, until: Callable[[], bool], timeout: float = 20) -> None:
        """Run the endpoint's deliveries, as a scheduler would, until `until()`."""
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError("deliveries did not finish in time")
            result: RunResult = self.deliverer.run(endpoint_id)
            if not result.delivered:
                time.sleep(0.005)


def make_service(
    hub: Hub,
    *,
    schedule: RetrySchedule = FAST,
    clock: Callable[[], datetime] = event_time,
    allow_private: bool = True,
    ca_file: str | None = None,
) -> WebhookService:
    """A webhook service of the test's own over the hub's tables and secret key."""
    box = hub.webhooks.box
    webhooks = Webhooks(hub.db, hub.audit)
    opts = DeliveryOptions(
        allow_private=allow_private, schedule=schedule, timeout=2, ca_file=ca_file
    )
    deliverer = Deliverer(hub.db, webhooks, hub.events, box, opts, clock=clock)
    return WebhookService(webhooks, box, deliverer, allow_private=allow_private)


@pytest.fixture
def hooks(hub: Hub) -> Hooks:
    clock = Clock()
    org_id = hub.orgs.create(f"Hooks {uuid.uuid4().hex[:6]}").id
    return Hooks(hub, org_id, make_service(hub, clock=clock), clock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving(Receiver()) as r:
        yield r
