"""The event stream under concurrent writers on PostgreSQL, through two API processes: every
committed write's events exactly once, at positions 1..N without a gap; and a reader that
polls while they write only ever sees a contiguous continuation of what it has seen, never
a later position before an earlier one is committed."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from scimhub.api.services import Hub
from scimhub.config import Settings
from scimhub.directory.events import Event, Events
from tests.e2e.conftest import serve

pytestmark = pytest.mark.postgres

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
WRITERS, USERS_EACH = 8, 12


@pytest.fixture
def scim(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, dict[str, str]]]:
    if not settings.database_url:
        pytest.skip("two API processes need PostgreSQL (SCIMHUB_TEST_DATABASE_URL)")
    env = {
        **os.environ,
        "SCIMHUB_DATA_DIR": str(tmp_path_factory.mktemp("events")),
        "SCIMHUB_DATABASE_URL": settings.database_url,
    }
    with serve(env, org_name="Event stream", workers=2) as (url, org_id, token):
        yield (
            f"{url}/identity/scim/{org_id}/v2",
            org_id,
            {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
        )


def _writer(
    base: str, headers: dict[str, str], gid: str, w: int, expected: list[tuple[str, str]]
) -> None:
    """Creates users, renames each, adds each to the shared group, and races the other
    writers for one userName; notes the events each committed write must have recorded.
    Each request opens its own connection, so the two API processes share the load."""
    for j in range(USERS_EACH):
        r = httpx.post(
            f"{base}/Users",
            headers=headers,
            trust_env=False,
            timeout=60,
            json={"schemas": [USER], "userName": f"w{w}-{j}@example.com"},
        )
        assert r.status_code == 201, r.text
        uid = r.json()["id"]
        expected.append(("user.created", uid))
        r = httpx.patch(
            f"{base}/Users/{uid}",
            headers=headers,
            trust_env=False,
            timeout=60,
            json={
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "displayName", "value": f"W{w} {j}"}],
            },
        )
        assert r.status_code == 200, r.text
        expected.append(("user.updated", uid))
        r = httpx.patch(
            f"{base}/Groups/{gid}",
            headers=headers,
            trust_env=False,
            timeout=60,
            json={
                "schemas": [PATCH],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}],
            },
        )
        assert r.status_code in (200, 204), r.text
        expected.append(("group.member_added", uid))
    race = httpx.post(
        f"{base}/Users",
        headers=headers,
        trust_env=False,
        timeout=60,
        json={"schemas": [USER], "userName": "race@example.com"},
    )
    assert race.status_code in (201, 409), race.text
    if race.status_code == 201:
        expected.append(("user.created", race.json()["id"]))


def _key(e: Event) -> tuple[str, str]:
    return (e.type, e.data["member_id"] if e.type.startswith("group.member") else e.data["id"])


def test_concurrent_writers_make_one_gapless_stream_in_commit_order(
    hub: Hub, scim: tuple[str, str, dict[str, str]]
) -> None:
    base, org_id, headers = scim
    group = httpx.post(
        f"{base}/Groups",
        headers=headers,
        trust_env=False,
        json={"schemas": [GROUP], "displayName": "Everyone"},
    )
    assert group.status_code == 201
    gid = group.json()["id"]
    expected: list[tuple[str, str]] = [("group.created", gid)]
    log = Events(hub.db)

    # A reader polling while the writers run, in small pages.
    done = threading.Event()
    pages: list[tuple[str | None, list[Event]]] = []

    def read() -> None:
        cursor: str | None = None
        while True:
            finished = done.is_set()  # read once more after the writers end
            page = log.page(org_id, after=cursor, limit=7)
            pages.append((cursor, page.events))
            cursor = page.next_cursor
            if finished and not page.events:
                return

    reader = threading.Thread(target=read)
    reader.start()
    noted: list[list[tuple[str, str]]] = [[] for _ in range(WRITERS)]
    try:
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            for f in [
                pool.submit(_writer, base, headers, gid, w, noted[w]) for w in range(WRITERS)
            ]:
                f.result()
    finally:
        done.set()
        reader.join(timeout=120)
    for n in noted:
        expected += n

    # The whole stream: every committed write's events exactly once, positions 1..N.
    stream: list[Event] = []
    cursor: str | None = None
    while page := log.page(org_id, after=cursor, limit=50).events:
        stream += page
        cursor = str(page[-1].seq)
    assert [e.seq for e in stream] == list(range(1, len(stream) + 1))
    assert len({e.id for e in stream}) == len(stream)
    assert Counter(_key(e) for e in stream) == Counter(expected)
    assert sum(1 for k in expected if k[0] == "user.created") == WRITERS * USERS_EACH + 1
    assert {e.source["kind"] for e in stream} == {"scim"}

    # The reader: each page continued exactly where the previous one ended, so it never saw
    # a position while an earlier one was still uncommitted; together, the whole stream.
    seen: list[Event] = []
    for after, events in pages:
        start = int(after) if after is not None else 0
        assert [e.seq for e in events] == list(range(start + 1, start + 1 + len(events)))
        assert start == (seen[-1].seq if seen else 0)
        seen += events
    assert [(e.seq, e.id) for e in seen] == [(e.seq, e.id) for e in stream]
    assert len(pages) > 3  # it did read while the writers wrote


def test_the_stream_has_no_gap_after_failed_writes(
    hub: Hub, scim: tuple[str, str, dict[str, str]]
) -> None:
    """Conflicts roll back their transaction, positions and all: the next event follows."""
    base, org_id, headers = scim

    def create(i: int) -> int:
        return httpx.post(
            f"{base}/Users",
            headers=headers,
            trust_env=False,
            timeout=60,
            json={"schemas": [USER], "userName": f"same-{i % 3}@example.com"},
        ).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = Counter(pool.map(create, range(24)))
    assert statuses == {201: 3, 409: 21}
    events: list[Any] = Events(hub.db).page(org_id, after=None, limit=100).events
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.type for e in events].count("user.created") == 3
