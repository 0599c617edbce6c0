"""Shared fixtures: one hub database per test session (SQLite by default, PostgreSQL when
SCIMHUB_TEST_DATABASE_URL names a server), a fresh organisation per test, and the check
that no test makes the hub log a secret (`tests/log_secrets.py`).

Organisations are isolated by design, so tests share the database without interfering.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx2
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.app import create_app
from scimhub.config import Settings
from tests.log_secrets import SecretScanner, scanning

SCIM = "application/scim+json"


@pytest.fixture(scope="session", autouse=True)
def log_scanner() -> Iterator[SecretScanner]:
    """Every line the hub logs, in every test, searched for the secrets tests use."""
    with scanning(logging.getLogger("scimhub")) as scanner:
        yield scanner


@pytest.fixture(autouse=True)
def no_secret_logged(log_scanner: SecretScanner) -> Iterator[None]:
    yield
    leaks, log_scanner.leaks[:] = list(log_scanner.leaks), []
    if leaks:
        pytest.fail(f"{len(leaks)} log line(s) hold a secret:\n" + "\n".join(leaks[:5]))


def _postgres_database(server_url: str) -> Iterator[str]:
    """Create a throwaway database on the server for this session, drop it afterwards."""
    name = f"scimhub_test_{uuid.uuid4().hex[:12]}"
    url = make_url(server_url).set(drivername="postgresql+psycopg")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    data_dir: Path = tmp_path_factory.mktemp("hub")
    # The in-process clients' host (`base_url` below); the bound address stays trusted too.
    # A secret key as PostgreSQL requires (webhook secrets); SQLite would make a key file.
    # In the environment too: the hubs and CLIs the end-to-end tests start share the
    # database, and refuse to start without the key once it holds a webhook secret.
    key = Fernet.generate_key().decode()
    base = Settings(
        data_dir=data_dir,
        token_cache_seconds=0,
        allowed_hosts=("hub.test",),
        secret_key=key,
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCIMHUB_SECRET_KEY", key)
        server = os.environ.get("SCIMHUB_TEST_DATABASE_URL")
        if server:
            for url in _postgres_database(server):
                yield replace(base, database_url=url)
        else:
            yield base


@pytest.fixture(scope="session")
def hub(settings: Settings) -> Iterator[Hub]:
    the_hub = Hub.open(settings)
    yield the_hub
    the_hub.close()


@pytest.fixture(scope="session")
def app_client(settings: Settings, hub: Hub) -> Iterator[TestClient]:
    with TestClient(create_app(settings, hub=hub), base_url="https://hub.test") as client:
        yield client


@dataclass
class OrgClient:
    """A SCIM client for one fresh organisation: `client.get("/Users")` etc."""

    http: TestClient
    org_id: str
    token: str

    @property
    def base(self) -> str:
        return f"/identity/scim/{self.org_id}/v2"

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": SCIM, **(extra or {})}

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx2.Response:
        return self.http.request(
            method,
            self.base + path,
            json=json,
            content=content,
            headers=self._headers(headers),
            params=params,
        )

    def get(self, path: str, **kw: Any) -> httpx2.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> httpx2.Response:
        return self.request("POST", path, json=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> httpx2.Response:
        return self.request("PUT", path, json=json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> httpx2.Response:
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> httpx2.Response:
        return self.request("DELETE", path, **kw)


@pytest.fixture
def org(hub: Hub, app_client: TestClient) -> OrgClient:
    created = hub.orgs.create(f"Org {uuid.uuid4().hex[:6]}")
    secret, _ = hub.tokens.create(created.id)
    return OrgClient(app_client, created.id, secret)


@pytest.fixture
def other_org(hub: Hub, app_client: TestClient) -> OrgClient:
    created = hub.orgs.create("Other org")
    secret, _ = hub.tokens.create(created.id)
    return OrgClient(app_client, created.id, secret)
