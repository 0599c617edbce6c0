"""Real concurrent clients against a live hub — two API processes when the suite runs on
PostgreSQL, one on SQLite: no lost update, no duplicate."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from scimhub.config import Settings
from tests.e2e.conftest import serve

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture(scope="module")
def scim(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    env = {**os.environ, "SCIMHUB_DATA_DIR": str(tmp_path_factory.mktemp("conc"))}
    workers = 1
    if settings.database_url:
        env["SCIMHUB_DATABASE_URL"] = settings.database_url
        workers = 2
    with serve(env, org_name="Concurrency", workers=workers) as (url, org_id, token):
        yield (
            f"{url}/identity/scim/{org_id}/v2",
            {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
        )


def together(n: int, call: Any) -> list[httpx.Response]:
    """`call(i)` for i in range(n), all at once from separate connections."""
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(call, range(n)))


def test_username_race_makes_exactly_one_user(scim: tuple[str, dict[str, str]]) -> None:
    base, headers = scim

    def create(_: int) -> httpx.Response:
        return httpx.post(
            f"{base}/Users",
            headers=headers,
            trust_env=False,
            timeout=60,
            json={"schemas": [USER], "userName": "race@example.com"},
        )

    statuses = sorted(r.status_code for r in together(16, create))
    assert statuses == [201] + [409] * 15
    found = httpx.get(
        f"{base}/Users",
        headers=headers,
        trust_env=False,
        params={"filter": 'userName eq "race@example.com"'},
    ).json()
    assert found["totalResults"] == 1


def test_parallel_member_adds_lose_nothing(scim: tuple[str, dict[str, str]]) -> None:
    base, headers = scim
    with httpx.Client(base_url=base, headers=headers, trust_env=False, timeout=60) as c:
        ids = [
            c.post("/Users", json={"schemas": [USER], "userName": f"m{i}@example.com"}).json()["id"]
            for i in range(24)
        ]
        gid = c.post("/Groups", json={"schemas": [GROUP], "displayName": "Crowd"}).json()["id"]

    def add(i: int) -> httpx.Response:
        return httpx.patch(
            f"{base}/Groups/{gid}",
            headers=headers,
            trust_env=False,
            timeout=60,
            json={
                "schemas": [PATCH],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": ids[i]}]}],
            },
        )

    assert {r.status_code for r in together(24, add)} <= {200, 204}
    group = httpx.get(f"{base}/Groups/{gid}", headers=headers, trust_env=False).json()
    assert {m["value"] for m in group["members"]} == set(ids)
    assert group["meta"]["version"] == 'W/"25"'  # every add moved the version once


def test_etag_race_lets_one_writer_win(scim: tuple[str, dict[str, str]]) -> None:
    base, headers = scim
    created = httpx.post(
        f"{base}/Users",
        headers=headers,
        trust_env=False,
        json={"schemas": [USER], "userName": "etag@example.com"},
    ).json()
    version = created["meta"]["version"]

    def replace(i: int) -> httpx.Response:
        return httpx.put(
            f"{base}/Users/{created['id']}",
            trust_env=False,
            timeout=60,
            headers={**headers, "If-Match": version},
            json={"schemas": [USER], "userName": "etag@example.com", "displayName": f"writer {i}"},
        )

    answers = together(12, replace)
    assert sorted(r.status_code for r in answers) == [200] + [412] * 11
    winner = next(r for r in answers if r.status_code == 200).json()["displayName"]
    final = httpx.get(f"{base}/Users/{created['id']}", headers=headers, trust_env=False).json()
    assert final["displayName"] == winner and final["meta"]["version"] == 'W/"2"'
