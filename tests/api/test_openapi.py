"""The OpenAPI document (`api/openapi.py`): every `/api/v1` and `/extIntegration` route
documented, the document valid OpenAPI 3.1, its bodies and parameters the very
declarations the handlers read with, and the `/api/docs` page rendered from it."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from scimhub.api import events, integration, orgs, webhooks
from scimhub.api.declared import Invalid, Names
from scimhub.api.openapi import document
from scimhub.api.operations import Described
from scimhub.api.routes import routes as api_routes
from scimhub.api.services import Hub
from scimhub.directory.events import EventType
from tests.api.operator_client import envelope, operator

_DOCUMENTED = ("/api/v1", "/extIntegration")


def _walk(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, Route]]:
    found: list[tuple[str, Route]] = []
    for route in routes:
        if isinstance(route, Mount):
            found += _walk(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            found.append((prefix + route.path, route))
    return found


def _openapi_path(path: str) -> str:
    return path.replace(":str}", "}")


def test_every_api_route_of_the_app_is_a_documented_operation(app_client: TestClient) -> None:
    doc = app_client.get("/api/openapi.json").json()
    walked = [(p, r) for p, r in _walk(app_client.app.routes) if p.startswith(_DOCUMENTED)]  # type: ignore[attr-defined]
    assert len(walked) > 40
    for path, route in walked:
        assert isinstance(route, Described), f"{path} is not a Described route"
        documented = doc["paths"].get(_openapi_path(path), {})
        for method in (route.methods or set()) - {"HEAD"}:
            assert method.lower() in documented, f"{method} {path} is not documented"


def test_no_scim_or_console_route_is_in_the_document() -> None:
    paths = document(api_routes)["paths"]
    assert paths and all(p.startswith(_DOCUMENTED) for p in paths)


def test_the_document_is_valid_openapi_3_1(app_client: TestClient) -> None:
    served = app_client.get("/api/openapi.json")
    assert served.status_code == 200 and served.headers["content-type"] == "application/json"
    doc = served.json()
    assert doc["openapi"] == "3.1.0"
    errors = [str(e) for e in OpenAPIV31SpecValidator(doc).iter_errors()]
    assert errors == []
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def _op(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    op: dict[str, Any] = doc["paths"][path][method]
    return op


def test_bodies_and_parameters_are_the_handlers_own_declarations() -> None:
    doc = document(api_routes)
    body = _op(doc, "post", "/api/v1/orgs")["requestBody"]["content"]["application/json"]
    assert body["schema"] == orgs.OrgBody.BODY.schema()
    assert body["schema"]["required"] == ["name"]
    assert body["schema"]["additionalProperties"] is False
    hook = _op(doc, "patch", "/api/v1/orgs/{org_id}/webhooks/{endpoint_id}")["requestBody"]
    assert hook["content"]["application/json"]["schema"] == webhooks.CHANGE.schema()
    params = {p["name"]: p for p in _op(doc, "get", "/api/v1/orgs/{org_id}/events")["parameters"]}
    assert set(params) == {"org_id", *events.QUERY.names}
    assert params["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 500,
        "default": 100,
    }
    allow = _op(doc, "post", "/extIntegration/azureAD/{org_id}/v1/allowSync")
    schema = allow["requestBody"]["content"]["application/json"]["schema"]
    assert schema == integration.ENABLED.schema() and schema["required"] == ["enabled"]


def test_errors_are_documented_in_each_familys_envelope() -> None:
    doc = document(api_routes)
    events_get = _op(doc, "get", "/api/v1/orgs/{org_id}/events")["responses"]
    assert {"200", "400", "401", "404", "410", "500", "503"} <= set(events_get)
    assert "702030" in events_get["410"]["description"]
    ref = events_get["410"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/V1Error"
    setup = _op(doc, "post", "/extIntegration/azureAD/{org_id}/v1/setup")["responses"]
    ref = setup["401"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/IntegrationError"
    assert (
        "title"
        in doc["components"]["schemas"]["IntegrationError"]["properties"]["error"]["properties"][
            "message"
        ]["items"]["required"]
    )
    assert "trackingId" in setup["200"]["content"]["application/json"]["schema"]["required"]
    assert _op(doc, "get", "/api/v1/orgs")["security"] == [{"operatorToken": []}]
    security = _op(doc, "post", "/extIntegration/azureAD/{org_id}/v1/setup")["security"]
    assert security == [{"adminToken": []}, {"consoleSession": [], "csrfToken": []}]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/orgs", {"name": "Contoso", "nmae": "x"}),
        ("/orgs/{org}/tokens", {"scope": "admin"}),
        ("/orgs/{org}/tokens", {"expiresInDays": True}),
        ("/orgs/{org}/admins", {"email": "a@example.com"}),
    ],
)
def test_what_the_document_refuses_the_handler_refuses(
    app_client: TestClient, hub: Hub, path: str, body: dict[str, Any]
) -> None:
    api = operator(hub, app_client)
    org_id = api.new_org()
    status, code, _ = envelope(api.call("POST", path.format(org=org_id), json=body))
    assert (status, code) == (400, "702000")


def test_a_names_parameters_pattern_takes_what_its_reader_takes() -> None:
    import re

    types = Names("types", tuple(EventType))
    pattern = re.compile(types.schema()["pattern"])
    taken = ("user.created", " user.created , group.deleted", "group.created,,user.deleted,")
    for raw in taken:
        assert pattern.search(raw) and types.read(raw)
    for raw in ("user.made", " , ", "", "userXcreated", "user.createdgroup.created"):
        assert not pattern.search(raw)
        with pytest.raises(Invalid):
            types.read(raw)


def test_the_page_lists_every_operation_by_tag_with_no_script(app_client: TestClient) -> None:
    doc = app_client.get("/api/openapi.json").json()
    page = app_client.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<script" not in html.lower()
    for tag in doc["tags"]:
        assert tag["name"].replace("&", "&amp;") in html
    for item in doc["paths"].values():
        for op in item.values():
            assert f'id="{op["operationId"]}"' in html
    assert "702030" in html and "expiresInDays" in html and "X-CSRF-Token" in html
