"""Attribute mappings as the hub saves them (`[{"source", "target"}]`, Entra attribute to
SCIM path) and as Graph's synchronization schema holds them (the user object mapping's
`attributeMappings`)."""

from __future__ import annotations

import copy
from typing import Any

from ...scim.custom import Definition
from .errors import BadRequest

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

DEFAULT_MAPPINGS: list[dict[str, str]] = [
    {"source": "userPrincipalName", "target": "userName"},
    {"source": "accountEnabled", "target": "active"},
    {"source": "displayName", "target": "displayName"},
    {"source": "givenName", "target": "name.givenName"},
    {"source": "surname", "target": "name.familyName"},
    {"source": "mail", "target": 'emails[type eq "work"].value'},
    {"source": "jobTitle", "target": "title"},
    {"source": "mailNickname", "target": "externalId"},
    {"source": "department", "target": f"{ENTERPRISE}:department"},
    {"source": "employeeId", "target": f"{ENTERPRISE}:employeeNumber"},
    {"source": "manager", "target": f"{ENTERPRISE}:manager"},
]
MATCHING_TARGET = "userName"
# Directory extension attributes an Entra app registered: `extension_<appId>_<name>`.
EXTENSION_PREFIX = "extension_"


def validate(mappings: Any) -> list[dict[str, str]]:
    """Mappings an admin sent: a list of {source, target} strings, userName mapped once."""
    if not isinstance(mappings, list) or not mappings:
        raise BadRequest("mappings must be a non-empty list of {source, target}")
    clean = []
    for m in mappings:
        if not (
            isinstance(m, dict)
            and isinstance(m.get("source"), str)
            and isinstance(m.get("target"), str)
            and m["source"]
            and m["target"]
        ):
            raise BadRequest("each mapping needs a 'source' and a 'target' string")
        clean.append({"source": m["source"], "target": m["target"]})
    targets = [m["target"] for m in clean]
    if targets.count(MATCHING_TARGET) != 1:
        raise BadRequest("exactly one mapping must target userName (the matching attribute)")
    if len(set(targets)) != len(targets):
        raise BadRequest("each target attribute may be mapped only once")
    return clean


def targets(custom: list[Definition]) -> list[dict[str, Any]]:
    """The target attributes a mapping editor offers: the hub's standard ones, then the
    organisation's own User attributes (their full `urn:...:name` paths)."""
    standard: list[dict[str, Any]] = [
        {"target": m["target"], "custom": False} for m in DEFAULT_MAPPINGS
    ]
    return standard + [
        {
            "target": d.path,
            "custom": True,
            "name": d.name,
            "type": d.type.value,
            "multiValued": d.multi_valued,
        }
        for d in custom
        if d.resource_type == "User"
    ]


def sources(extensions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The source attributes a mapping editor offers: the Entra user properties the
    standard mappings read, then the tenant's directory extensions."""
    standard: list[dict[str, Any]] = [
        {"source": m["source"], "extension": False} for m in DEFAULT_MAPPINGS
    ]
    return standard + [
        {
            "source": p["name"],
            "extension": True,
            "type": p.get("dataType"),
            "multiValued": bool(p.get("isMultiValued")),
            "app": p.get("appDisplayName") or "",
        }
        for p in extensions
    ]


def extension_sources(mappings: list[dict[str, str]]) -> list[str]:
    """The directory extensions the mappings read, once each, in mapping order."""
    return list(
        dict.fromkeys(m["source"] for m in mappings if m["source"].startswith(EXTENSION_PREFIX))
    )


def _user_mapping(schema: dict[str, Any]) -> dict[str, Any] | None:
    for rule in schema.get("synchronizationRules", []):
        object_mappings: list[dict[str, Any]] = rule.get("objectMappings", [])
        for mapping in object_mappings:
            if mapping.get("sourceObjectName") == "User":
                return mapping
    return None


def from_schema(schema: dict[str, Any]) -> list[dict[str, str]]:
    mapping = _user_mapping(schema) or {}
    return [
        {"source": a["source"]["name"], "target": a["targetAttributeName"]}
        for a in mapping.get("attributeMappings", [])
        if isinstance(a.get("source"), dict) and a["source"].get("name")
    ]


def into_schema(schema: dict[str, Any], mappings: list[dict[str, str]]) -> dict[str, Any]:
    """A copy of `schema` whose user attribute mappings are exactly `mappings`."""
    updated = copy.deepcopy(schema)
    mapping = _user_mapping(updated)
    if mapping is None:
        raise BadRequest("the provisioning job's schema has no user mapping")
    mapping["attributeMappings"] = [
        {
            "defaultValue": None,
            "exportMissingReferences": False,
            "flowBehavior": "FlowWhenChanged",
            "flowType": "Always",
            "matchingPriority": 1 if m["target"] == MATCHING_TARGET else 0,
            "targetAttributeName": m["target"],
            "source": {
                "expression": f"[{m['source']}]",
                "name": m["source"],
                "type": "Attribute",
                "parameters": [],
            },
        }
        for m in mappings
    ]
    return updated
