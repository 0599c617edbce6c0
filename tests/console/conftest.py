"""Console fixtures: an organisation with a full and a read-only admin, and a browser-like
client per test (its own cookie jar and client address, so sign-ins and rate limits of one
test never touch another's)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx2
import pytest
from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.app import create_app
from scimhub.config import Settings
from tests.conftest import OrgClient

PASSWORD = "correct horse battery staple"
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_LOGIN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    """A browser: signs in through the login form and keeps its cookies."""

    http: TestClient

    def sign_in(
        self, email: str, password: str = PASSWORD, org: str | None = None
    ) -> httpx2.Response:
        """Fill in the form; with `org`, the organization field too (as `?org=` shows it)."""
        form = self.http.get("/console/login", params={"org": org} if org else None)
        assert 'action="/console/login"' in form.text, "already signed in"
        token = _LOGIN_TOKEN.search(form.text)
        assert token, form.text
        data = {"email": email, "password": password, "csrf_token": token.group(1)}
        return self.http.post(
            "/console/login", follow_redirects=False, data={**data, "org": org} if org else data
        )

    def csrf(self) -> str:
        page = self.http.get("/console/overview")
        match = _CSRF_META.search(page.text)
        assert match, page.text
        return match.group(1)


@dataclass
class Admins:
    org: OrgClient
    admin_email: str
    readonly_email: str


@pytest.fixture
def admins(hub: Hub, org: OrgClient) -> Admins:
    tag = uuid.uuid4().hex[:8]
    full = hub.admins.create(org.org_id, f"admin-{tag}@example.com", PASSWORD, "admin", "Ada Admin")
    readonly = hub.admins.create(
        org.org_id, f"viewer-{tag}@example.com", PASSWORD, "readonly", "Vic Viewer"
    )
    return Admins(org, full.email, readonly.email)


@pytest.fixture
def make_console(settings: Settings, hub: Hub) -> Iterator[Callable[[], Console]]:
    clients: list[TestClient] = []

    def make() -> Console:
        address = f"10.{len(clients)}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
        client = TestClient(
            create_app(settings, hub=hub),
            base_url="https://hub.test",
            follow_redirects=True,
            client=(address, 40000),
        )
        clients.append(client)
        return Console(client)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def console(make_console: Callable[[], Console]) -> Console:
    return make_console()


@pytest.fixture
def signed_in(console: Console, admins: Admins) -> Console:
    assert console.sign_in(admins.admin_email).status_code == 303
    return console


@pytest.fixture
def signed_in_readonly(make_console: Callable[[], Console], admins: Admins) -> Console:
    viewer = make_console()
    assert viewer.sign_in(admins.readonly_email).status_code == 303
    return viewer
