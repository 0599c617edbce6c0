"""Bad input gets a clear SCIM error with the right status and scimType, never a 500."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from sqlalchemy.exc import OperationalError

from scimhub.api.services import Hub
from scimhub.config import Settings
from tests.api.test_users import USER, new_user
from tests.conftest import OrgClient


def assert_error(r: httpx2.Response, status: int, scim_type: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == str(status)
    assert body["detail"].endswith(f"TrackingID: {r.headers['TrackingID']}")
    assert body.get("scimType") == scim_type
    assert body["detail"]


def test_malformed_json(org: OrgClient) -> None:
    assert_error(org.post("/Users", content=b'{"userName": '), 400, "invalidSyntax")


def test_unsupported_media_type(org: OrgClient) -> None:
    r = org.post("/Users", content=b"userName=x", headers={"Content-Type": "text/plain"})
    assert_error(r, 415)


def test_body_over_limit_is_413(org: OrgClient, settings: Settings) -> None:
    huge = new_user(displayName="x" * (settings.max_payload_bytes + 10))
    assert_error(org.post("/Users", huge), 413)


def test_missing_username(org: OrgClient) -> None:
    assert_error(org.post("/Users", {"schemas": [USER], "displayName": "x"}), 400, "invalidValue")


def test_wrong_type(org: OrgClient) -> None:
    assert_error(org.post("/Users", new_user(active="maybe")), 400, "invalidValue")
    assert_error(org.post("/Users", {**new_user(), "name": "not-an-object"}), 400, "invalidValue")
    assert_error(org.post("/Users", {"schemas": [USER], "userName": 42}), 400, "invalidValue")


def test_unknown_attribute_is_refused_not_dropped(org: OrgClient) -> None:
    assert_error(org.post("/Users", new_user(favouriteColour="blue")), 400, "invalidValue")


def test_tolerated_entra_habits(org: OrgClient) -> None:
    body = new_user(
        roles=[], nickName=None, active="True", meta={"resourceType": "User"}, id="client-chosen"
    )
    body["schemas"].append("urn:example:unknown:schema")
    r = org.post("/Users", body)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["active"] is True and "roles" not in doc and "nickName" not in doc
    assert doc["id"] != "client-chosen"


def test_body_not_an_object(org: OrgClient) -> None:
    assert_error(org.post("/Users", [1, 2]), 400, "invalidSyntax")


@pytest.mark.parametrize(
    "body",
    [
        {"Operations": "nope"},
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []},
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "frobnicate", "path": "title", "value": "x"}],
        },
    ],
)
def test_bad_patch_documents(org: OrgClient, body: dict[str, Any]) -> None:
    uid = org.post("/Users", new_user()).json()["id"]
    r = org.patch(f"/Users/{uid}", body)
    assert r.status_code == 400 and r.json()["scimType"] in ("invalidSyntax", "invalidValue")


def test_patch_read_only_attribute(org: OrgClient) -> None:
    uid = org.post("/Users", new_user()).json()["id"]
    r = org.patch(
        f"/Users/{uid}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "groups", "value": [{"value": "x"}]}],
        },
    )
    assert_error(r, 400, "mutability")


def test_paging_parameters_must_be_integers(org: OrgClient) -> None:
    assert_error(org.get("/Users", params={"count": "ten"}), 400, "invalidValue")


def test_unknown_route_and_method(org: OrgClient) -> None:
    assert_error(org.get("/Widgets"), 404)
    r = org.request("PATCH", "/Users")
    assert r.status_code == 405 and r.json()["status"] == "405"


def test_unknown_org(org: OrgClient) -> None:
    stranger = OrgClient(org.http, "00000000-0000-0000-0000-000000000000", org.token)
    assert_error(stranger.get("/Users"), 404)


def test_database_outage_is_a_503_with_retry_after(
    org: OrgClient, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart or failover of the database: the client is told to retry, never a 500."""

    def dropped(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT ...", {}, ConnectionError("server closed the connection"))

    monkeypatch.setattr(hub.tokens, "authenticate", dropped)
    r = org.get("/Users")
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert r.json()["status"] == "503"
    assert r.headers["TrackingID"] in r.json()["detail"]
    assert "server closed" not in r.text  # driver messages stay in the server's log
    monkeypatch.undo()
    assert org.get("/Users").status_code == 200
