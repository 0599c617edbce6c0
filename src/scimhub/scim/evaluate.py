"""Evaluating filters on in-memory documents (RFC 7644 §3.4.2.2 semantics).

PATCH uses this to select elements of multi-valued attributes (`emails[type eq "work"]`);
tests use it as the reference semantics that the store's SQL translation must agree with.
The rules, which the SQL translation follows too:

- strings compare case-insensitively unless the attribute is caseExact (RFC 7643 §2.3.1);
  dateTimes compare as instants, numbers as numbers, booleans only for (in)equality;
- a path reaching several values (`emails.value`) matches when any of them does;
- `ne` is the negation of `eq`: an absent attribute is "not equal" to any value;
- `eq null` holds exactly when the attribute is absent, `ne null` when it is present;
- `pr` holds when the attribute has a non-empty value (RFC 7644 §3.4.2.2, Table 3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from . import ast
from .bind import bind_filter
from .schemas import Attribute, ResourceType, resolve
from .values import parse_datetime

_Lookup = Callable[[ast.AttrPath], tuple[Attribute, list[Any]]]


def matches(rt: ResourceType, tree: ast.Filter, doc: Mapping[str, Any]) -> bool:
    """Whether a resource document satisfies a filter. Raises InvalidFilter if unbindable."""
    bound = bind_filter(rt, tree)

    def lookup(path: ast.AttrPath) -> tuple[Attribute, list[Any]]:
        found = resolve(rt, path)
        container = doc.get(path.urn, {}) if path.urn else doc
        return found.target, _flatten(container.get(found.attribute.name), found.sub)

    return _evaluate(bound, lookup, doc)


def element_matches(attr: Attribute, tree: ast.Filter, element: Mapping[str, Any]) -> bool:
    """Whether one element of multi-valued `attr` satisfies a value filter (`type eq "work"`),
    whose paths name sub-attributes. Unknown sub-attributes simply match nothing: callers
    check names first (`bind_filter`, or the PATCH path resolution)."""

    def lookup(path: ast.AttrPath) -> tuple[Attribute, list[Any]]:
        sub = attr.sub(path.attr)
        if sub is None:
            return attr, []
        return sub, _flatten(_get(element, sub.name), None)

    return _evaluate(tree, lookup, element)


def value_at(rt: ResourceType, doc: Mapping[str, Any], target: ast.PatchPath) -> Any:
    """What a PATCH path names in a document, for comparing documents attribute by
    attribute: the value, the selected elements' values (`emails[type eq "work"].value`)
    as a list, or None when absent. Raises InvalidPath/UndefinedAttribute like a PATCH."""
    found = resolve(rt, target.path)
    extension = found.schema is not None and found.schema is not rt.schema
    container = _get(doc, found.schema.id) if extension and found.schema else doc
    value = _get(container, found.attribute.name)
    if target.filter is None:
        return _get(value, found.sub.name) if found.sub is not None else value
    chosen = [
        e
        for e in (value if isinstance(value, list) else [])
        if isinstance(e, Mapping) and element_matches(found.attribute, target.filter, e)
    ]
    sub = found.attribute.sub(target.sub_after_filter) if target.sub_after_filter else None
    values = _flatten(chosen, sub) if target.sub_after_filter else chosen
    return values or None


def _evaluate(tree: ast.Filter, lookup: _Lookup, doc: Mapping[str, Any]) -> bool:
    if isinstance(tree, ast.And):
        return _evaluate(tree.left, lookup, doc) and _evaluate(tree.right, lookup, doc)
    if isinstance(tree, ast.Or):
        return _evaluate(tree.left, lookup, doc) or _evaluate(tree.right, lookup, doc)
    if isinstance(tree, ast.Not):
        return not _evaluate(tree.expr, lookup, doc)
    if isinstance(tree, ast.ValuePath):
        attr, elements = lookup(tree.path)
        return any(
            isinstance(e, Mapping) and element_matches(attr, tree.filter, e) for e in elements
        )
    target, values = lookup(tree.path)
    if isinstance(tree, ast.Present):
        return any(_non_empty(v) for v in values)
    if tree.value is None:
        return bool(values) == (tree.op == "ne")
    if tree.op == "ne":
        return not any(_compare(target, "eq", v, tree.value) for v in values)
    return any(_compare(target, tree.op, v, tree.value) for v in values)


def _compare(target: Attribute, op: str, actual: Any, expected: ast.Scalar) -> bool:
    """`actual op expected` (op is not `ne`) under the attribute's type and caseExact;
    mismatched types (a stored value that is not what the schema says) never match."""
    if target.type == "dateTime":
        return _ordered(op, _instant(actual), _instant(expected))
    if isinstance(actual, str) and isinstance(expected, str):
        if not target.case_exact:
            actual, expected = actual.casefold(), expected.casefold()
        return _TEXT[op](actual, expected)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return op == "eq" and actual is expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return _ordered(op, actual, expected)
    return False


def _ordered(op: str, left: Any, right: Any) -> bool:
    check = _ORDERING.get(op)
    return check is not None and left is not None and right is not None and check(left, right)


def _instant(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}
_TEXT: dict[str, Callable[[str, str], bool]] = {
    **_ORDERING,
    "co": lambda a, b: b in a,
    "sw": lambda a, b: a.startswith(b),
    "ew": lambda a, b: a.endswith(b),
}


def _get(container: Any, name: str) -> Any:
    return container.get(name) if isinstance(container, Mapping) else None


def _flatten(value: Any, sub: Attribute | None) -> list[Any]:
    """Every value a path reaches: the elements of a multi-valued attribute, or their
    sub-attribute values; absent values are left out."""
    items = value if isinstance(value, list) else [value]
    if sub is not None:
        items = [_get(item, sub.name) for item in items]
    return [item for item in items if item is not None]


def _non_empty(value: Any) -> bool:
    return value not in ("", [], {})
