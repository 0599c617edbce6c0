"""The webhooks API under `/api/v1/orgs/{orgId}/webhooks`: an admin token, the secret in
the creating (and rotating) answer only, the URL checked, the /api/v1 envelope."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.app import create_app
from scimhub.config import Settings
from scimhub.directory.tokens import TokenKind, TokenScope
from tests.delivery.conftest import make_service
from tests.delivery.receiver import Receiver


@dataclasses.dataclass
class Api:
    http: TestClient
    org_id: str
    token: str

    def call(self, method: str, path: str = "", body: Any = None, **kw: Any) -> Any:
        """The answer (a TestClient response)."""
        return self.http.request(
            method,
            f"/api/v1/orgs/{self.org_id}/webhooks{path}",
            json=body,
            headers={"Authorization": f"Bearer {kw.pop('token', self.token)}"},
            **kw,
        )


def _api(client: TestClient, hub: Hub) -> Api:
    org_id = hub.orgs.create("webhooks api").id
    token, _ = hub.tokens.create(org_id, kind=TokenKind.ADMIN)
    return Api(client, org_id, token)


@pytest.fixture
def private_app(settings: Settings, hub: Hub) -> Iterator[TestClient]:
    """The app over a hub whose webhooks may go to loopback (the receiver)."""
    allowing = dataclasses.replace(hub, webhooks=make_service(hub))
    with TestClient(create_app(settings, hub=allowing), base_url="https://hub.test") as c:
        yield c


def test_the_life_of_an_endpoint(private_app: TestClient, hub: Hub, receiver: Receiver) -> None:
    api = _api(private_app, hub)
    made = api.call("POST", body={"url": receiver.url, "eventTypes": ["user.created"]})
    assert made.status_code == 201, made.text
    created = made.json()
    secret, endpoint_id = created["secret"], created["id"]
    assert secret.startswith("whsec_") and created["eventTypes"] == ["user.created"]
    assert created["status"] == "ok" and created["enabled"] is True
    receiver.secrets = [secret]

    listed = api.call("GET")
    assert [e["id"] for e in listed.json()["data"]] == [endpoint_id]
    assert secret.removeprefix("whsec_") not in listed.text
    assert "secret" not in api.call("GET", f"/{endpoint_id}").json()

    tested = api.call("POST", f"/{endpoint_id}/test").json()
    assert tested["ok"] is True and tested["statusCode"] == 200
    assert tested["eventId"].startswith("test_") and not receiver.bad_signatures
    assert receiver.requests[0].body.count(b'"webhook.test"') == 1

    rotated = api.call("POST", f"/{endpoint_id}/rotate-secret").json()
    assert rotated["secret"] != secret and rotated["previousSecretValidUntil"]
    receiver.secrets = [rotated["secret"]]
    assert api.call("POST", f"/{endpoint_id}/test").json()["ok"] is True

    changed = api.call("PATCH", f"/{endpoint_id}", {"eventTypes": [], "enabled": False})
    assert changed.json()["eventTypes"] == [] and changed.json()["status"] == "disabled"
    assert api.call("PATCH", f"/{endpoint_id}", {"enabled": True}).json()["enabled"] is True

    replayed = api.call("POST", f"/{endpoint_id}/replay", {"since": "1h"})
    assert replayed.status_code == 200, replayed.text
    assert api.call("POST", f"/{endpoint_id}/retry").status_code == 200
    deliveries = api.call("GET", f"/{endpoint_id}/deliveries", params={"limit": "1"}).json()
    assert [d["outcome"] for d in deliveries["data"]] == ["test"]

    assert api.call("DELETE", f"/{endpoint_id}").status_code == 204
    gone = api.call("GET", f"/{endpoint_id}")
    assert gone.status_code == 404 and gone.json()["error"]["key"] == "404"
    assert gone.json()["trackingId"]


def test_private_receivers_are_refused(app_client: TestClient, hub: Hub) -> None:
    api = _api(app_client, hub)
    for url in ("https://127.0.0.1/x", "https://169.254.169.254/", "http://93.184.215.14/"):
        refused = api.call("POST", body={"url": url})
        assert refused.status_code == 400, url
        assert refused.json()["error"]["message"][0]["code"] == "702000"
    ok = api.call("POST", body={"url": "https://93.184.215.14/hook"})  # public: no lookup
    assert ok.status_code == 201, ok.text
    moved = api.call("PATCH", f"/{ok.json()['id']}", {"url": "https://10.0.0.1/"})
    assert moved.status_code == 400 and "private" in moved.text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"url": "https://93.184.215.14/", "eventTypes": ["user.made"]}, "unknown event type"),
        ({"url": "https://93.184.215.14/", "eventTypes": "user.created"}, "eventTypes"),
        ({"eventTypes": []}, "url"),
        ({"url": "https://93.184.215.14/", "secret": "mine"}, "unknown member"),
        ([1], "JSON object"),
    ],
)
def test_bad_bodies_are_400(app_client: TestClient, hub: Hub, body: Any, message: str) -> None:
    answer = _api(app_client, hub).call("POST", body=body)
    assert answer.status_code == 400 and message in answer.text


def test_tokens_and_tenants(app_client: TestClient, hub: Hub) -> None:
    api = _api(app_client, hub)
    endpoint_id = api.call("POST", body={"url": "https://93.184.215.14/"}).json()["id"]
    assert api.call("GET", token="nope").status_code == 401
    scim, _ = hub.tokens.create(api.org_id)
    assert api.call("GET", token=scim).status_code == 401
    reader, _ = hub.tokens.create(api.org_id, kind=TokenKind.ADMIN, scope=TokenScope.READ)
    assert api.call("GET", token=reader).status_code == 200
    assert api.call("POST", f"/{endpoint_id}/rotate-secret", token=reader).status_code == 403
    other = _api(app_client, hub)
    assert other.call("GET", f"/{endpoint_id}").status_code == 404
    assert other.call("DELETE", f"/{endpoint_id}").status_code == 404
    assert api.call("GET", f"/{endpoint_id}").status_code == 200
