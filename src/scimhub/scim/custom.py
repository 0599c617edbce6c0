"""An organisation's own attributes (schema extensions, RFC 7643 §3.3) as schema data.

An admin defines them; this module turns the definitions into `Schema` objects that join
the built-in ones on the organisation's resource types, so validation, PATCH, projection,
filters and `/Schemas` treat them exactly like the standard attributes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import InvalidValue
from .schemas import ENTERPRISE_URN, ENTRA_GROUP_URN, GROUP_URN, USER_URN, Attribute, Schema


class AttributeType(StrEnum):
    """The RFC 7643 §2.3 types an organisation may give its attributes (no complex or
    binary: a custom attribute is one value, or a list of them)."""

    STRING = "string"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATETIME = "dateTime"
    REFERENCE = "reference"


# ATTRNAME of RFC 7643 §2.1: a letter, then letters, digits, '-' or '_'.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
# A URN (RFC 8141) whose last segment names the resource, as Entra writes them:
# urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User
_URN = re.compile(r"urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}(:[A-Za-z0-9()+,\-.=@;$_!*'%/?#]+)+")
_RESERVED = {u.lower() for u in (USER_URN, GROUP_URN, ENTERPRISE_URN, ENTRA_GROUP_URN)}


@dataclass(frozen=True, slots=True)
class Definition:
    """One attribute an organisation defined, in the words of RFC 7643 §7."""

    resource_type: str  # "User" | "Group"
    schema: str  # the extension's URN
    name: str
    type: AttributeType = AttributeType.STRING
    multi_valued: bool = False
    case_exact: bool = False
    unique: bool = False  # uniqueness "server": one resource per value in the organisation
    required: bool = False
    description: str = ""

    @property
    def path(self) -> str:
        """The attribute's full name, as filters and PATCH paths write it."""
        return f"{self.schema}:{self.name}"

    def attribute(self) -> Attribute:
        return Attribute(
            self.name,
            type=self.type.value,
            multi_valued=self.multi_valued,
            required=self.required,
            case_exact=self.case_exact,
            uniqueness="server" if self.unique else "none",
            description=self.description,
        )


_MEMBERS = {
    "resource",
    "schema",
    "name",
    "type",
    "multiValued",
    "caseExact",
    "uniqueness",
    "required",
    "description",
}


def definition_from_json(body: Any) -> Definition:
    """A definition as the admin API takes it (the members of `Defined.as_json` that are
    not made by the hub). Raises InvalidValue naming what is wrong; `check` comes after."""
    if not isinstance(body, dict):
        raise InvalidValue("an attribute definition is a JSON object")
    unknown = sorted(set(body) - _MEMBERS)
    if unknown:
        raise InvalidValue(
            f"unknown member '{unknown[0][:64]}'; known: {', '.join(sorted(_MEMBERS))}"
        )

    def text(key: str, default: str | None = None) -> str:
        value = body.get(key, default)
        if not isinstance(value, str):
            raise InvalidValue(f"'{key}' must be a string")
        return value

    def flag(key: str) -> bool:
        value = body.get(key, False)
        if not isinstance(value, bool):
            raise InvalidValue(f"'{key}' must be true or false")
        return value

    try:
        kind = AttributeType(text("type", "string"))
    except ValueError:
        kinds = ", ".join(t.value for t in AttributeType)
        raise InvalidValue(f"'type' must be one of {kinds}") from None
    uniqueness = text("uniqueness", "none")
    if uniqueness not in ("none", "server"):
        raise InvalidValue("'uniqueness' must be none or server")
    description = text("description", "")
    if len(description) > 1024:
        raise InvalidValue("'description' is longer than 1024 characters")
    return Definition(
        resource_type=text("resource", "User"),
        schema=text("schema"),
        name=text("name"),
        type=kind,
        multi_valued=flag("multiValued"),
        case_exact=flag("caseExact"),
        unique=uniqueness == "server",
        required=flag("required"),
        description=description,
    )


def check(definition: Definition) -> None:
    """Refuse a definition no SCIM client could use. Raises InvalidValue."""
    if definition.resource_type not in ("User", "Group"):
        raise InvalidValue("the resource type must be User or Group")
    if not _URN.fullmatch(definition.schema) or len(definition.schema) > 256:
        raise InvalidValue(
            f"'{definition.schema}' is not a schema URN (for example "
            f"urn:ietf:params:scim:schemas:extension:acme:2.0:{definition.resource_type})"
        )
    if definition.schema.lower() in _RESERVED:
        raise InvalidValue(f"'{definition.schema}' is a standard schema: its attributes are fixed")
    if not _NAME.fullmatch(definition.name):
        raise InvalidValue(
            f"'{definition.name}' is not an attribute name: a letter, then up to 63 "
            "letters, digits, '-' or '_'"
        )
    if definition.unique and definition.type is AttributeType.BOOLEAN:
        raise InvalidValue("a boolean cannot be unique: it has only two values")


def extension_schemas(definitions: Iterable[Definition]) -> tuple[Schema, ...]:
    """The definitions grouped into one schema per URN, in the order first defined."""
    grouped: dict[str, list[Definition]] = {}
    for definition in definitions:
        grouped.setdefault(definition.schema, []).append(definition)
    return tuple(
        Schema(
            urn,
            _display_name(urn, defs[0].resource_type),
            f"Attributes this organisation defined for its {defs[0].resource_type}s",
            tuple(d.attribute() for d in defs),
            custom=True,
        )
        for urn, defs in grouped.items()
    )


def _display_name(urn: str, resource_type: str) -> str:
    """A schema's `name`: its URN's last segment that is not the version or the resource
    type (`urn:...:extension:CustomExtensionName:2.0:User` is "CustomExtensionName")."""
    segments = [s for s in urn.split(":") if s != resource_type and not re.fullmatch(r"[\d.]+", s)]
    return segments[-1]
