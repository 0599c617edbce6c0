"""Metrics of several API processes add up: two real `scimhub serve` processes sharing a
PROMETHEUS_MULTIPROC_DIR each answer `/metrics` with both processes' counts; and their logs
are JSON, one line per request under the request's tracking id, holding no token. On
PostgreSQL, `scimhub serve --workers 2` also shares a directory it makes and removes."""

from __future__ import annotations

import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from scimhub.config import Settings
from tests.api.test_metrics import value
from tests.e2e.conftest import serve
from tests.log_secrets import SecretScanner

TOKEN = "scrape-" + uuid.uuid4().hex
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}
USERS_OK = {"family": "scim_users", "method": "GET", "status": "200"}


def _scrape(url: str) -> str:
    got = httpx.get(f"{url}/metrics", headers=SCRAPER, trust_env=False, timeout=30)
    assert got.status_code == 200, got.text
    return got.text


def _list_users(url: str, org_id: str, token: str, n: int) -> list[str]:
    """n listings; their tracking ids."""
    with httpx.Client(trust_env=False, timeout=30) as client:
        answers = [
            client.get(
                f"{url}/identity/scim/{org_id}/v2/Users",
                headers={"Authorization": f"Bearer {token}"},
            )
            for _ in range(n)
        ]
    assert all(a.status_code == 200 for a in answers)
    return [a.headers["TrackingID"] for a in answers]


def test_two_processes_sharing_a_directory_report_the_sum(
    settings: Settings, tmp_path: Path
) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    base = {**os.environ, "SCIMHUB_METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    # each its own SQLite file (one writer each); on PostgreSQL both use the suite's database
    envs = [{**base, "SCIMHUB_DATA_DIR": str(tmp_path / f"hub-{n}")} for n in (1, 2)]
    if settings.database_url:
        for env in envs:
            env["SCIMHUB_DATABASE_URL"] = settings.database_url
    logs = [tmp_path / "hub-1.log", tmp_path / "hub-2.log"]
    with ExitStack() as stack:
        hubs = [
            stack.enter_context(serve(env, org_name=f"Metrics {n}", log=log))
            for n, (env, log) in enumerate(zip(envs, logs, strict=True))
        ]
        (url_a, org_a, token_a), (url_b, org_b, token_b) = hubs
        before = value(_scrape(url_a), "scimhub_http_requests_total", **USERS_OK)
        ids_a = _list_users(url_a, org_a, token_a, 5)
        ids_b = _list_users(url_b, org_b, token_b, 7)
        for url in (url_a, url_b):  # either process answers for both
            assert value(_scrape(url), "scimhub_http_requests_total", **USERS_OK) == before + 12
        assert len(list(shared.glob("*.db"))) >= 2  # a file per process and metric type

    lines = [
        json.loads(line)
        for line in logs[0].read_text().splitlines()
        if line.startswith("{")  # the CLI's own "listening on" line is for the terminal
    ]
    access = {line["tracking_id"]: line for line in lines if line["logger"] == "scimhub.access"}
    for tid in ids_a:
        assert access[tid]["route"] == "scim_users" and access[tid]["status"] == 200
        assert access[tid]["org_id"] == org_a
    assert not set(ids_b) & set(access)  # the other process's requests are in its own log
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # uvicorn's too, as JSON
    scanner = SecretScanner()
    for secret in (token_a, token_b, TOKEN):
        scanner.secret(secret)
    for log in logs:
        for line in log.read_text().splitlines():
            assert scanner.found(line) is None, line


@pytest.mark.postgres
def test_serve_with_workers_shares_a_directory_of_its_own(
    settings: Settings, tmp_path: Path
) -> None:
    if not settings.database_url:
        pytest.skip("several API processes need PostgreSQL (SCIMHUB_TEST_DATABASE_URL)")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        **os.environ,
        "SCIMHUB_DATA_DIR": str(tmp_path / "hub"),
        "SCIMHUB_DATABASE_URL": settings.database_url,
        "SCIMHUB_METRICS_TOKEN": TOKEN,
        "TMPDIR": str(temp),  # where `serve` makes the directory
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with serve(env, org_name="Workers metrics", workers=2) as (url, org_id, token):
        assert [p.name for p in temp.iterdir() if p.name.startswith("scimhub-metrics-")]
        before = value(_scrape(url), "scimhub_http_requests_total", **USERS_OK)
        # from separate connections, so both processes take some
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: _list_users(url, org_id, token, 5), range(8)))
        for _ in range(3):  # whichever process answers the scrape
            assert value(_scrape(url), "scimhub_http_requests_total", **USERS_OK) == before + 40
    assert not [p for p in temp.iterdir() if p.name.startswith("scimhub-metrics-")]
