"""The in-process scheduler (SQLite's): a SCIM write reaches the receiver within about a
second of an idle hub, and a slow receiver does not hold up another endpoint."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from scimhub.delivery.deliver import Deliverer
from scimhub.sync.scheduler import deliver_forever
from scimhub.tracking_ids import new_tracking_id
from tests.conftest import OrgClient
from tests.delivery.conftest import ADMIN, make_service
from tests.delivery.receiver import Receiver, serving


@contextmanager
def scheduler(deliverer: Deliverer, *, interval: float = 0.5) -> Iterator[None]:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    tasks: list[asyncio.Task[None]] = []

    async def main() -> None:
        run = deliver_forever(deliverer, new_id=lambda: new_tracking_id("TEST"), interval=interval)
        tasks.append(asyncio.ensure_future(run))
        started.set()
        with suppress(asyncio.CancelledError):
            await tasks[0]

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),))
    thread.start()
    started.wait()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(tasks[0].cancel)
        thread.join(10)
        loop.close()


def test_a_scim_write_reaches_the_receiver_within_a_second(org: OrgClient) -> None:
    from scimhub.api.services import Hub

    hub: Hub = org.http.app.state.hub  # type: ignore[attr-defined]
    service = make_service(hub)
    with serving(Receiver()) as receiver, scheduler(service.deliverer):
        created = service.add(org.org_id, receiver.url, ["user.created"], actor=ADMIN)
        receiver.secrets = [created.secret]
        time.sleep(1.2)  # idle for a few polls
        started = time.monotonic()
        answer = org.post(
            "/Users",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "hook.test@example.com",
            },
        )
        assert answer.status_code == 201
        receiver.wait_for(lambda: bool(receiver.acknowledged), timeout=5)
        latency = receiver.requests[0].at - started
    assert latency < 1.0, latency
    (got,) = receiver.requests
    assert not receiver.bad_signatures
    import json

    event = json.loads(got.body)
    assert event["type"] == "user.created" and event["data"]["id"] == answer.json()["id"]


def test_a_commit_wakes_delivery_without_waiting_for_the_poll(org: OrgClient) -> None:
    from scimhub.api.services import Hub

    hub: Hub = org.http.app.state.hub  # type: ignore[attr-defined]
    service = make_service(hub)
    # Polling every minute: only the commit's wake-up can deliver within the second.
    with serving(Receiver()) as receiver, scheduler(service.deliverer, interval=60.0):
        service.add(org.org_id, receiver.url, ["user.created"], actor=ADMIN)
        time.sleep(0.3)  # the first poll has run and found nothing
        started = time.monotonic()
        answer = org.post(
            "/Users",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "wake.test@example.com",
            },
        )
        assert answer.status_code == 201
        receiver.wait_for(lambda: bool(receiver.acknowledged), timeout=5)
        latency = receiver.requests[0].at - started
    assert latency < 1.0, latency


def test_a_rolled_back_write_wakes_nothing(org: OrgClient) -> None:
    from scimhub.api.services import Hub
    from scimhub.directory.events import COMMITTED, EventType, NewEvent, record

    hub: Hub = org.http.app.state.hub  # type: ignore[attr-defined]
    calls: list[int] = []
    unsubscribe = hub.db.subscribe(COMMITTED, lambda: calls.append(1))
    try:
        with suppress(RuntimeError), hub.db.write() as conn:
            record(conn, org.org_id, [NewEvent(EventType.SYNC_COMPLETED, {})])
            raise RuntimeError("rolled back")
        assert calls == []
        with hub.db.write() as conn:  # the same pooled connection: no stale notice on it
            pass
        assert calls == []
        with hub.db.write() as conn:
            record(conn, org.org_id, [NewEvent(EventType.SYNC_COMPLETED, {})])
        assert calls == [1]
    finally:
        unsubscribe()


def test_a_slow_receiver_does_not_hold_up_another_endpoint(org: OrgClient) -> None:
    from scimhub.api.services import Hub

    hub: Hub = org.http.app.state.hub  # type: ignore[attr-defined]
    service = make_service(hub)

    def slow(got: object) -> tuple[int, dict[str, str]]:
        time.sleep(1.5)
        return 200, {}

    with (
        serving(Receiver(respond=slow)) as sluggish,
        serving(Receiver()) as quick,
        scheduler(service.deliverer),
    ):
        service.add(org.org_id, sluggish.url, actor=ADMIN)
        service.add(org.org_id, quick.url, actor=ADMIN)
        org.post(
            "/Groups",
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"},
        )
        quick.wait_for(lambda: bool(quick.acknowledged), timeout=1.4)
        assert not sluggish.acknowledged
        sluggish.wait_for(lambda: bool(sluggish.acknowledged), timeout=5)
