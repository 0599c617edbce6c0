"""Microsoft Entra ID's departures from RFC 7644, each accepted here and nowhere else.

Entra's provisioning service speaks two PATCH dialects (reference: identity-sync-facts.md
§4): the default one, and the one selected by the `aadOptscim062020` URL flag. Both must be
accepted, and a request never says which it uses, so there is no mode switch: every quirk
below is unambiguous and always on. Each function names the quirk it absorbs, so the rest
of the package sees only RFC-shaped input.

- `op_name`: capitalised op names `Add`/`Replace`/`Remove` (default dialect);
- `boolean_text`: booleans as the strings `"True"`/`"False"`, e.g. `active` (default);
- `single_complex`: `manager` as a plain string or a one-element list (both);
- `removal_filter`: member removal as `{"op":"Remove","path":"members","value":[...]}`
  (default; the 062020 dialect uses the RFC's `members[value eq "id"]` path instead);
- `pathless_items`: one path-less `replace` whose keys are dotted or urn-qualified paths
  such as `"name.givenName"` (062020);
- `element_from_filter`: `emails[type eq "work"].value` on a user without a work email
  creates that email (both).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from . import ast
from .errors import InvalidValue
from .schemas import Attribute, ResourceType

_OPS = frozenset({"add", "remove", "replace"})
_BOOLEANS = {"true": True, "false": False}


def op_name(raw: Any) -> str | None:
    """`"Add"` → `"add"`: RFC 7644 §3.5.2 spells ops in lower case; Entra capitalises them."""
    if isinstance(raw, str) and raw.lower() in _OPS:
        return raw.lower()
    return None


def boolean_text(text: str) -> bool | None:
    """`"False"` → False: Entra's default dialect sends `active` as a string."""
    return _BOOLEANS.get(text.lower())


def single_complex(attr: Attribute, value: Any) -> Any:
    """Entra sends the enterprise `manager` as `"id"`, `{"value": "id"}` or `[{"value": "id"}]`;
    for a single-valued complex attribute with a `value` sub-attribute, all mean the second."""
    if attr.type != "complex" or attr.multi_valued or attr.sub("value") is None:
        return value
    if isinstance(value, str):
        return {"value": value}
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        return value[0]
    return value


def removal_filter(value: Any) -> ast.Filter:
    """Rewrite Entra's `remove` with a `value` array into the RFC's value filter.

    `{"path": "members", "value": [{"value": "a"}, {"value": "b"}]}` selects the same
    elements as the path `members[value eq "a" or value eq "b"]`: each given object
    matches the elements that agree with all of its sub-attributes.
    """
    items = value if isinstance(value, list) else [value]
    if not items:
        raise InvalidValue("'remove' with a value needs at least one element to remove")
    return ast.any_of([_all_equal(item) for item in items])


def _all_equal(item: Any) -> ast.Filter:
    if not isinstance(item, dict) or not item:
        raise InvalidValue('elements to remove must be objects such as {"value": "id"}')
    comparisons: list[ast.Filter] = []
    for key, scalar in item.items():
        if not isinstance(scalar, str | int | float | bool):
            raise InvalidValue(f"element to remove has a non-scalar '{key}'")
        comparisons.append(ast.Compare(ast.AttrPath(key), "eq", scalar))
    return ast.all_of(comparisons)


def pathless_items(rt: ResourceType, value: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """The (path, value) pairs of a path-less add/replace.

    RFC 7644 §3.5.2.1 gives the value as a partial resource: attribute names, and extension
    attributes inside an object under the extension URN. Entra's 062020 dialect also uses
    paths as keys (`"name.givenName"`, `"urn:...:enterprise:2.0:User:department"`), so every
    key is read as a path, and an extension object contributes one path per member.
    """
    for key, item in value.items():
        extension = rt.schema_for(key)  # defined, or kept when the org keeps undeclared
        if isinstance(item, dict) and (extension is not None or _unknown_urn(rt, key)):
            for sub_key, sub_item in item.items():
                if sub_key.lower() != "schemas":  # as in resource.normalize
                    yield f"{extension.id if extension else key}:{sub_key}", sub_item
        else:
            yield key, item


def _unknown_urn(rt: ResourceType, key: str) -> bool:
    """A URN that is no schema of `rt` and names no attribute of one: an object under it is
    an undefined extension's (custom attributes are never complex), read member by member
    so that the error names the attribute meant, not the URN."""
    lowered = key.lower()
    return lowered.startswith("urn:") and not any(
        lowered.startswith(f"{s.id.lower()}:") for s in (rt.schema, *rt.extensions)
    )


def element_from_filter(condition: ast.Filter) -> dict[str, ast.Scalar] | None:
    """The element `emails[type eq "work"]` describes, when the filter pins it down.

    Entra replaces `emails[type eq "work"].value` on users that have no work email yet and
    relies on the element being created (reference §4). Only a conjunction of `eq`
    comparisons on sub-attributes describes an element unambiguously; anything else → None.
    """
    if isinstance(condition, ast.And):
        left = element_from_filter(condition.left)
        right = element_from_filter(condition.right)
        if left is None or right is None or left.keys() & right.keys():
            return None
        return {**left, **right}
    if (
        isinstance(condition, ast.Compare)
        and condition.op == "eq"
        and condition.value is not None
        and condition.path.sub is None
    ):
        return {condition.path.attr: condition.value}
    return None
