"""Schema definitions (RFC 7643 §4, §8.7) as data, and case-insensitive attribute resolution.

These definitions are the single source of truth: validation, PATCH, projection, the
`/Schemas` endpoint and the store's filter translation all read them, so what discovery
advertises is what the service does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .ast import AttrPath
from .errors import InvalidPath, UndefinedAttribute

# The type of an attribute kept as sent: any JSON value, never validated, filtered or sorted.
ANY = "any"
# URNs that are never an extension, so never kept: the core schemas and the API messages.
_NOT_EXTENSIONS = ("urn:ietf:params:scim:schemas:core:", "urn:ietf:params:scim:api:")

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# Entra puts this in `schemas` of the groups it creates; it carries no attributes of its own.
ENTRA_GROUP_URN = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    type: str = "string"  # string boolean decimal integer dateTime reference complex binary
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"  # readOnly readWrite immutable writeOnly
    returned: str = "default"  # always never default request
    uniqueness: str = "none"  # none server global
    sub_attributes: tuple[Attribute, ...] = ()
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    description: str = ""

    def sub(self, name: str) -> Attribute | None:
        lname = name.lower()
        for sub in self.sub_attributes:
            if sub.name.lower() == lname:
                return sub
        return None


@dataclass(frozen=True, slots=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    custom: bool = False  # an organisation's own extension (defined as data, not here)
    # Of an organisation that keeps undeclared attributes: a name it has not defined is
    # an attribute of type ANY, kept as sent.
    kept: bool = False

    def attribute(self, name: str) -> Attribute | None:
        lname = name.lower()
        for attr in self.attributes:
            if attr.name.lower() == lname:
                return attr
        return Attribute(name, type=ANY) if self.kept else None


@dataclass(frozen=True, slots=True)
class ResourceType:
    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[Schema, ...] = field(default_factory=tuple)
    # The organisation keeps extension attributes it has not defined (stored, returned,
    # not filterable) instead of refusing them.
    keeps_undeclared: bool = False

    def extension(self, urn: str) -> Schema | None:
        lurn = urn.lower()
        for ext in self.extensions:
            if ext.id.lower() == lurn:
                return ext
        return None

    def schema_for(self, urn: str) -> Schema | None:
        """The extension a URN names: a defined one, or, when undeclared attributes are
        kept, a schema that keeps whatever is sent under it. An undeclared URN must end
        with this resource type's name, as extension URNs do
        (`urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User`): only
        then can a stored document tell the extension's object from one attribute."""
        found = self.extension(urn)
        if found is not None or not self.keeps_undeclared:
            return found
        lurn = urn.lower()
        if not lurn.startswith("urn:") or lurn.startswith(_NOT_EXTENSIONS):
            return None
        if lurn.rpartition(":")[2] != self.name.lower():
            return None
        return Schema(urn, urn, "", (), custom=True, kept=True)

    @property
    def is_user(self) -> bool:
        """Users or Groups: an organisation's types are copies of USER and GROUP with its
        own extensions, so they compare by name, not identity."""
        return self.name == "User"

    def declared_only(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A stored document without the values of extension attributes this type no longer
        declares (an attribute removed while the resource sat in the recycle bin), its
        `schemas` without the extensions left empty."""
        out: dict[str, Any] = {}
        dropped: set[str] = set()
        for key, value in doc.items():
            schema = self.schema_for(key) if key.lower().startswith("urn:") else self.schema
            if schema is None:
                dropped.add(key.lower())
                continue
            if schema.custom and not schema.kept and isinstance(value, dict):
                value = {k: v for k, v in value.items() if schema.attribute(k) is not None}
                if not value:
                    dropped.add(key.lower())
                    continue
            out[key] = value
        if dropped and isinstance(out.get("schemas"), list):
            out["schemas"] = [s for s in out["schemas"] if str(s).lower() not in dropped]
        return out

    def with_extensions(self, extra: tuple[Schema, ...], *, keep: bool = False) -> ResourceType:
        """This type with an organisation's extension schemas added after the built-in ones
        (`keep`: undeclared extension attributes are kept, in its own schemas too)."""
        if not extra and not keep:
            return self
        if keep:
            extra = tuple(replace(s, kept=True) for s in extra)
        return ResourceType(
            self.name,
            self.endpoint,
            self.description,
            self.schema,
            (*self.extensions, *extra),
            keeps_undeclared=keep,
        )


def has_schema(schemas: object, urn: str) -> bool:
    """Whether a message's `schemas` member is a list naming `urn` (URNs compare
    case-insensitively, RFC 8141 §3)."""
    return isinstance(schemas, list) and any(
        isinstance(s, str) and s.lower() == urn.lower() for s in schemas
    )


_s = Attribute  # short, for the long tables below


def _multi(
    name: str,
    *,
    types: tuple[str, ...] = (),
    value_type: str = "string",
    refs: tuple[str, ...] = (),
    description: str = "",
) -> Attribute:
    """A standard multi-valued complex attribute: value, display, type, primary (§2.4)."""
    subs = [
        _s("value", type=value_type, reference_types=refs),
        _s("display"),
        _s("type", canonical_values=types),
        _s("primary", type="boolean"),
    ]
    return Attribute(
        name, type="complex", multi_valued=True, sub_attributes=tuple(subs), description=description
    )


# Common attributes (§3.1) live outside any schema but every resource has them.
ID = _s("id", case_exact=True, mutability="readOnly", returned="always", uniqueness="server")
EXTERNAL_ID = _s("externalId", case_exact=True)
META = _s(
    "meta",
    type="complex",
    mutability="readOnly",
    sub_attributes=(
        _s("resourceType", case_exact=True, mutability="readOnly"),
        _s("created", type="dateTime", mutability="readOnly"),
        _s("lastModified", type="dateTime", mutability="readOnly"),
        _s(
            "location",
            type="reference",
            case_exact=True,
            mutability="readOnly",
            reference_types=("uri",),
        ),
        _s("version", case_exact=True, mutability="readOnly"),
    ),
)
COMMON = (ID, EXTERNAL_ID, META)

_NAME = _s(
    "name",
    type="complex",
    sub_attributes=(
        _s("formatted"),
        _s("familyName"),
        _s("givenName"),
        _s("middleName"),
        _s("honorificPrefix"),
        _s("honorificSuffix"),
    ),
)
_ADDRESSES = Attribute(
    "addresses",
    type="complex",
    multi_valued=True,
    sub_attributes=(
        _s("formatted"),
        _s("streetAddress"),
        _s("locality"),
        _s("region"),
        _s("postalCode"),
        _s("country"),
        _s("type", canonical_values=("work", "home", "other")),
        _s("primary", type="boolean"),
    ),
)
_GROUPS_OF_USER = Attribute(
    "groups",
    type="complex",
    multi_valued=True,
    mutability="readOnly",
    sub_attributes=(
        _s("value", mutability="readOnly"),
        _s("$ref", type="reference", mutability="readOnly", reference_types=("User", "Group")),
        _s("display", mutability="readOnly"),
        _s("type", mutability="readOnly", canonical_values=("direct", "indirect")),
    ),
)

USER_SCHEMA = Schema(
    USER_URN,
    "User",
    "User Account",
    (
        _s("userName", required=True, uniqueness="server"),
        _NAME,
        _s("displayName"),
        _s("nickName"),
        _s("profileUrl", type="reference", reference_types=("external",)),
        _s("title"),
        _s("userType"),
        _s("preferredLanguage"),
        _s("locale"),
        _s("timezone"),
        _s("active", type="boolean"),
        _s("password", mutability="writeOnly", returned="never"),
        _multi("emails", types=("work", "home", "other")),
        _multi("phoneNumbers", types=("work", "home", "mobile", "fax", "pager", "other")),
        _multi("ims", types=("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
        _multi("photos", types=("photo", "thumbnail"), value_type="reference", refs=("external",)),
        _ADDRESSES,
        _GROUPS_OF_USER,
        _multi("entitlements"),
        _multi("roles"),
        _multi("x509Certificates", value_type="binary"),
    ),
)

ENTERPRISE_USER_SCHEMA = Schema(
    ENTERPRISE_URN,
    "EnterpriseUser",
    "Enterprise User",
    (
        _s("employeeNumber"),
        _s("costCenter"),
        _s("organization"),
        _s("division"),
        _s("department"),
        _s(
            "manager",
            type="complex",
            sub_attributes=(
                _s("value"),
                _s("$ref", type="reference", reference_types=("User",)),
                _s("displayName", mutability="readOnly"),
            ),
        ),
    ),
)

GROUP_SCHEMA = Schema(
    GROUP_URN,
    "Group",
    "Group",
    (
        _s("displayName", required=True, uniqueness="server"),
        Attribute(
            "members",
            type="complex",
            multi_valued=True,
            sub_attributes=(
                _s("value", mutability="immutable"),
                _s(
                    "$ref",
                    type="reference",
                    mutability="immutable",
                    reference_types=("User", "Group"),
                ),
                _s("display", mutability="readOnly"),
                _s("type", mutability="immutable", canonical_values=("User", "Group")),
            ),
        ),
    ),
)

USER = ResourceType("User", "/Users", "User Account", USER_SCHEMA, (ENTERPRISE_USER_SCHEMA,))
GROUP = ResourceType("Group", "/Groups", "Group", GROUP_SCHEMA)
RESOURCE_TYPES = (USER, GROUP)
ALL_SCHEMAS = (USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA)


@dataclass(frozen=True, slots=True)
class Resolved:
    """Where an AttrPath lands: its schema (None for common attributes), attribute and sub."""

    schema: Schema | None
    attribute: Attribute
    sub: Attribute | None = None

    @property
    def target(self) -> Attribute:
        return self.sub or self.attribute


def resolve(rt: ResourceType, path: AttrPath) -> Resolved:
    """Map a path to canonical definitions, case-insensitively (§2.1). Raises InvalidPath."""
    schema: Schema | None
    if path.urn:
        core = path.urn.lower() == rt.schema.id.lower()
        schema = rt.schema if core else rt.schema_for(path.urn)
        if schema is None or (schema.custom and schema.attribute(path.attr) is None):
            raise UndefinedAttribute(rt.name, f"{path.urn}:{path.attr}")
        attr = schema.attribute(path.attr)
    else:
        schema = rt.schema
        attr = schema.attribute(path.attr)
        if attr is None:
            schema = None
            lname = path.attr.lower()
            attr = next((a for a in COMMON if a.name.lower() == lname), None)
    if attr is None:
        raise InvalidPath(f"unknown attribute '{path.attr}'")
    if path.sub is None:
        return Resolved(schema, attr)
    sub = attr.sub(path.sub)
    if sub is None:
        raise InvalidPath(f"unknown sub-attribute '{path.attr}.{path.sub}'")
    return Resolved(schema, attr, sub)
