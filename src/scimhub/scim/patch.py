"""PATCH (RFC 7644 §3.5.2): parsing a PatchOp message and applying it to a document.

`apply_patch` is pure: it copies the document, applies the operations in order and raises
the first error, so the caller's transaction makes the request atomic. Values pass through
the same rules as POST (`values.coerce`), and the result passes `resource.finalize`, so a
patched document obeys the same invariants as a created one.

Deferred attributes (group `members`) are not in the document: operations on them come
back as `MemberChange`s, in order, for the store to apply as row inserts and deletes whose
cost is proportional to the change, not to the group.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import ast, dialects
from .bind import bind_filter
from .errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
    UndefinedAttribute,
)
from .evaluate import element_matches
from .filter import parse_path
from .resource import DEFERRED, IGNORED_KEYS, finalize, referenced_elements, subject_of
from .schemas import Attribute, ResourceType, Schema, has_schema, resolve
from .values import check_count, coerce, coerce_one, value_key

PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
_OP_KEYS = frozenset({"op", "path", "value"})


@dataclass(frozen=True, slots=True)
class PatchOp:
    """One operation; `value` is the raw JSON value (None when absent or null)."""

    op: str  # add | remove | replace
    path: ast.PatchPath | None = None
    value: Any = None


@dataclass(frozen=True, slots=True)
class MemberChange:
    """A change to a deferred attribute (group `members`), for the store to apply.

    `add`/`replace` carry `values` (member ids). `remove` carries `values` when the
    request named ids, `filter` (over member sub-attributes) when it selected members
    otherwise, and neither when it removes every member.
    """

    op: str  # add | remove | replace
    values: list[str] | None = None
    filter: ast.Filter | None = None


@dataclass(frozen=True, slots=True)
class PatchResult:
    """The patched document, the member changes, whether the document itself changed, and
    the new clear-text password if the patch set one (never part of the document)."""

    doc: dict[str, Any]
    deferred: list[MemberChange] = field(default_factory=list)
    changed: bool = False
    password: str | None = None


def parse_patch(body: Any) -> list[PatchOp]:
    """Validate a PatchOp message (§3.5.2). Raises InvalidSyntax, InvalidPath, NoTarget or
    InvalidValue. Op names are case-insensitive (`dialects.op_name`)."""
    if not isinstance(body, dict):
        raise InvalidSyntax("a PATCH body must be a JSON object")
    members = _lower_keys(body, "the PATCH body")
    schemas = members.get("schemas")
    if not has_schema(schemas, PATCH_OP_URN):
        raise InvalidSyntax(f"'schemas' must contain '{PATCH_OP_URN}'")
    operations = members.get("operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("'Operations' must be a non-empty array")
    return [_parse_op(number, raw) for number, raw in enumerate(operations, 1)]


def _parse_op(number: int, raw: Any) -> PatchOp:
    where = f"operation {number}"
    if not isinstance(raw, dict):
        raise InvalidSyntax(f"{where} must be an object")
    fields = _lower_keys(raw, where)
    if unknown := fields.keys() - _OP_KEYS:
        raise InvalidSyntax(f"{where} has unknown member(s) {sorted(unknown)}")
    op = dialects.op_name(fields.get("op"))
    if op is None:
        raise InvalidSyntax(f"{where}: 'op' must be add, remove or replace")
    raw_path, value = fields.get("path"), fields.get("value")
    if raw_path is not None and not isinstance(raw_path, str):
        raise InvalidPath(f"{where}: 'path' must be a string")
    if op == "remove" and raw_path is None:
        raise NoTarget(f"{where}: 'remove' needs a 'path' (RFC 7644 §3.5.2.2)")
    if op != "remove" and value is None:
        raise InvalidValue(f"{where}: '{op}' needs a 'value'")
    return PatchOp(op, _parse_op_path(where, raw_path), value)


def _parse_op_path(where: str, raw: str | None) -> ast.PatchPath | None:
    if raw is None:
        return None
    try:
        return parse_path(raw)
    except InvalidPath as error:
        raise InvalidPath(f"{where}: {error.detail}") from None


def _lower_keys(obj: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Message member names are case-insensitive (RFC 7643 §2.1); a name twice is an error."""
    lowered: dict[str, Any] = {}
    for key, value in obj.items():
        if key.lower() in lowered:
            raise InvalidSyntax(f"{where} has '{key}' twice")
        lowered[key.lower()] = value
    return lowered


def apply_patch(
    rt: ResourceType,
    doc: Mapping[str, Any],
    ops: Sequence[PatchOp],
    *,
    deferred: frozenset[str] = DEFERRED,
    max_values: int | None = None,
    resource_id: str | None = None,
) -> PatchResult:
    """Apply `ops` in order to a copy of `doc`; the first failure raises (§3.5.2).

    `max_values` bounds every multi-valued attribute of the document after each operation
    (values.TooManyValues), so no operation works on an attribute larger than that.
    `resource_id`: the resource's id, which a path-less value may echo (Okta's group
    rename does) but not change.
    """
    patcher = _Patcher(rt, copy.deepcopy(dict(doc)), deferred, max_values, resource_id)
    for number, op in enumerate(ops, 1):
        try:
            patcher.apply(op)
        except UndefinedAttribute as error:
            raise error.about(subject_of(rt, dict(doc))).prefixed(f"operation {number}: ") from None
        except ScimError as error:
            raise error.prefixed(f"operation {number}: ") from None
    result = finalize(rt, patcher.doc)
    return PatchResult(result, patcher.changes, result != doc, patcher.password)


@dataclass(frozen=True, slots=True)
class _Target:
    """A resolved PATCH path: where it points and what is addressed there."""

    path: ast.PatchPath
    schema: Schema | None
    attribute: Attribute
    sub: Attribute | None  # `name.givenName`, or the `.value` after `emails[...]`
    condition: ast.Filter | None  # bound value filter, sub-attribute names canonical

    @property
    def selects_elements(self) -> bool:
        """`emails[...]`, `emails[...].value` and `emails.value` address elements."""
        return self.attribute.multi_valued and (self.condition is not None or self.sub is not None)


class _Patcher:
    def __init__(
        self,
        rt: ResourceType,
        doc: dict[str, Any],
        deferred: frozenset[str],
        max_values: int | None,
        resource_id: str | None = None,
    ):
        self.rt = rt
        self.doc = doc
        self.deferred = deferred
        self.max_values = max_values
        self.resource_id = resource_id
        self.changes: list[MemberChange] = []
        self.password: str | None = None

    def apply(self, op: PatchOp) -> None:
        if op.path is None:
            self.apply_object(op.op, op.value)
        elif (extension := _whole_extension(self.rt, op.path)) is not None:
            self.apply_extension(op, extension)
        else:
            self.apply_at(op.op, self.target(op.path), op.value)

    def apply_object(self, op: str, value: Any) -> None:
        """A path-less add/replace: each attribute of the value in turn (§3.5.2.1)."""
        if not isinstance(value, dict):
            raise InvalidValue(f"a path-less '{op}' takes an object of attributes")
        for key, item in dialects.pathless_items(self.rt, value):
            if key.lower() == "id" and self.resource_id is not None and item != self.resource_id:
                raise Mutability("'id' is read-only: the value names another resource")
            if key.lower() not in IGNORED_KEYS:
                self.apply_at(op, self.target(parse_path(key)), item)

    def apply_extension(self, op: PatchOp, extension: Schema) -> None:
        """A path naming a whole extension, as scim2-tester sends: `remove` drops it,
        `replace` makes it exactly the value, `add` merges the value's attributes in."""
        if op.op != "add":
            self.doc.pop(extension.id, None)
        if op.op != "remove":
            if not isinstance(op.value, dict):
                raise InvalidValue(f"'{extension.id}' takes an object of attributes")
            self.apply_object("add", {extension.id: op.value})

    def target(self, path: ast.PatchPath) -> _Target:
        if path.filter is not None and path.path.sub is not None:
            raise InvalidPath(
                f"'{path.path}[...]': a filter applies to an attribute, not a sub-attribute"
            )
        found = resolve(self.rt, path.path)
        sub = found.sub
        if path.sub_after_filter is not None:
            sub = found.attribute.sub(path.sub_after_filter)
            if sub is None:
                raise InvalidPath(
                    f"unknown sub-attribute '{found.attribute.name}.{path.sub_after_filter}'"
                )
        condition = (
            _element_filter(self.rt, path.path, path.filter) if path.filter is not None else None
        )
        return _Target(path, found.schema, found.attribute, sub, condition)

    def apply_at(self, op: str, target: _Target, value: Any) -> None:
        attr = target.attribute
        if attr.name in self.deferred and target.schema is self.rt.schema:
            self.changes.append(_member_change(self.rt, op, target, value))
            return
        if attr.mutability == "readOnly" or (target.sub and target.sub.mutability == "readOnly"):
            raise Mutability(f"'{_show(target.path)}' is read-only")
        if attr.returned == "never":  # password: handed to the directory, never stored
            self.password = self.new_password(op, target, value)
            return
        container = self.container(target.schema, create=op != "remove")
        if container is None:
            return
        if target.selects_elements:
            _patch_elements(op, container, target, value)
        elif target.sub is not None:
            _patch_sub(op, container, attr, target.sub, value)
        else:
            _patch_whole(op, container, attr, value, self.rt, self.max_values)
        if attr.multi_valued and op != "remove":  # removals may shrink what predates a bound
            check_count(len(container.get(attr.name) or ()), attr.name, self.max_values)

    def new_password(self, op: str, target: _Target, value: Any) -> str:
        if op == "remove":
            raise Mutability("'password' can be replaced but not removed")
        password: str | None = coerce(target.attribute, value, target.attribute.name)
        if not password:
            raise InvalidValue("'password' must be a non-empty string")
        return password

    def container(self, schema: Schema | None, *, create: bool) -> dict[str, Any] | None:
        """The dict holding the schema's attributes: the document, or its extension object."""
        if schema is None or schema is self.rt.schema:
            return self.doc
        extension: dict[str, Any] | None = (
            self.doc.setdefault(schema.id, {}) if create else self.doc.get(schema.id)
        )
        return extension


def _whole_extension(rt: ResourceType, path: ast.PatchPath) -> Schema | None:
    """The extension a path names as a whole; the grammar read its last URN segment
    (`User`) as an attribute name."""
    plain = path.filter is None and path.sub_after_filter is None and path.path.sub is None
    if not plain or path.path.urn is None:
        return None
    return rt.schema_for(f"{path.path.urn}:{path.path.attr}")


def _element_filter(rt: ResourceType, path: ast.AttrPath, condition: ast.Filter) -> ast.Filter:
    """A value filter bound to the sub-attributes of `path`, names made canonical; a filter
    naming what the attribute lacks makes the PATCH path invalid (§3.5.2: invalidPath)."""
    try:
        bound = bind_filter(rt, ast.ValuePath(path, condition))
    except InvalidFilter as error:
        raise InvalidPath(error.detail) from None
    assert isinstance(bound, ast.ValuePath)  # binding keeps a node's kind
    return bound.filter


def _patch_whole(
    op: str,
    container: dict[str, Any],
    attr: Attribute,
    value: Any,
    rt: ResourceType,
    max_values: int | None,
) -> None:
    """`emails`, `name`, `active`: §3.5.2.1-3 for a whole attribute."""
    if op == "remove" and attr.multi_valued and value is not None:
        condition = _element_filter(rt, ast.AttrPath(attr.name), dialects.removal_filter(value))
        _select_and_remove(container, attr, condition, None)
        return
    if op == "remove":
        container.pop(attr.name, None)
        return
    new = coerce(attr, value, attr.name, max_values=max_values)
    old = container.get(attr.name)
    if attr.multi_valued and op == "add" and old:
        known = {value_key(element) for element in old}
        fresh = [element for element in new or () if value_key(element) not in known]
        merged = [*old, *fresh]
        _store(container, attr, _with_primary(merged, range(len(old), len(merged))))
    elif attr.multi_valued:
        _store(container, attr, new)
    elif attr.type == "complex" and isinstance(old, dict):
        # Both add and replace merge sub-attributes into a complex value (§3.5.2.1, §3.5.2.3).
        _store(container, attr, {**old, **(new or {})})
    else:
        _store(container, attr, new)


def _patch_sub(
    op: str, container: dict[str, Any], attr: Attribute, sub: Attribute, value: Any
) -> None:
    """`name.givenName`, `urn:...:User:manager.value` on a single-valued complex attribute."""
    parent = dict(container.get(attr.name) or {})
    if op == "remove":
        parent.pop(sub.name, None)
    else:
        parent[sub.name] = coerce_one(sub, value, f"{attr.name}.{sub.name}")
    _store(container, attr, {k: v for k, v in parent.items() if v is not None})


def _patch_elements(op: str, container: dict[str, Any], target: _Target, value: Any) -> None:
    """`emails[type eq "work"]`, `emails[type eq "work"].value`, `emails.value`."""
    attr, sub, condition = target.attribute, target.sub, target.condition
    if op == "remove":
        _select_and_remove(container, attr, condition, sub)
        return
    elements: list[Any] = list(container.get(attr.name) or ())
    chosen = [
        i
        for i, e in enumerate(elements)
        if condition is None or element_matches(attr, condition, e)
    ]
    if not chosen:
        elements.append(_created_element(target, value))
        chosen = [len(elements) - 1]
    for i in chosen:
        elements[i] = _updated_element(op, target, elements[i], value)
    _store(container, attr, [e for e in _with_primary(elements, chosen) if e])


def _created_element(target: _Target, value: Any) -> dict[str, Any]:
    """Entra's create-on-no-match (`dialects.element_from_filter`), else noTarget (§3.5.2.3)."""
    described = (
        dialects.element_from_filter(target.condition)
        if target.condition is not None and target.sub is not None
        else None
    )
    if described is None or target.sub is None:
        raise NoTarget(f"no element of '{target.attribute.name}' matches '{_show(target.path)}'")
    # The element is coerced as a whole below, so the described values are checked too.
    return {key: val for key, val in described.items() if key != target.sub.name}


def _updated_element(
    op: str, target: _Target, element: dict[str, Any], value: Any
) -> dict[str, Any]:
    attr, sub = target.attribute, target.sub
    if sub is not None:
        updated = {**element, sub.name: value}
    elif op == "add":
        updated = {**element, **(coerce_one(attr, value, attr.name) or {})}
    else:
        updated = coerce_one(attr, value, attr.name) or {}
    return coerce_one(attr, updated, attr.name) or {}


def _select_and_remove(
    container: dict[str, Any], attr: Attribute, condition: ast.Filter | None, sub: Attribute | None
) -> None:
    """Remove the chosen elements, or their `sub`; a filter matching nothing is a no-op."""
    kept: list[Any] = []
    for element in container.get(attr.name) or ():
        if condition is not None and not element_matches(attr, condition, element):
            kept.append(element)
        elif sub is not None:
            rest = {k: v for k, v in element.items() if k != sub.name}
            kept.extend([rest] if rest else [])
    _store(container, attr, kept)


def _with_primary(elements: list[Any], written: Iterable[int]) -> list[Any]:
    """If an element just written is primary, the others stop being primary, in place
    (RFC 7643 §2.4: at most one primary value)."""
    written = set(written)
    if not any(_is_primary(elements[i]) for i in written):
        return elements
    return [
        {k: v for k, v in e.items() if k != "primary"} if i not in written and _is_primary(e) else e
        for i, e in enumerate(elements)
    ]


def _is_primary(element: Any) -> bool:
    return isinstance(element, dict) and element.get("primary") is True


def _store(container: dict[str, Any], attr: Attribute, value: Any) -> None:
    """Set an attribute, or drop it when unassigned: the document never holds empties."""
    if value in (None, [], {}):
        container.pop(attr.name, None)
    else:
        container[attr.name] = value


def _member_change(rt: ResourceType, op: str, target: _Target, value: Any) -> MemberChange:
    attr = target.attribute
    if target.sub is not None:
        raise Mutability(
            f"'{_show(target.path)}': member sub-attributes are immutable; "
            "add or remove members instead"
        )
    if op != "remove":
        if target.condition is not None:
            raise Mutability(
                f"'{_show(target.path)}': members are added or removed, not modified in place"
            )
        elements = referenced_elements(attr, coerce(attr, value, attr.name))
        return MemberChange(op, values=_unique(e["value"] for e in elements))
    condition = target.condition
    if condition is None and value is not None:
        condition = _element_filter(rt, ast.AttrPath(attr.name), dialects.removal_filter(value))
    if condition is None:
        return MemberChange("remove")
    ids = _member_ids(condition)
    return (
        MemberChange("remove", values=ids)
        if ids is not None
        else MemberChange("remove", filter=condition)
    )


def _member_ids(condition: ast.Filter) -> list[str] | None:
    """The ids a `value eq "a" or value eq "b"` filter names; None for any other filter."""
    if isinstance(condition, ast.Or):
        left, right = _member_ids(condition.left), _member_ids(condition.right)
        return None if left is None or right is None else _unique([*left, *right])
    if (
        isinstance(condition, ast.Compare)
        and condition.op == "eq"
        and condition.path == ast.AttrPath("value")
        and isinstance(condition.value, str)
    ):
        return [condition.value]
    return None


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))


def _show(path: ast.PatchPath) -> str:
    text = str(path.path)
    if path.filter is not None:
        text += "[...]"
    return f"{text}.{path.sub_after_filter}" if path.sub_after_filter else text
