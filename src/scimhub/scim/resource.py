"""From a POST or PUT body to a stored document (RFC 7643 §3, RFC 7644 §3.3 and §3.5.1).

The document model: a dict in SCIM JSON form with canonical attribute names, core
attributes at the top level, extension attributes under their schema URN, and `schemas`
listing the core URN plus each extension that has attributes. It holds no `id`, `meta`,
user `groups` or group `members` (the store derives those), no password, and no null
values or empty lists (absence says the same, RFC 7643 §2.5).

POST and PUT normalise alike: RFC 7644 §3.5.1 has PUT ignore readOnly values and require
required ones, exactly as POST does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidSyntax, InvalidValue, UndefinedAttribute
from .schemas import COMMON, Attribute, ResourceType, Schema
from .values import check_single_primary, coerce, json_type

# Multi-valued attributes kept outside the document as rows, so a change costs in proportion
# to its size: group `members` (the API reads them back from the store).
DEFERRED = frozenset({"members"})
# Members a client may echo back from a response but never sets: ignored on input.
IGNORED_KEYS = frozenset({"schemas", "id", "meta"})


@dataclass(frozen=True, slots=True)
class Normalized:
    """A request body, split into what the store keeps where.

    `doc` is the document; `members` the group's members as given (`{"value": id}` plus
    `type`/`$ref` when sent), empty for users; `password` the clear-text password for the
    directory to hash (writeOnly, returned=never: it must never reach a document).
    """

    doc: dict[str, Any]
    members: list[dict[str, Any]] = field(default_factory=list)
    password: str | None = None


def normalize(rt: ResourceType, body: Any, *, max_values: int | None = None) -> Normalized:
    """Validate and normalise a resource body. Raises InvalidSyntax or InvalidValue
    (values.TooManyValues past `max_values` elements in one multi-valued attribute).

    Ignored silently, as RFC 7643/7644 and Entra practice ask: `id`, `meta` and other
    readOnly attributes (§2.2), schema URNs that carry no attributes we know (Entra's
    ADSCIM group URN), nulls and empty lists. Refused: unknown attributes, wrong types,
    a missing required attribute, two primaries.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax(f"a {rt.name} must be a JSON object, got {json_type(body)}")
    _check_schemas(body.get("schemas"))
    try:
        return _normalized(rt, body, max_values)
    except UndefinedAttribute as exc:
        raise exc.about(subject_of(rt, body)) from None


def subject_of(rt: ResourceType, doc: dict[str, Any]) -> str | None:
    """How an administrator knows the resource: its userName (displayName for a group),
    else its externalId; None when the document has neither as a string."""
    for key in ("userName" if rt.is_user else "displayName", "externalId"):
        value = doc.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _normalized(rt: ResourceType, body: dict[str, Any], max_values: int | None) -> Normalized:
    doc: dict[str, Any] = {}
    members: list[dict[str, Any]] = []
    password: str | None = None
    seen: set[tuple[str, str]] = set()
    for schema, key, value in _attribute_items(rt, body):
        attr = _lookup(schema, key, rt)
        if (schema.id, attr.name) in seen:
            raise InvalidValue(f"attribute '{attr.name}' given twice")
        seen.add((schema.id, attr.name))
        if attr.mutability == "readOnly":
            continue
        deferred = attr.name in DEFERRED and schema is rt.schema
        # Deferred attributes are rows, not document values: their size is bounded by the
        # request (payload, Bulk limits), and what they cost is proportional to the change.
        coerced = coerce(attr, value, attr.name, max_values=None if deferred else max_values)
        if deferred:
            members = referenced_elements(attr, coerced)
        elif attr.returned == "never":  # password: hashed by the directory, never stored
            password = coerced
        elif coerced is not None:
            container = doc if schema is rt.schema else doc.setdefault(schema.id, {})
            container[attr.name] = coerced
    return Normalized(finalize(rt, doc), members, password)


def referenced_elements(
    attr: Attribute, elements: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """Coerced elements of a deferred attribute, each of which must name its `value`."""
    for element in elements or ():
        if "value" not in element:
            raise InvalidValue(f"each of '{attr.name}' needs a 'value'")
    return list(elements or ())


def finalize(rt: ResourceType, doc: dict[str, Any]) -> dict[str, Any]:
    """Restore the document invariants after any change: `schemas` first and truthful,
    no empty extension objects, required attributes present, at most one primary."""
    blocks = {k: v for k, v in doc.items() if rt.schema_for(k) is not None}
    body = {k: v for k, v in doc.items() if k != "schemas" and k not in blocks}
    result: dict[str, Any] = {"schemas": [rt.schema.id]}
    kept: list[str] = []
    for extension in rt.extensions:
        if _block(blocks, extension.id):
            result["schemas"].append(extension.id)
    if rt.keeps_undeclared:  # undeclared extensions, after the defined ones
        kept = [k for k, v in blocks.items() if v and rt.extension(k) is None]
        result["schemas"].extend(kept)
    result.update(body)
    for extension in rt.extensions:
        if block := _block(blocks, extension.id):
            result[extension.id] = block
    result.update((k, blocks[k]) for k in kept)
    _check_required(rt, result)
    _check_primaries(rt, result)
    return result


def _block(blocks: dict[str, Any], urn: str) -> Any:
    """An extension's object, under its URN as defined or as a document stored before the
    definition spelt it (a kept undeclared extension, defined since in other case)."""
    found = blocks.get(urn)
    if found is None:
        lurn = urn.lower()
        found = next((v for k, v in blocks.items() if k.lower() == lurn), None)
    return found


def _check_schemas(schemas: Any) -> None:
    """`schemas` is optional here (the endpoint already names the resource type) but, when
    present, must be what RFC 7643 §3 says: a list of URIs."""
    if schemas is None:
        return
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise InvalidValue("'schemas' must be an array of URI strings")


def _attribute_items(rt: ResourceType, body: dict[str, Any]) -> list[tuple[Schema, str, Any]]:
    """(schema, attribute name, value) for every attribute in a body, wherever it was put:
    top level, inside an extension object, or as a urn-prefixed top-level key."""
    items: list[tuple[Schema, str, Any]] = []
    for key, value in body.items():
        if key.lower() in IGNORED_KEYS:
            continue
        extension = rt.schema_for(key)
        if extension is not None:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise InvalidValue(f"'{key}' must be an object, got {json_type(value)}")
            # Client libraries (python-scim) serialise an extension object with its own
            # `schemas`; it says nothing the enclosing key does not.
            items.extend((extension, k, v) for k, v in value.items() if k.lower() != "schemas")
            continue
        urn, colon, name = key.rpartition(":")
        if not colon:
            items.append((rt.schema, key, value))
            continue
        schema = rt.schema if urn.lower() == rt.schema.id.lower() else rt.schema_for(urn)
        if schema is None:
            # An object under an undefined extension's URN (Entra nests extension attributes
            # so): custom attributes are never complex, so its members are the attributes
            # meant, and the first one is named.
            named = [k for k in value if k.lower() != "schemas"] if isinstance(value, dict) else []
            raise UndefinedAttribute(rt.name, f"{key}:{named[0]}" if named else key)
        items.append((schema, name, value))
    return items


def _lookup(schema: Schema, name: str, rt: ResourceType) -> Attribute:
    attr = schema.attribute(name)
    if attr is None and schema is rt.schema:
        attr = next((a for a in COMMON if a.name.lower() == name.lower()), None)
    if attr is None and schema.custom:
        raise UndefinedAttribute(rt.name, f"{schema.id}:{name}")
    if attr is None:
        raise InvalidValue(f"unknown attribute '{name}'")
    return attr


def _check_required(rt: ResourceType, doc: dict[str, Any]) -> None:
    """RFC 7643 §7 `required`: userName for users, displayName for groups."""
    for schema in (rt.schema, *rt.extensions):
        container = doc if schema is rt.schema else doc.get(schema.id, {})
        for attr in schema.attributes:
            value = container.get(attr.name)
            if attr.required and (value is None or (isinstance(value, str) and not value.strip())):
                raise InvalidValue(f"required attribute '{attr.name}' is missing")


def _check_primaries(rt: ResourceType, doc: dict[str, Any]) -> None:
    for schema in (rt.schema, *rt.extensions):
        container = doc if schema is rt.schema else doc.get(schema.id, {})
        for attr in schema.attributes:
            if attr.multi_valued and attr.name in container:
                check_single_primary(attr, container[attr.name], attr.name)
