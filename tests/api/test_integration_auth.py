"""Who may call the integration API: an admin token of the organisation (scripts), or a
console session of it whose unsafe requests carry the session's CSRF token and come from
the hub's own origin (the console's JavaScript). A token is not CSRF-able: no browser sends
one on its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from scimhub.api.auth import CSRF_HEADER, SESSION_COOKIE
from scimhub.api.services import Hub
from scimhub.directory.roles import Role
from scimhub.directory.tokens import TokenKind

PASSWORD = "correct horse battery staple"
EVIL = "https://evil.example"
HUB = "https://hub.test"  # the in-process client's origin (tests/conftest.py)


@dataclass
class Browser:
    """A signed-in console session, as the browser holding its cookie sends requests."""

    http: TestClient
    org_id: str
    cookie: str
    csrf: str

    @property
    def base(self) -> str:
        return f"/extIntegration/azureAD/{self.org_id}/v1"

    def post(self, path: str, body: Any, **headers: str) -> httpx2.Response:
        # The cookie as a header: the shared client's own jar stays untouched.
        return self.http.post(
            f"{self.base}{path}",
            json=body,
            headers={"Cookie": f"{SESSION_COOKIE}={self.cookie}", **headers},
        )

    def allow_sync(self) -> bool:
        r = self.http.get(
            f"{self.base}/status", headers={"Cookie": f"{SESSION_COOKIE}={self.cookie}"}
        )
        assert r.status_code == 200, r.text
        return bool(r.json()["allowSync"])


def _browser(hub: Hub, client: TestClient, role: Role, org_id: str | None = None) -> Browser:
    org_id = org_id or hub.orgs.create(f"auth {uuid.uuid4().hex[:6]}").id
    admin = hub.admins.create(org_id, f"{role}-{uuid.uuid4().hex[:8]}@example.com", PASSWORD, role)
    cookie, session = hub.sessions.start(admin)
    return Browser(client, org_id, cookie, session.csrf_token)


@pytest.fixture
def browser(hub: Hub, app_client: TestClient) -> Browser:
    return _browser(hub, app_client, Role.ADMIN)


def _envelope(r: httpx2.Response) -> tuple[int, str, str]:
    return r.status_code, r.json()["error"]["key"], r.json()["error"]["message"][0]["code"]


def test_a_cross_site_request_is_refused_even_with_the_token(browser: Browser) -> None:
    # The attack: another site's page posts with the admin's cookie (the browser adds it)
    # and a token it somehow learned; the browser still says where the request came from.
    attack = browser.post(
        "/allowSync", {"enabled": False}, **{CSRF_HEADER: browser.csrf, "Origin": EVIL}
    )
    assert _envelope(attack) == (403, "403", "701060")
    assert attack.json()["trackingId"] == attack.headers["TrackingID"]
    assert browser.allow_sync() is True  # nothing changed

    own = browser.post(
        "/allowSync", {"enabled": False}, **{CSRF_HEADER: browser.csrf, "Origin": HUB}
    )
    assert own.status_code == 200, own.text
    assert browser.allow_sync() is False


def test_an_unsafe_request_needs_this_sessions_token(
    browser: Browser, hub: Hub, app_client: TestClient
) -> None:
    other = _browser(hub, app_client, Role.ADMIN)
    for headers in ({}, {CSRF_HEADER: "guess"}, {CSRF_HEADER: other.csrf}):
        refused = browser.post("/allowSync", {"enabled": False}, **headers)
        assert _envelope(refused) == (403, "403", "701060")
    assert browser.allow_sync() is True


def test_a_session_of_another_org_is_not_signed_in_here(
    browser: Browser, hub: Hub, app_client: TestClient
) -> None:
    stranger = _browser(hub, app_client, Role.ADMIN)
    stranger.org_id = browser.org_id
    r = stranger.post(
        "/allowSync", {"enabled": False}, **{CSRF_HEADER: stranger.csrf, "Origin": HUB}
    )
    assert _envelope(r) == (401, "401", "701061")
    assert browser.allow_sync() is True


def test_a_read_only_session_changes_nothing(
    browser: Browser, hub: Hub, app_client: TestClient
) -> None:
    viewer = _browser(hub, app_client, Role.READONLY, org_id=browser.org_id)
    assert viewer.allow_sync() is True  # reading is allowed
    r = viewer.post("/allowSync", {"enabled": False}, **{CSRF_HEADER: viewer.csrf, "Origin": HUB})
    assert _envelope(r) == (403, "403", "701060")
    assert browser.allow_sync() is True


def test_an_admin_token_is_not_subject_to_the_origin_check(
    hub: Hub, app_client: TestClient
) -> None:
    org = hub.orgs.create("token caller")
    secret, _ = hub.tokens.create(org.id, kind=TokenKind.ADMIN)
    r = app_client.post(
        f"/extIntegration/azureAD/{org.id}/v1/allowSync",
        json={"enabled": False},
        headers={"Authorization": f"Bearer {secret}", "Origin": EVIL},
    )
    assert r.status_code == 200, r.text
    scim_secret, _ = hub.tokens.create(org.id)  # a SCIM token opens SCIM only
    r = app_client.get(
        f"/extIntegration/azureAD/{org.id}/v1/status",
        headers={"Authorization": f"Bearer {scim_secret}"},
    )
    assert _envelope(r) == (401, "401", "701061")
