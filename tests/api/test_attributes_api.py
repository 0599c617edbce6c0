"""The admin API's custom attributes: define, list, read, remove (refused while held,
purged on request with each holder's event), the undeclared setting; bad input is 400,
other organisations' tokens get 404, read-only tokens cannot change anything."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.directory.tokens import TokenKind, TokenScope
from tests.conftest import OrgClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
EXT = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


@pytest.fixture
def admin(hub: Hub, org: OrgClient, app_client: TestClient) -> Any:
    secret, _ = hub.tokens.create(org.org_id, kind=TokenKind.ADMIN)
    base = f"/api/v1/orgs/{org.org_id}/attributes"

    class Admin:
        def call(self, method: str, path: str = "", token: str = secret, **kw: Any) -> Any:
            headers = {"Authorization": f"Bearer {token}"}
            return app_client.request(method, base + path, headers=headers, **kw)

    return Admin()


COST = {"resource": "User", "schema": EXT, "name": "costCenter", "type": "string"}


def test_define_list_read_and_use(admin: Any, org: OrgClient, hub: Hub) -> None:
    r = admin.call("POST", json={**COST, "description": "Finance"})
    assert r.status_code == 201, r.text
    defined = r.json()
    assert defined["path"] == f"{EXT}:costCenter" and defined["uniqueness"] == "none"
    assert admin.call("GET").json()["data"] == [defined]
    assert admin.call("GET", params={"resource": "Group"}).json()["data"] == []
    assert admin.call("GET", f"/{defined['id']}").json() == defined
    # At once usable over SCIM.
    r = org.post("/Users", {"schemas": [USER, EXT], "userName": "ann", EXT: {"costCenter": "X"}})
    assert r.status_code == 201, r.text
    assert admin.call("POST", json=COST).status_code == 409
    audit, _ = hub.audit.events(org.org_id, action="Custom attribute defined")
    assert len(audit) == 1 and audit[0].target == f"{EXT}:costCenter"
    assert audit[0].actor.startswith("token:") and audit[0].tracking_id


@pytest.mark.parametrize(
    "body",
    [
        [],
        {**COST, "type": "complex"},
        {**COST, "name": "9x"},
        {**COST, "schema": "nope"},
        {**COST, "resource": "Device"},
        {**COST, "uniqueness": "global"},
        {**COST, "multiValued": "yes"},
        {**COST, "colour": "red"},
        {**COST, "required": True},
        {"resource": "User", "name": "x"},
    ],
)
def test_bad_definitions_are_400(admin: Any, body: Any) -> None:
    r = admin.call("POST", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"][0]["code"] == "702000"


def test_remove_is_refused_while_held_and_purge_clears(
    admin: Any, org: OrgClient, hub: Hub
) -> None:
    attribute = admin.call("POST", json=COST).json()
    ann = org.post(
        "/Users", {"schemas": [USER, EXT], "userName": "ann", EXT: {"costCenter": "X"}}
    ).json()
    refused = admin.call("DELETE", f"/{attribute['id']}")
    assert refused.status_code == 409 and "hold a value" in refused.text
    assert admin.call("DELETE", f"/{attribute['id']}", params={"purge": "x"}).status_code == 400
    done = admin.call("DELETE", f"/{attribute['id']}", params={"purge": "true"})
    assert done.status_code == 204, done.text
    after = org.get(f"/Users/{ann['id']}").json()
    assert EXT not in after and after["meta"]["version"] != ann["meta"]["version"]
    page = hub.events.page(org.org_id, after=None, limit=100).events
    updated = [e for e in page if e.type == "user.updated"]
    assert updated and updated[-1].changed == {EXT: {"costCenter": "X"}}
    assert admin.call("GET").json()["data"] == []
    assert admin.call("GET", f"/{attribute['id']}").status_code == 404


def test_the_undeclared_setting(admin: Any, org: OrgClient) -> None:
    assert admin.call("GET", "/undeclared").json()["undeclared"] == "refuse"
    assert admin.call("PUT", "/undeclared", json={"undeclared": "maybe"}).status_code == 400
    r = admin.call("PUT", "/undeclared", json={"undeclared": "keep"})
    assert r.status_code == 200 and r.json()["undeclared"] == "keep"
    r = org.post("/Users", {"schemas": [USER], "userName": "b", f"{EXT}:level": 3})
    assert r.status_code == 201, r.text


def test_other_orgs_and_read_only_tokens(
    admin: Any, hub: Hub, org: OrgClient, other_org: OrgClient
) -> None:
    attribute = admin.call("POST", json=COST).json()
    stranger, _ = hub.tokens.create(other_org.org_id, kind=TokenKind.ADMIN)
    for method, path in (
        ("GET", ""),
        ("GET", f"/{attribute['id']}"),
        ("DELETE", f"/{attribute['id']}"),
    ):
        assert admin.call(method, path, token=stranger).status_code == 404
    reader, _ = hub.tokens.create(org.org_id, kind=TokenKind.ADMIN, scope=TokenScope.READ)
    assert admin.call("GET", token=reader).status_code == 200
    assert admin.call("POST", token=reader, json={**COST, "name": "b"}).status_code == 403
    assert admin.call("DELETE", f"/{attribute['id']}", token=reader).status_code == 403
    assert len(admin.call("GET").json()["data"]) == 1
