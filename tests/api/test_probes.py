"""`/healthz` (alive: touches nothing) and `/readyz` (the database answers, migrations at
head, workers heard from when they run the background work; 503 naming what failed)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.directory.health import Health
from scimhub.store import migrate


def test_healthz_answers_without_the_database(
    app_client: TestClient, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(hub.db, "ping", down)
    got = app_client.get("/healthz")
    assert (got.status_code, got.json()) == (200, {"status": "ok"})
    assert app_client.head("/healthz").status_code == 200


def test_readyz_is_ready_when_the_database_answers_at_the_newest_migration(
    app_client: TestClient, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub.health, "in_process", True)  # as on SQLite, even on PostgreSQL
    got = app_client.get("/readyz")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    migrations = body["checks"]["migrations"]
    assert migrations["ok"] and migrations["current"] == migrations["head"] == migrate.head()
    assert "workers" not in body["checks"]  # the API process runs the background work


def test_readyz_says_the_database_failed_and_not_why_in_its_words(
    app_client: TestClient, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> None:
        raise OperationalError("SELECT 1", {}, Exception("db.internal:5432 refused"))

    monkeypatch.setattr(hub.db, "ping", down)
    got = app_client.get("/readyz")
    assert got.status_code == 503
    assert got.json() == {
        "status": "unavailable",
        "failed": ["database"],
        "checks": {"database": {"ok": False, "error": "OperationalError"}},
    }
    assert "db.internal" not in got.text


def test_readyz_refuses_a_database_behind_the_code(
    app_client: TestClient, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub.health, "in_process", True)
    monkeypatch.setattr(migrate, "head", lambda: "9999_from_a_newer_release")
    got = app_client.get("/readyz")
    assert got.status_code == 503
    assert got.json()["failed"] == ["migrations"]
    assert got.json()["checks"]["migrations"]["head"] == "9999_from_a_newer_release"


@pytest.mark.parametrize(("alive", "status"), [(0, 503), (2, 200)])
def test_readyz_with_workers_needs_one_heard_from(
    app_client: TestClient, hub: Hub, monkeypatch: pytest.MonkeyPatch, alive: int, status: int
) -> None:
    """PostgreSQL's mode, where `scimhub worker` processes run the background work."""
    monkeypatch.setattr(hub.health, "in_process", False)
    monkeypatch.setattr(Health, "workers_alive", lambda self: alive)
    got = app_client.get("/readyz")
    assert got.status_code == status
    assert got.json()["checks"]["workers"] == {"ok": alive > 0, "alive": alive}
    if status == 503:
        assert got.json()["failed"] == ["workers"]
