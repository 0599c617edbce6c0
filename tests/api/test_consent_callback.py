"""The consent callback in-process: what it refuses before it would ever ask Entra."""

from __future__ import annotations

import hashlib
import secrets

import pytest
from starlette.testclient import TestClient

from scimhub.api.integration import CONSENT_CALLBACK
from scimhub.api.services import Hub

FLOW = {"authority": "organizations", "msal": {"state": "s", "nonce": "n"}}


def _session_hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


@pytest.fixture
def state(hub: Hub) -> tuple[str, str, str]:
    """A pending setup begun by the admin whose browser holds `cookie`."""
    org = hub.orgs.create("callback")
    state, cookie = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    hub.instances.new_consent_state(
        state, org.id, "admin@a.example", _session_hash(cookie), {}, FLOW
    )
    return org.id, state, cookie


def _callback(client: TestClient, cookie: str | None = None, **params: str) -> dict[str, str]:
    client.cookies.clear()
    if cookie:
        client.cookies.set("scimhub_session", cookie)
    r = client.get(CONSENT_CALLBACK, params=params, headers={"Accept": "application/json"})
    assert r.status_code == 400, r.text
    return dict(r.json()["error"]["message"][0])


def test_another_browser_cannot_spend_the_admins_state(
    hub: Hub, app_client: TestClient, state: tuple[str, str, str]
) -> None:
    _, value, cookie = state
    for stranger in (None, "someone-elses-session"):
        refused = _callback(app_client, stranger, state=value, code="c")
        assert "browser session that started it" in refused["description"]
    # still pending for the admin who began it
    assert hub.instances.consume_consent_state(value, [_session_hash(cookie)]) is not None


def test_the_redirect_query_alone_is_not_believed(
    hub: Hub, app_client: TestClient, state: tuple[str, str, str]
) -> None:
    org_id, value, cookie = state
    refused = _callback(
        app_client,
        cookie,
        state=value,
        admin_consent="True",
        tenant="0c7ad2c0-7fd5-4a24-8a2c-6d9b2f0a3a11",
    )
    assert refused["code"] == "701050" and "sign-in code" in refused["description"]
    assert hub.instances.list(org_id) == []
    # and that spent the state: it cannot be tried again with a code
    assert "expired" in _callback(app_client, cookie, state=value, code="c")["description"]
