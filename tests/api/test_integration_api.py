"""The integration API in-process: authentication, the error envelope, no bare 500."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.directory.tokens import TokenKind


@pytest.fixture
def admin(hub: Hub, app_client: TestClient) -> tuple[TestClient, str, dict[str, str]]:
    org = hub.orgs.create("integration api")
    secret, _ = hub.tokens.create(org.id, kind=TokenKind.ADMIN)
    return app_client, f"/extIntegration/azureAD/{org.id}/v1", {"Authorization": f"Bearer {secret}"}


def envelope(body: dict[str, Any]) -> tuple[str, str]:
    return body["error"]["key"], body["error"]["message"][0]["code"]


def test_status_without_instances(admin: tuple[TestClient, str, dict[str, str]]) -> None:
    client, base, auth = admin
    r = client.get(f"{base}/status", headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert body["instances"] == [] and body["allowSync"] is True
    assert body["trackingId"] == r.headers["TrackingID"]


def test_not_signed_in_and_unconfigured(admin: tuple[TestClient, str, dict[str, str]]) -> None:
    client, base, auth = admin
    r = client.get(f"{base}/status")
    assert r.status_code == 401 and envelope(r.json()) == ("401", "701061")
    r = client.post(f"{base}/setup", headers=auth, json={"tenant": "common"})
    assert r.status_code == 412 and envelope(r.json()) == ("412", "701070")
    assert r.json()["trackingId"] == r.headers["TrackingID"]


def test_bad_bodies_are_400(admin: tuple[TestClient, str, dict[str, str]]) -> None:
    client, base, auth = admin
    r = client.post(
        f"{base}/allowSync",
        headers={**auth, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert r.status_code == 400 and envelope(r.json()) == ("400", "701050")
    r = client.post(f"{base}/allowSync", headers=auth, json={"enabled": "yes"})
    assert r.status_code == 400
    r = client.post(f"{base}/instances/nope/syncNow", headers=auth)
    assert r.status_code == 404 and envelope(r.json()) == ("404", "701040")


def test_an_unexpected_failure_is_an_envelope_not_a_bare_500(
    admin: tuple[TestClient, str, dict[str, str]], hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, base, auth = admin

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(hub.entra.status, "org", broken)
    r = client.get(f"{base}/status", headers=auth)
    assert r.status_code == 500 and envelope(r.json()) == ("500", "701099")
    assert r.headers["TrackingID"] in r.json()["error"]["message"][0]["description"]
    assert "secret internals" not in r.text
