"""The operator API's client for tests: an operator token and calls to `/api/v1`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2
from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.directory.tokens import TokenScope


@dataclass
class Operator:
    http: TestClient
    token: str

    def call(
        self, method: str, path: str, *, token: str | None = None, **kw: Any
    ) -> httpx2.Response:
        headers = {"Authorization": f"Bearer {token or self.token}", **kw.pop("headers", {})}
        return self.http.request(method, f"/api/v1{path}", headers=headers, **kw)

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        r = self.call(method, path, **kw)
        assert r.status_code == status, r.text
        return r.json()

    def new_org(self, name: str = "Contoso") -> str:
        org_id: str = self.ok("POST", "/orgs", 201, json={"name": name})["id"]
        return org_id


def operator(hub: Hub, http: TestClient, scope: TokenScope = TokenScope.WRITE) -> Operator:
    secret, _ = hub.tokens.create_operator(name="platform team", scope=scope)
    return Operator(http, secret)


def envelope(r: httpx2.Response) -> tuple[int, str, str]:
    """(status, code, description) of an `/api/v1` error, checking the envelope's shape:
    the key is the status, one message, the tracking id of the response's header."""
    body = r.json()
    assert set(body) == {"error", "trackingId"}, body
    assert body["trackingId"] == r.headers["TrackingID"]
    assert r.headers["content-type"] == "application/json"
    assert body["error"]["key"] == str(r.status_code)
    (message,) = body["error"]["message"]
    assert set(message) == {"code", "description"}
    return r.status_code, message["code"], message["description"]
