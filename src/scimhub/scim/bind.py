"""Binding a parsed filter to a resource type (RFC 7644 §3.4.2.2): names and types checked.

`parse_filter` knows only the grammar. Before a filter is translated to SQL or evaluated,
`bind_filter` resolves every attribute path case-insensitively to its canonical spelling
and refuses comparisons the schema cannot honour, so consumers can trust the tree:

- attribute paths are canonical; `urn` is set only for extension attributes;
- a comparison on a multi-valued complex attribute without a sub-attribute compares its
  `value` (`emails co "@x"` means `emails.value co "@x"`, RFC 7644 §3.4.2.2 examples);
- inside `attr[...]` the paths name sub-attributes of `attr`;
- operators suit the attribute's type (no `gt` on booleans, §3.4.2.2: "invalidFilter"),
  values suit it too (a string for strings, a number for numbers, an xsd:dateTime string
  for dateTimes, true/false for booleans); `null` only with `eq`/`ne`.
"""

from __future__ import annotations

from . import ast, dialects
from .errors import InvalidFilter, InvalidPath, NotFilterable
from .schemas import ANY, Attribute, ResourceType, resolve
from .values import parse_datetime

_OPS_BY_TYPE = {
    "string": frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}),
    "reference": frozenset({"eq", "ne", "co", "sw", "ew"}),
    "binary": frozenset({"eq", "ne"}),
    "boolean": frozenset({"eq", "ne"}),
    "integer": frozenset({"eq", "ne", "gt", "ge", "lt", "le"}),
    "decimal": frozenset({"eq", "ne", "gt", "ge", "lt", "le"}),
    "dateTime": frozenset({"eq", "ne", "gt", "ge", "lt", "le"}),
}


def bind_filter(rt: ResourceType, tree: ast.Filter) -> ast.Filter:
    """The same filter with canonical names, checked against `rt`. Raises InvalidFilter."""
    return _bind(rt, tree, None)


def _bind(rt: ResourceType, tree: ast.Filter, within: Attribute | None) -> ast.Filter:
    if isinstance(tree, ast.And):
        return ast.And(_bind(rt, tree.left, within), _bind(rt, tree.right, within))
    if isinstance(tree, ast.Or):
        return ast.Or(_bind(rt, tree.left, within), _bind(rt, tree.right, within))
    if isinstance(tree, ast.Not):
        return ast.Not(_bind(rt, tree.expr, within))
    if isinstance(tree, ast.ValuePath):
        return _bind_value_path(rt, tree)
    path, target = _bind_path(rt, tree.path, within)
    if isinstance(tree, ast.Present):
        return ast.Present(path)
    return _bind_compare(tree, path, target)


def _bind_value_path(rt: ResourceType, tree: ast.ValuePath) -> ast.Filter:
    if tree.path.sub is not None:
        raise InvalidFilter(
            f"'{tree.path}[...]': a value filter applies to an attribute, not a sub-attribute"
        )
    path, attr = _bind_path(rt, tree.path, None)
    if attr.type != "complex" or not attr.multi_valued:
        raise InvalidFilter(
            f"'{path}' is not a multi-valued complex attribute; it cannot take [...]"
        )
    return ast.ValuePath(path, _bind(rt, tree.filter, attr))


def _bind_path(
    rt: ResourceType, path: ast.AttrPath, within: Attribute | None
) -> tuple[ast.AttrPath, Attribute]:
    """Canonical path and the attribute its comparison is about."""
    if within is not None:
        sub = within.sub(path.attr)
        if sub is None:
            raise InvalidFilter(f"unknown attribute '{within.name}.{path.attr}'")
        return ast.AttrPath(sub.name), sub
    try:
        found = resolve(rt, path)
    except InvalidPath as error:
        raise InvalidFilter(error.detail) from None
    if found.attribute.type == ANY:
        raise NotFilterable(rt.name, str(path))
    urn = found.schema.id if found.schema in rt.extensions else None
    sub_name = found.sub.name if found.sub else None
    return ast.AttrPath(found.attribute.name, sub_name, urn), found.target


def _bind_compare(tree: ast.Compare, path: ast.AttrPath, target: Attribute) -> ast.Filter:
    if target.type == "complex":
        value_sub = target.sub("value") if target.multi_valued else None
        if value_sub is None:
            raise InvalidFilter(f"'{path}' is complex; compare one of its sub-attributes")
        path, target = ast.AttrPath(path.attr, value_sub.name, path.urn), value_sub
    if tree.op not in _OPS_BY_TYPE[target.type]:
        raise InvalidFilter(f"'{tree.op}' does not apply to '{path}' ({target.type})")
    return ast.Compare(path, tree.op, _bind_value(tree, path, target))


def _bind_value(tree: ast.Compare, path: ast.AttrPath, target: Attribute) -> ast.Scalar:
    value = tree.value
    if value is None:
        if tree.op not in ("eq", "ne"):
            raise InvalidFilter(f"'{tree.op} null' is meaningless for '{path}'")
        return None
    if target.type == "boolean":
        flag = dialects.boolean_text(value) if isinstance(value, str) else value
        if isinstance(flag, bool):
            return flag
    elif target.type in ("integer", "decimal"):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    elif isinstance(value, str) and (target.type != "dateTime" or parse_datetime(value)):
        return value
    raise InvalidFilter(f"'{path}' is of type {target.type}; {value!r} cannot be compared with it")
