"""Discovery tells the truth: the limits it advertises are the ones enforced."""

from __future__ import annotations

from typing import Any

from tests.conftest import OrgClient


def test_service_provider_config_matches_settings(org: OrgClient, settings: Any) -> None:
    spc = org.get("/ServiceProviderConfig").json()
    assert spc["patch"]["supported"] is True
    assert spc["bulk"] == {
        "supported": True,
        "maxOperations": settings.max_bulk_operations,
        "maxPayloadSize": settings.max_payload_bytes,
    }
    assert spc["filter"] == {"supported": True, "maxResults": settings.max_page_size}
    assert spc["etag"]["supported"] is True and spc["sort"]["supported"] is True
    assert spc["changePassword"]["supported"] is False


def test_resource_types_and_schemas(org: OrgClient) -> None:
    rts = org.get("/ResourceTypes").json()
    assert {r["name"] for r in rts["Resources"]} == {"User", "Group"}
    user_rt = org.get("/ResourceTypes/User").json()
    assert user_rt["endpoint"] == "/Users"
    assert user_rt["schemaExtensions"][0]["schema"].endswith("enterprise:2.0:User")
    schemas = org.get("/Schemas").json()
    ids = {s["id"] for s in schemas["Resources"]}
    assert "urn:ietf:params:scim:schemas:core:2.0:User" in ids
    one = org.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group").json()
    assert one["name"] == "Group"
    assert org.get("/Schemas/urn:nope").status_code == 404
    assert org.get("/ResourceTypes/Nope").status_code == 404


def test_page_size_is_capped(org: OrgClient, settings: Any) -> None:
    r = org.get("/Users", params={"count": str(settings.max_page_size * 10)})
    assert r.status_code == 200
    assert r.json()["itemsPerPage"] <= settings.max_page_size
