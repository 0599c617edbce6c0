"""One organisation's heavy requests never stall another's (docs/architecture.md).

Against a live `scimhub serve` (its own process, so the measuring client does not share
the server's interpreter): while org A sends a Bulk of 100 users with passwords, or a user
with 61,500 emails (the reported attacks: 9 s and 39.5 s of a blocked hub), org B's
GET /Users/{id} keeps answering at its normal latency. In process: argon2 runs outside the
write transaction, so it holds no lock another writer waits for; and which requests the
routes send to the pool.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from starlette.requests import Request

from scimhub.api import offload
from scimhub.api.services import Hub
from scimhub.config import Settings
from scimhub.directory import users as users_module
from scimhub.directory.locator import Locator
from scimhub.scim import listing
from scimhub.scim.schemas import GROUP, USER
from scimhub.store.tables import users as users_table
from tests.conftest import OrgClient
from tests.e2e.conftest import scimhub, serve

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
NORMAL_LATENCY = 0.25  # seconds; a GET by id takes a few milliseconds


@dataclass(frozen=True)
class LiveOrg:
    url: str
    org_id: str
    token: str

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/identity/scim/{self.org_id}/v2",
            timeout=300,
            trust_env=False,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/scim+json",
            },
        )


@pytest.fixture(scope="module")
def two_orgs(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveOrg, LiveOrg]]:
    """A live hub with an attacker org and a victim org. The values bound is raised so the
    big user is processed rather than refused: this attacks the offloading itself."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SCIMHUB_")}
    env = {
        **inherited,
        "SCIMHUB_DATA_DIR": str(tmp_path_factory.mktemp("fairness")),
        "SCIMHUB_MAX_MULTI_VALUES": "100000",
        "SCIMHUB_MAX_PAYLOAD_BYTES": "4194304",
    }
    if settings.database_url:
        env["SCIMHUB_DATABASE_URL"] = settings.database_url
    with serve(env, org_name="Heavy") as (url, org_a, token_a):
        org_b = json.loads(scimhub("org", "create", "--name", "Victim", "--json", env=env))["id"]
        token_b = json.loads(scimhub("token", "create", "--org", org_b, "--json", env=env))["token"]
        yield LiveOrg(url, org_a, token_a), LiveOrg(url, org_b, token_b)


def probe_while(
    heavy: Callable[[], httpx.Response],
    probe: Callable[[], httpx.Response],
    *,
    settle: float,
    probes: int = 15,
) -> tuple[list[float], httpx.Response]:
    """Latencies of `probe()` calls started while `heavy()` was still running (sent `settle`
    seconds earlier, so it is past its upload), and heavy's response."""
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(heavy)
        time.sleep(settle)
        latencies: list[float] = []
        while len(latencies) < probes and not running.done():
            started = time.perf_counter()
            assert probe().status_code == 200
            latencies.append(time.perf_counter() - started)
            time.sleep(0.02)
        return latencies, running.result(timeout=300)


def victim_probe(victim: LiveOrg) -> tuple[Callable[[], httpx.Response], float]:
    """A GET /Users/{id} for the victim org, and its median latency on an idle hub."""
    client = victim.client()
    uid = client.post(
        "/Users", json={"schemas": [USER_URN], "userName": f"{uuid.uuid4()}@example.com"}
    ).json()["id"]

    def probe() -> httpx.Response:
        return client.get(f"/Users/{uid}")

    idle = []
    for _ in range(5):
        started = time.perf_counter()
        probe()
        idle.append(time.perf_counter() - started)
    return probe, statistics.median(idle)


def assert_unstalled(latencies: list[float], idle: float) -> None:
    assert len(latencies) >= 3, f"only {len(latencies)} probes overlapped the heavy request"
    worst = max(latencies)
    assert worst < NORMAL_LATENCY, (
        f"org B's GET took {worst * 1000:.0f} ms (idle {idle * 1000:.1f} ms, all: "
        f"{[round(t * 1000) for t in latencies]}) while org A's request ran"
    )


def test_a_bulk_of_100_users_with_passwords_does_not_stall_other_orgs(
    two_orgs: tuple[LiveOrg, LiveOrg],
) -> None:
    attacker, victim = two_orgs
    probe, idle = victim_probe(victim)
    operations = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": f"u{i}",
            "data": {
                "schemas": [USER_URN],
                "userName": f"bulk{i}@example.com",
                "password": f"Secret-{i}-pass",
            },
        }
        for i in range(100)
    ]
    with attacker.client() as client:
        latencies, response = probe_while(
            lambda: client.post("/Bulk", json={"schemas": [BULK], "Operations": operations}),
            probe,
            settle=0.3,
        )
    assert response.status_code == 200, response.text
    assert [op["status"] for op in response.json()["Operations"]] == ["201"] * 100
    assert_unstalled(latencies, idle)


def test_a_user_with_61500_emails_does_not_stall_other_orgs(
    two_orgs: tuple[LiveOrg, LiveOrg],
) -> None:
    attacker, victim = two_orgs
    probe, idle = victim_probe(victim)
    body = {
        "schemas": [USER_URN],
        "userName": "big@example.com",
        "emails": [{"value": f"{i}@x.io"} for i in range(61_500)],
    }
    with attacker.client() as client:
        latencies, response = probe_while(
            lambda: client.post("/Users", json=body), probe, settle=0.05
        )
    assert response.status_code == 201, response.text[:500]
    assert len(response.json()["emails"]) == 61_500
    assert_unstalled(latencies, idle)


# -- argon2 outside the write transaction ---------------------------------------------------


def stored_hash(hub: Hub, user_id: str) -> str | None:
    with hub.db.read() as conn:
        stored: str | None = conn.execute(
            select(users_table.c.password_hash).where(users_table.c.id == user_id)
        ).scalar_one()
    return stored


class RacingHasher:
    """Hashes like the directory's hasher, but first makes another write to the same user
    and commits it. Were hashing inside the PATCH's write transaction, that write would wait
    for the lock the PATCH holds (SQLite's one write lock, the row lock on PostgreSQL)."""

    def __init__(self, hub: Hub, org_id: str, user_id: str) -> None:
        self.hub, self.org_id, self.user_id = hub, org_id, user_id
        self.hashed: list[str] = []

    def hash(self, password: str) -> str:
        self.hub.users.patch(
            self.org_id,
            self.user_id,
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "displayName", "value": "Raced"}],
            },
            Locator("https://hub.test", self.org_id),
        )
        self.hashed.append(password)
        return PasswordHasher().hash(password)


def test_patch_hashes_the_password_outside_the_write_transaction(
    org: OrgClient, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = org.post("/Users", {"schemas": [USER_URN], "userName": "pw@example.com"}).json()["id"]
    hasher = RacingHasher(hub, org.org_id, uid)
    monkeypatch.setattr(users_module, "_passwords", hasher)
    r = org.patch(
        f"/Users/{uid}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "replace", "path": "password", "value": "n3w-Secret"},
                {"op": "replace", "path": "title", "value": "Lead"},
            ],
        },
    )
    assert r.status_code == 200, r.text
    # The racing write came first and is kept: the patch was applied again on top of it,
    # reusing the hash rather than computing it under the lock.
    assert (r.json()["displayName"], r.json()["title"]) == ("Raced", "Lead")
    assert r.json()["meta"]["version"] == 'W/"3"'
    assert hasher.hashed == ["n3w-Secret"]
    stored = stored_hash(hub, uid)
    assert stored is not None and PasswordHasher().verify(stored, "n3w-Secret")


def test_a_patch_of_the_password_alone_is_written(org: OrgClient, hub: Hub) -> None:
    uid = org.post(
        "/Users",
        {"schemas": [USER_URN], "userName": "only@example.com", "password": "first-Secret1"},
    ).json()["id"]
    r = org.patch(
        f"/Users/{uid}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "password", "value": "second-Secret2"}],
        },
    )
    assert r.status_code == 200 and r.json()["meta"]["version"] == 'W/"2"'
    stored = stored_hash(hub, uid)
    assert stored is not None and PasswordHasher().verify(stored, "second-Secret2")


# -- what goes to the pool ----------------------------------------------------------------


def request(method: str, body: bytes = b"{}", chunked: bool = False) -> Request:
    headers = [] if chunked else [(b"content-length", str(len(body)).encode())]
    return Request({"type": "http", "method": method, "headers": headers})


@pytest.mark.parametrize(
    "body",
    [
        {"userName": "a", "password": "x"},
        {"userName": "a", "PassWord": "x"},
        {"urn:ietf:params:scim:schemas:core:2.0:User:password": "x", "userName": "a"},
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "PASSWORD", "value": "x"}],
        },
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"password": "x"}}]},
    ],
)
def test_every_spelling_of_a_password_goes_to_the_pool(body: dict[str, Any]) -> None:
    assert offload.user_write_is_heavy(request("POST"), body)


def test_small_writes_without_password_stay_inline_and_large_ones_do_not() -> None:
    small = {"userName": "a", "displayName": "Ada"}
    assert not offload.user_write_is_heavy(request("POST"), small)
    assert offload.user_write_is_heavy(
        request("POST", b"x" * (offload.LARGE_BODY_BYTES + 1)), small
    )
    assert offload.user_write_is_heavy(request("POST", chunked=True), small)


@pytest.mark.parametrize(
    ("method", "operations", "with_members", "heavy"),
    [
        ("PATCH", [{"op": "add", "path": "members", "value": [{"value": "u"}]}], False, False),
        ("PATCH", [{"op": "replace", "path": "displayName", "value": "x"}], False, False),
        ("PATCH", [{"op": "add", "path": "members", "value": [{"value": "u"}]}], True, True),
        ("PATCH", [{"op": "remove", "path": "members"}], False, True),
        ("PATCH", [{"op": "replace", "path": "members", "value": []}], False, True),
        ("PATCH", [{"op": "replace", "value": {"members": []}}], False, True),
        ("PUT", [], False, True),
    ],
)
def test_group_writes_go_to_the_pool_when_their_rows_are_unbounded(
    method: str, operations: list[dict[str, Any]], with_members: bool, heavy: bool
) -> None:
    body = {"schemas": [PATCH_OP], "Operations": operations} if method == "PATCH" else {}
    assert offload.group_write_is_heavy(request(method), body, with_members=with_members) is heavy


@pytest.mark.parametrize(
    ("rt", "params", "heavy"),
    [
        (USER, {"filter": 'userName eq "a@x"'}, False),
        (GROUP, {"filter": 'displayName eq "g"', "excludedAttributes": "members"}, False),
        (GROUP, {"filter": 'displayName eq "g"'}, True),
        (USER, {}, True),
        (USER, {"filter": 'emails.value co "x"'}, True),
        (USER, {"filter": 'userName sw "a"'}, True),
    ],
)
def test_only_lookups_by_the_unique_name_stay_inline(
    rt: Any, params: dict[str, str], heavy: bool
) -> None:
    req = listing.from_query(params, max_count=100)
    assert offload.search_is_heavy(rt, req) is heavy
