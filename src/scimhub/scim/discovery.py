"""Discovery documents (RFC 7644 §4, RFC 7643 §5-7): `/ServiceProviderConfig`,
`/ResourceTypes` and `/Schemas`, generated from `schemas.py` and the service's limits so
they can only tell the truth about what the service does."""

from __future__ import annotations

from typing import Any

from .schemas import ALL_SCHEMAS, RESOURCE_TYPES, Attribute, ResourceType, Schema

SERVICE_PROVIDER_CONFIG_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"


def service_provider_config(
    base_url: str,
    *,
    max_operations: int,
    max_payload_size: int,
    max_results: int,
    documentation_uri: str | None = None,
) -> dict[str, Any]:
    """RFC 7643 §5. `changePassword` is false: passwords are set with PATCH/PUT like any
    attribute, never verified or changed through a dedicated flow."""
    doc: dict[str, Any] = {"schemas": [SERVICE_PROVIDER_CONFIG_URN]}
    if documentation_uri:
        doc["documentationUri"] = documentation_uri
    doc.update(
        {
            "patch": {"supported": True},
            "bulk": {
                "supported": True,
                "maxOperations": max_operations,
                "maxPayloadSize": max_payload_size,
            },
            "filter": {"supported": True, "maxResults": max_results},
            "changePassword": {"supported": False},
            "sort": {"supported": True},
            "etag": {"supported": True},
            "authenticationSchemes": [
                {
                    "type": "oauthbearertoken",
                    "name": "OAuth Bearer Token",
                    "description": "Per-organisation bearer token in the Authorization header.",
                    "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                    "primary": True,
                }
            ],
            "meta": _meta("ServiceProviderConfig", f"{base_url}/ServiceProviderConfig"),
        }
    )
    return doc


def resource_type(rt: ResourceType, base_url: str) -> dict[str, Any]:
    """RFC 7643 §6. Extensions are optional: a User without enterprise data is valid."""
    return {
        "schemas": [RESOURCE_TYPE_URN],
        "id": rt.name,
        "name": rt.name,
        "endpoint": rt.endpoint,
        "description": rt.description,
        "schema": rt.schema.id,
        "schemaExtensions": [{"schema": ext.id, "required": False} for ext in rt.extensions],
        "meta": _meta("ResourceType", f"{base_url}/ResourceTypes/{rt.name}"),
    }


def resource_types(
    base_url: str, types: tuple[ResourceType, ...] = RESOURCE_TYPES
) -> list[dict[str, Any]]:
    """The resource types (an organisation's, with its extensions, when given)."""
    return [resource_type(rt, base_url) for rt in types]


def schema(definition: Schema, base_url: str) -> dict[str, Any]:
    """RFC 7643 §7, with every attribute characteristic spelled out rather than defaulted."""
    return {
        "schemas": [SCHEMA_URN],
        "id": definition.id,
        "name": definition.name,
        "description": definition.description,
        "attributes": [_attribute(attr) for attr in definition.attributes],
        "meta": _meta("Schema", f"{base_url}/Schemas/{definition.id}"),
    }


def schemas(
    base_url: str, types: tuple[ResourceType, ...] = RESOURCE_TYPES
) -> list[dict[str, Any]]:
    """The built-in schemas, then the extensions the types add to them (an organisation's
    own attributes)."""
    custom = [ext for rt in types for ext in rt.extensions if ext.custom]
    return [schema(definition, base_url) for definition in (*ALL_SCHEMAS, *custom)]


def _attribute(attr: Attribute) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": attr.name,
        "type": attr.type,
        "multiValued": attr.multi_valued,
        "description": attr.description or _describe(attr),
        "required": attr.required,
        "caseExact": attr.case_exact,
        "mutability": attr.mutability,
        "returned": attr.returned,
        "uniqueness": attr.uniqueness,
    }
    if attr.canonical_values:
        doc["canonicalValues"] = list(attr.canonical_values)
    if attr.reference_types:
        doc["referenceTypes"] = list(attr.reference_types)
    if attr.sub_attributes:
        doc["subAttributes"] = [_attribute(sub) for sub in attr.sub_attributes]
    return doc


def _describe(attr: Attribute) -> str:
    """A generated description for attributes defined without one (RFC 7643 §7 requires
    the characteristic): the name, split into words."""
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in attr.name.lstrip("$"))
    return f"The {words.strip()}."


def _meta(resource_type_name: str, location: str) -> dict[str, str]:
    return {"resourceType": resource_type_name, "location": location}
