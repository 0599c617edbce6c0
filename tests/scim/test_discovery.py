"""Discovery documents, checked against python-scim's models (what scim2-tester uses)."""

from __future__ import annotations

from typing import Any

import pytest
from scim2_models import Context, ResourceType, Schema, ServiceProviderConfig

from scimhub.scim import discovery
from scimhub.scim.schemas import ALL_SCHEMAS, ENTERPRISE_URN, GROUP_URN, USER_URN

BASE = "https://hub.example.org/identity/scim/org-1/v2"
RESPONSE = Context.RESOURCE_QUERY_RESPONSE


def config() -> dict[str, Any]:
    return discovery.service_provider_config(
        BASE, max_operations=100, max_payload_size=1_048_576, max_results=1000
    )


def test_service_provider_config_tells_the_truth() -> None:
    doc = config()
    model = ServiceProviderConfig.model_validate(doc, scim_ctx=RESPONSE)
    assert model.patch is not None and model.patch.supported
    assert model.bulk is not None and model.bulk.max_operations == 100
    assert model.bulk.max_payload_size == 1_048_576
    assert model.filter is not None and model.filter.max_results == 1000
    assert model.change_password is not None and not model.change_password.supported
    assert model.sort is not None and model.sort.supported
    assert model.etag is not None and model.etag.supported
    schemes = model.authentication_schemes or []
    assert [(s.type, s.primary) for s in schemes] == [("oauthbearertoken", True)]
    assert doc["meta"] == {
        "resourceType": "ServiceProviderConfig",
        "location": f"{BASE}/ServiceProviderConfig",
    }


def test_resource_types() -> None:
    docs = discovery.resource_types(BASE)
    models = [ResourceType.model_validate(doc, scim_ctx=RESPONSE) for doc in docs]
    assert [(m.id, m.endpoint, m.schema_) for m in models] == [
        ("User", "/Users", USER_URN),
        ("Group", "/Groups", GROUP_URN),
    ]
    assert docs[0]["schemaExtensions"] == [{"schema": ENTERPRISE_URN, "required": False}]
    assert docs[1]["schemaExtensions"] == []
    assert docs[0]["meta"]["location"] == f"{BASE}/ResourceTypes/User"


@pytest.mark.parametrize("definition", ALL_SCHEMAS, ids=lambda s: s.name)
def test_schemas_are_valid_and_complete(definition: Any) -> None:
    doc = discovery.schema(definition, BASE)
    model = Schema.model_validate(doc, scim_ctx=RESPONSE)
    assert model.id == definition.id
    assert [a.name for a in model.attributes or []] == [a.name for a in definition.attributes]
    assert doc["meta"] == {"resourceType": "Schema", "location": f"{BASE}/Schemas/{definition.id}"}
    for attribute in doc["attributes"]:
        assert {
            "name",
            "type",
            "multiValued",
            "description",
            "required",
            "caseExact",
            "mutability",
            "returned",
            "uniqueness",
        } <= attribute.keys()
        assert attribute["description"]


def test_schema_characteristics_come_from_the_definitions() -> None:
    user = discovery.schema(ALL_SCHEMAS[0], BASE)
    by_name = {a["name"]: a for a in user["attributes"]}
    assert by_name["userName"]["required"] is True
    assert by_name["userName"]["uniqueness"] == "server"
    assert by_name["password"]["returned"] == "never"
    assert by_name["password"]["mutability"] == "writeOnly"
    assert by_name["groups"]["mutability"] == "readOnly"
    emails = by_name["emails"]
    assert emails["multiValued"] is True
    assert [s["name"] for s in emails["subAttributes"]] == ["value", "display", "type", "primary"]
    assert emails["subAttributes"][2]["canonicalValues"] == ["work", "home", "other"]
    assert by_name["profileUrl"]["referenceTypes"] == ["external"]


def test_all_schemas_listed() -> None:
    assert [d["id"] for d in discovery.schemas(BASE)] == [s.id for s in ALL_SCHEMAS]
