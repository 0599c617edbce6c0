"""One error shape for every route under `/api/v1` and `/extIntegration`, walked route by
route: no credentials, the wrong method, a path that does not exist, a body that is not
JSON, with each kind of token — every refusal is the envelope
`{"error": {"key": "<status>", "message": [{"code", "description", ...}]}, "trackingId"}`
with the response's tracking id, and none is a 500."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2
import pytest
from starlette.routing import Match, Route
from starlette.testclient import TestClient

from scimhub.api import routes as api_routes
from scimhub.api.services import Hub
from scimhub.directory.tokens import TokenKind
from tests.brake_setup import pull_instance

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _routes() -> Iterator[tuple[str, set[str]]]:
    """Each path and the methods it takes (the integration API has a route per method)."""
    paths: dict[str, set[str]] = {}
    for route in api_routes.routes:
        if isinstance(route, Route) and route.path.startswith(("/api/v1", "/extIntegration")):
            paths.setdefault(route.path, set()).update(set(route.methods or ()) - {"HEAD"})
    yield from paths.items()


def _taken_by_another(path: str, method: str) -> bool:
    scope = {"type": "http", "path": path, "method": method}
    return any(
        isinstance(route, Route) and route.matches(scope)[0] is Match.FULL
        for route in api_routes.routes
    )


def _shape(r: httpx2.Response) -> str:
    """The envelope's code, checking the shape on the way."""
    assert r.status_code < 500, (r.request.method, r.request.url, r.text)
    assert r.headers["content-type"] == "application/json", r.text
    body = r.json()
    assert set(body) == {"error", "trackingId"}, body
    assert body["trackingId"] == r.headers["TrackingID"]
    assert body["error"]["key"] == str(r.status_code)
    (message,) = body["error"]["message"]
    assert {"code", "description"} <= set(message) <= {"code", "description", "title"}
    assert re.fullmatch(r"70[12]\d{3}", message["code"]), message
    return str(message["code"])


@pytest.fixture
def filled_path(hub: Hub) -> tuple[str, dict[str, str]]:
    """An organisation, its admin token, the operator's, and ids for the path's holes."""
    org_id = hub.orgs.create("walked").id
    instance = pull_instance(hub, org_id)
    admin, _ = hub.tokens.create(org_id, kind=TokenKind.ADMIN)
    operator, _ = hub.tokens.create_operator()
    return org_id, {"instance_id": instance.id, "admin": admin, "operator": operator}


def _path(template: str, org_id: str, ids: dict[str, str]) -> str:
    path = template.replace("{org_id}", org_id).replace("{instance_id}", ids["instance_id"])
    return re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)


def test_every_route_refuses_in_the_envelope(
    app_client: TestClient, filled_path: tuple[str, dict[str, str]]
) -> None:
    org_id, ids = filled_path
    walked = 0
    for template, methods in _routes():
        path = _path(template, org_id, ids)
        for method in methods:
            # no credentials at all (the consent callback needs none: it is not one of these)
            if "consent/callback" not in template:
                _shape(app_client.request(method, path))
            # a body that is not JSON, with either kind of token
            for token in (ids["admin"], ids["operator"]):
                r = app_client.request(
                    method,
                    path,
                    content=b"{not json",
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                    },
                )
                if r.status_code >= 400:
                    _shape(r)
            walked += 1
        for method in sorted(set(METHODS) - methods):
            if _taken_by_another(path, method):
                continue  # e.g. DELETE /attributes/undeclared is /attributes/{id}'s
            r = app_client.request(
                method, path, headers={"Authorization": f"Bearer {ids['admin']}"}
            )
            assert r.status_code == 405, (method, template)
            assert _shape(r) in ("702021", "701055")
            assert set(r.headers["Allow"].split(", ")) >= methods
    assert walked > 40


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1",
        "/api/v1/nothing",
        "/api/v1/orgs/x/nothing/here",
        "/extIntegration/nothing",
        "/extIntegration/azureAD/x/v1/nothing",
        "/extIntegration/azureAD/x/v2/status",
    ],
)
def test_a_path_that_does_not_exist_is_404_in_the_envelope(
    app_client: TestClient, path: str
) -> None:
    r = app_client.get(path)
    assert r.status_code == 404
    assert _shape(r) in ("702020", "701041")


def test_a_client_tracking_id_is_kept_in_the_envelope(app_client: TestClient) -> None:
    tid = "CONSOLE_5f3c2a5e-1b7e-4c55-9d7c-0a1b2c3d4e5f_7"
    for path in ("/api/v1/orgs", "/extIntegration/azureAD/x/v1/status", "/extIntegration/x"):
        r = app_client.get(path, headers={"TrackingID": tid})
        _shape(r)
        assert r.json()["trackingId"] == tid
