"""The synchronization schema of the gallery app (attribute mappings and scoping
filters), its validation, and evaluating it against a source object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..constants import SYNC_TEMPLATE_ID
from ..directory import DirectoryError

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_RULE, GROUP_RULE = "Provision Microsoft Entra ID Users", "Provision Microsoft Entra ID Groups"

# (target attribute, source attribute, matching priority) as the gallery template ships them.
_USER_DEFAULTS: list[tuple[str, str, int]] = [
    ("userName", "userPrincipalName", 1),
    ("active", "accountEnabled", 0),
    ("displayName", "displayName", 0),
    ("title", "jobTitle", 0),
    ('emails[type eq "work"].value', "mail", 0),
    ("name.givenName", "givenName", 0),
    ("name.familyName", "surname", 0),
    ("externalId", "mailNickname", 0),
    (f"{ENTERPRISE}:employeeNumber", "employeeId", 0),
    (f"{ENTERPRISE}:department", "department", 0),
    (f"{ENTERPRISE}:manager", "manager", 0),
]
_GROUP_DEFAULTS: list[tuple[str, str, int]] = [
    ("displayName", "displayName", 1),
    ("externalId", "objectId", 0),
    ("members", "members", 0),
]
_OPERATORS = {
    "EQUALS",
    "NOT_EQUALS",
    "IS_TRUE",
    "IS_FALSE",
    "IS_NULL",
    "IS_NOT_NULL",
    "STARTS_WITH",
}


@dataclass(frozen=True)
class Mapping:
    target: str
    source: str | None  # an attribute name, or None for a constant
    constant: str | None = None
    matching: int = 0


def _attribute_mapping(target: str, source: str, priority: int) -> dict[str, Any]:
    return {
        "defaultValue": None,
        "exportMissingReferences": False,
        "flowBehavior": "FlowWhenChanged",
        "flowType": "Always",
        "matchingPriority": priority,
        "targetAttributeName": target,
        "source": {
            "expression": f"[{source}]",
            "name": source,
            "type": "Attribute",
            "parameters": [],
        },
    }


def _object_mapping(
    name: str, source: str, target: str, defaults: list[tuple[str, str, int]]
) -> dict[str, Any]:
    return {
        "enabled": True,
        "flowTypes": "Add, Update, Delete",
        "name": name,
        "sourceObjectName": source,
        "targetObjectName": target,
        "scope": None,
        "attributeMappings": [_attribute_mapping(*d) for d in defaults],
        "metadata": [],
    }


def default_schema(job_id: str | None = None) -> dict[str, Any]:
    return {
        "id": job_id or SYNC_TEMPLATE_ID,
        "version": "Date:2024-01-01~ID:1",
        "directories": [
            {"id": "AzureActiveDirectory", "name": "Azure Active Directory"},
            {"id": "customappsso", "name": "customappsso"},
        ],
        "synchronizationRules": [
            {
                "id": f"{SYNC_TEMPLATE_ID}_rule",
                "name": "USER_INBOUND_USER",
                "sourceDirectoryName": "Azure Active Directory",
                "targetDirectoryName": "customappsso",
                "editable": True,
                "objectMappings": [
                    _object_mapping(USER_RULE, "User", "User", _USER_DEFAULTS),
                    _object_mapping(GROUP_RULE, "Group", "Group", _GROUP_DEFAULTS),
                ],
            }
        ],
    }


def _object_mappings(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        m for rule in schema.get("synchronizationRules", []) for m in rule.get("objectMappings", [])
    ]


def validate_schema(schema: Any) -> dict[str, Any]:
    """Reject what Entra's schema editor would reject; a 400 instead of a broken job."""

    def fail(message: str) -> DirectoryError:
        return DirectoryError(message, "BadRequest")

    if not isinstance(schema, dict) or not isinstance(schema.get("synchronizationRules"), list):
        raise fail("The schema must have a 'synchronizationRules' array.")
    sources = set()
    for om in _object_mappings(schema):
        if not isinstance(om, dict) or om.get("sourceObjectName") not in ("User", "Group"):
            raise fail("Each object mapping needs a sourceObjectName of User or Group.")
        sources.add(om["sourceObjectName"])
        mappings = om.get("attributeMappings")
        if not isinstance(mappings, list) or not all(isinstance(m, dict) for m in mappings):
            raise fail("attributeMappings must be an array of objects.")
        for am in mappings:
            src = am.get("source")
            if not isinstance(am.get("targetAttributeName"), str) or not isinstance(src, dict):
                raise fail("Each attribute mapping needs targetAttributeName and source.")
            if src.get("type") not in ("Attribute", "Constant"):
                raise fail(
                    f"Unsupported source type '{src.get('type')}': the emulator "
                    "evaluates Attribute and Constant mappings."
                )
        if (
            om.get("enabled", True)
            and om["sourceObjectName"] == "User"
            and not any(am.get("matchingPriority", 0) for am in mappings)
        ):
            raise fail("The User object mapping needs a matching attribute.")
        for group in (om.get("scope") or {}).get("groups", []) or []:
            for clause in group.get("clauses", []):
                if clause.get("operatorName") not in _OPERATORS:
                    raise fail(f"Unsupported scoping operator '{clause.get('operatorName')}'.")
    if "User" not in sources:
        raise fail("The schema has no User object mapping.")
    return schema


def attribute_sources(schema: dict[str, Any], source: str) -> list[str]:
    """The source attribute names the object mappings of `source` objects read."""
    return [
        am["source"]["name"]
        for om in _object_mappings(schema)
        if om.get("sourceObjectName") == source
        for am in om["attributeMappings"]
        if am["source"].get("type") == "Attribute" and isinstance(am["source"].get("name"), str)
    ]


def object_mapping(schema: dict[str, Any], source: str) -> dict[str, Any] | None:
    return next(
        (
            om
            for om in _object_mappings(schema)
            if om.get("sourceObjectName") == source and om.get("enabled", True)
        ),
        None,
    )


def mappings(om: dict[str, Any]) -> list[Mapping]:
    out = []
    for am in om["attributeMappings"]:
        src = am["source"]
        if src["type"] == "Constant":
            out.append(Mapping(am["targetAttributeName"], None, src.get("expression", "")))
        else:
            out.append(
                Mapping(
                    am["targetAttributeName"],
                    src["name"],
                    matching=am.get("matchingPriority", 0) or 0,
                )
            )
    return out


def matching_target(om: dict[str, Any]) -> Mapping:
    return min((m for m in mappings(om) if m.matching), key=lambda m: m.matching)


def _clause(attrs: dict[str, Any], clause: dict[str, Any]) -> bool:
    value = attrs.get(clause.get("sourceOperandName", ""))
    wanted = [str(v).lower() for v in (clause.get("targetOperand") or {}).get("values", [])]
    text = "" if value is None else str(value).lower()
    return {
        "EQUALS": lambda: text in wanted,
        "NOT_EQUALS": lambda: text not in wanted,
        "IS_TRUE": lambda: value is True,
        "IS_FALSE": lambda: value is False,
        "IS_NULL": lambda: value in (None, ""),
        "IS_NOT_NULL": lambda: value not in (None, ""),
        "STARTS_WITH": lambda: any(text.startswith(w) for w in wanted),
    }[clause["operatorName"]]()


def in_filter_scope(om: dict[str, Any], attrs: dict[str, Any]) -> bool:
    """Scoping filters: clauses AND-ed within a group, groups OR-ed (as in the portal)."""
    groups = (om.get("scope") or {}).get("groups") or []
    return not groups or any(all(_clause(attrs, c) for c in g.get("clauses", [])) for g in groups)


def evaluate(maps: list[Mapping], attrs: dict[str, Any]) -> dict[str, Any]:
    """Target path -> value for one source object; empty values are left out, as Entra
    never sends nulls. `members` is resolved separately."""
    out: dict[str, Any] = {}
    for m in maps:
        if m.target == "members":
            continue
        value = m.constant if m.source is None else attrs.get(m.source)
        if value is not None and value != "":
            out[m.target] = value
    return out
