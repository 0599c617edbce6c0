"""SCIM filters (RFC 7644 §3.4.2.2) and `sortBy` translated into SQL expressions.

Rows are never filtered in Python: every filter, however nested, becomes one WHERE clause.
Indexed columns serve the attributes clients search most (id, userName, externalId,
displayName, active, meta dates); everything else is read from the JSON document, with
multi-valued attributes searched through the database's JSON array functions.

Each comparison is written so that it is never NULL (`x IS NOT NULL AND x = v`), which keeps
`not (...)` correct for resources that lack the attribute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    and_,
    column,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB

from ..scim import ast
from ..scim.errors import InvalidFilter, InvalidPath, NotFilterable
from ..scim.schemas import ANY, GROUP, USER, Attribute, ResourceType, Schema, resolve
from ..scim.values import parse_datetime
from .custom_values import utc_text
from .tables import custom_values, groups, memberships, users

_ORDERING = ("gt", "ge", "lt", "le")
_STRING_OPS = ("co", "sw", "ew")


class _Beyond(Enum):
    """A valid xsd:dateTime whose UTC instant falls outside years 1-9999, which no database
    column holds (`9999-12-31T23:59:59-10:00` is in year 10000 UTC): it is earlier or later
    than every stored time, so each comparison with it has a fixed answer."""

    EARLIER = "earlier"
    LATER = "later"


@dataclass(frozen=True, slots=True)
class _Column:
    expr: ColumnElement[Any]
    lowered: bool = False  # the column already holds lower(value)


_USER_COLUMNS = {
    "id": _Column(users.c.id),
    "externalid": _Column(users.c.external_id),
    "username": _Column(users.c.user_name_ci, lowered=True),
    "displayname": _Column(users.c.display_name),
    "active": _Column(users.c.active),
    "meta.created": _Column(users.c.created),
    "meta.lastmodified": _Column(users.c.last_modified),
}
_GROUP_COLUMNS = {
    "id": _Column(groups.c.id),
    "externalid": _Column(groups.c.external_id),
    "displayname": _Column(groups.c.display_name_ci, lowered=True),
    "meta.created": _Column(groups.c.created),
    "meta.lastmodified": _Column(groups.c.last_modified),
}


# An organisation's custom attribute -> the id its values are indexed under.
AttributeIds = Callable[[Schema, Attribute], str | None]


class FilterCompiler:
    """Compiles filters for one resource type on one SQL dialect. Custom attributes (an
    organisation's extensions) are looked up in `custom_values` by `attribute_ids`."""

    def __init__(
        self, rt: ResourceType, dialect: str, attribute_ids: AttributeIds | None = None
    ) -> None:
        self.rt = rt
        self.table = users if rt.is_user else groups
        self.columns = _USER_COLUMNS if rt.is_user else _GROUP_COLUMNS
        self.postgres = dialect == "postgresql"
        self.attribute_ids = attribute_ids

    # -- public -----------------------------------------------------------------------

    def where(self, node: ast.Filter) -> ColumnElement[bool]:
        try:
            return self._node(node)
        except InvalidPath as exc:
            raise InvalidFilter(exc.detail) from None

    def sort_key(self, path: ast.AttrPath) -> Any:
        try:
            res = resolve(self.rt, path)
        except InvalidPath as exc:
            raise InvalidFilter(f"sortBy: {exc.detail}") from None
        if res.attribute.type == ANY:
            raise NotFilterable(self.rt.name, str(path))
        key = _key(path, res.schema is None)
        if key in self.columns:
            return self.columns[key].expr
        if res.schema is not None and res.schema.custom:
            return self._custom_sort_key(res.schema, res.attribute)
        if res.attribute.multi_valued:
            if res.attribute.name in ("members", "groups"):
                raise InvalidFilter(f"cannot sort by '{res.attribute.name}'")
            sub = res.sub or res.attribute.sub("value")
            expr = self._json(path, res.attribute.name, 0, sub.name if sub else "value")
        else:
            expr = self._json_for(path, res.attribute, res.sub)
        target = res.target
        return func.lower(expr) if target.type == "string" and not target.case_exact else expr

    # -- nodes ------------------------------------------------------------------------

    def _node(self, node: ast.Filter) -> ColumnElement[bool]:
        match node:
            case ast.And(left, right):
                return and_(self._node(left), self._node(right))
            case ast.Or(left, right):
                return or_(self._node(left), self._node(right))
            case ast.Not(expr):
                return not_(self._node(expr))
            case ast.Present(path):
                return self._attr(path, None)
            case ast.Compare(path, op, value):
                return self._attr(path, (op, value))
            case ast.ValuePath(path, inner):
                return self._value_path(path, inner)
        raise InvalidFilter("unsupported filter")  # pragma: no cover - the tree is closed

    def _attr(self, path: ast.AttrPath, test: tuple[str, Any] | None) -> ColumnElement[bool]:
        res = resolve(self.rt, path)
        if res.schema is not None and res.schema.custom:
            return self._custom(res.schema, res.attribute, test)
        if res.attribute.multi_valued:
            sub = path.sub or "value"
            element = (
                ast.Present(ast.AttrPath(sub))
                if test is None
                else ast.Compare(ast.AttrPath(sub), *test)
            )
            return self._value_path(ast.AttrPath(path.attr, None, path.urn), element)
        if res.attribute.type == "complex" and res.sub is None:
            if test is None:
                return self._json_for(path, res.attribute, None).isnot(None)
            raise InvalidFilter(f"'{path.attr}' is complex: compare one of its sub-attributes")
        key = _key(path, res.schema is None)
        if key in self.columns:
            col = self.columns[key]
            return _test(col.expr, res.target, test, lowered=col.lowered)
        if key == "meta.resourcetype":
            return _test(literal(self.rt.name), res.target, test)
        if res.schema is None:
            raise InvalidFilter(f"'{key}' is not filterable")
        return _test(self._json_for(path, res.attribute, res.sub), res.target, test)

    def _value_path(self, path: ast.AttrPath, inner: ast.Filter) -> ColumnElement[bool]:
        res = resolve(self.rt, path)
        attr = res.attribute
        if res.schema is not None and res.schema.custom:
            raise InvalidFilter(f"'{attr.name}' has no sub-attributes to filter in [...]")
        if not attr.multi_valued:
            # `name[givenName eq "x"]` on a single complex attribute: test it in place.
            return self._in_complex(path, attr, inner)
        if attr.name == "members" and not self.rt.is_user:
            return self._memberships(inner, owner=memberships.c.group_id == groups.c.id)
        if attr.name == "groups" and self.rt.is_user:
            return self._memberships(inner, owner=memberships.c.member_id == users.c.id)
        elements = self._elements(path, attr)
        cond = _ElementCompiler(attr, lambda sub: self._element_field(elements, sub)).node(inner)
        return exists(select(literal(1)).select_from(elements).where(cond))

    def _in_complex(
        self, path: ast.AttrPath, attr: Attribute, inner: ast.Filter
    ) -> ColumnElement[bool]:
        def field(sub: Attribute) -> Any:
            return self._json_for(ast.AttrPath(attr.name, sub.name, path.urn), attr, sub)

        return _ElementCompiler(attr, field).node(inner)

    def _memberships(self, inner: ast.Filter, owner: ColumnElement[bool]) -> ColumnElement[bool]:
        cond = self.membership_condition(inner)
        return exists(select(literal(1)).select_from(memberships).where(owner, cond))

    def membership_condition(self, inner: ast.Filter) -> ColumnElement[bool]:
        """`inner` (from `members[...]` or `groups[...]`) as a condition on membership rows."""
        m = memberships

        def field(sub: Attribute) -> Any:
            if sub.name == "value":
                return m.c.group_id if self.rt.is_user else m.c.member_id
            if sub.name == "type":
                return literal("direct") if self.rt.is_user else m.c.member_type
            if sub.name == "display":
                if self.rt.is_user:
                    return (
                        select(groups.c.display_name)
                        .where(groups.c.id == m.c.group_id)
                        .scalar_subquery()
                    )
                return func.coalesce(
                    select(users.c.display_name)
                    .where(users.c.id == m.c.member_id)
                    .scalar_subquery(),
                    select(groups.c.display_name)
                    .where(groups.c.id == m.c.member_id)
                    .scalar_subquery(),
                )
            raise InvalidFilter(f"cannot filter on '{sub.name}' of a membership")

        name = "groups" if self.rt.is_user else "members"
        attr = resolve(self.rt, ast.AttrPath(name)).attribute
        try:
            return _ElementCompiler(attr, field).node(inner)
        except InvalidPath as exc:
            raise InvalidFilter(exc.detail) from None

    # -- custom attributes (rows of custom_values) -------------------------------------

    def _attribute_id(self, schema: Schema, attr: Attribute) -> str:
        found = self.attribute_ids(schema, attr) if self.attribute_ids else None
        if found is None:  # pragma: no cover - the resource type came with its ids
            raise InvalidFilter(f"'{schema.id}:{attr.name}' is not filterable")
        return found

    def _custom(
        self, schema: Schema, attr: Attribute, test: tuple[str, Any] | None
    ) -> ColumnElement[bool]:
        """A test on a custom attribute: whether one of the resource's value rows passes
        it (any value, for a multi-valued one), through the attribute's value index."""
        v = custom_values
        attribute_id = self._attribute_id(schema, attr)
        owner = self.table.c.id
        held = select(v.c.resource_id).where(v.c.attribute_id == attribute_id)
        # Presence is probed per resource on the primary key (resource_id, attribute_id), not
        # as an IN list of every value the attribute holds: most resources have it.
        present = exists(held.where(v.c.resource_id == owner))
        if test is None or test[1] is None:
            if test is not None and test[0] not in ("eq", "ne"):
                raise InvalidFilter(f"'{test[0]}' cannot compare with null")
            return not_(present) if test is not None and test[0] == "eq" else present
        op, value = test
        if op == "ne":
            return not_(self._custom(schema, attr, ("eq", value)))
        value = _coerce(attr, op, value)
        if isinstance(value, _Beyond):
            return present if _beyond_holds(op, value) else false()
        if attr.type in ("integer", "decimal", "boolean"):
            column, value = v.c.number_value, float(value)
        else:
            column = v.c.text_value
            if attr.type == "dateTime":
                value = utc_text(value)
            elif not attr.case_exact:
                value = value.lower()
            after = _prefix_end(value) if op == "sw" and not self.postgres else None
            if after is not None:
                # SQLite's LIKE is case-insensitive and never uses the value index (a
                # `? || '%'` pattern is no literal): the prefix's range is exact in its
                # binary order (UTF-8 bytes sort as code points), case-exact and indexed.
                return owner.in_(held.where(column >= value, column < after))
        return owner.in_(held.where(_compare(column, op, value)))

    def _custom_sort_key(self, schema: Schema, attr: Attribute) -> Any:
        v = custom_values
        column = (
            v.c.number_value if attr.type in ("integer", "decimal", "boolean") else v.c.text_value
        )
        return (
            select(func.min(column))
            .where(
                v.c.resource_id == self.table.c.id,
                v.c.attribute_id == self._attribute_id(schema, attr),
            )
            .scalar_subquery()
        )

    # -- JSON access ------------------------------------------------------------------

    def _json_for(
        self, path: ast.AttrPath, attr: Attribute, sub: Attribute | None
    ) -> ColumnElement[Any]:
        keys: list[Any] = []
        if path.urn and path.urn.lower() != self.rt.schema.id.lower():
            ext = self.rt.extension(path.urn)
            assert ext is not None  # resolve() checked it
            keys.append(ext.id)
        keys.append(attr.name)
        if sub is not None:
            keys.append(sub.name)
        return _typed(self.table.c.data[tuple(keys)], sub or attr)

    def _json(self, path: ast.AttrPath, *keys: Any) -> Any:
        return self.table.c.data[tuple(keys)].as_string()

    def _elements(self, path: ast.AttrPath, attr: Attribute) -> Any:
        if self.postgres:
            fn = func.jsonb_array_elements(self.table.c.data[attr.name])
            return fn.table_valued(column("value", JSONB)).alias("elem")
        return (
            func.json_each(self.table.c.data, f"$.{attr.name}").table_valued("value").alias("elem")
        )

    def _element_field(self, elements: Any, sub: Attribute) -> Any:
        if self.postgres:
            return _typed(elements.c.value[sub.name], sub)
        raw = func.json_extract(elements.c.value, f"$.{sub.name}")
        return raw if sub.type != "boolean" else raw.cast(Boolean)


class _ElementCompiler:
    """Compiles the filter inside `attr[...]`, whose paths name sub-attributes."""

    def __init__(self, attr: Attribute, field: Any) -> None:
        self.attr = attr
        self.field = field

    def node(self, node: ast.Filter) -> ColumnElement[bool]:
        match node:
            case ast.And(left, right):
                return and_(self.node(left), self.node(right))
            case ast.Or(left, right):
                return or_(self.node(left), self.node(right))
            case ast.Not(expr):
                return not_(self.node(expr))
            case ast.Present(path):
                return _test(self.field(self._sub(path)), self._sub(path), None)
            case ast.Compare(path, op, value):
                sub = self._sub(path)
                return _test(self.field(sub), sub, (op, value))
        raise InvalidFilter(f"nested value filters are not allowed inside '{self.attr.name}'")

    def _sub(self, path: ast.AttrPath) -> Attribute:
        name = path.sub if path.attr.lower() == self.attr.name.lower() and path.sub else path.attr
        sub = self.attr.sub(name) if path.urn is None else None
        if sub is None:
            raise InvalidFilter(f"unknown sub-attribute '{self.attr.name}.{name}'")
        return sub


def _key(path: ast.AttrPath, common: bool) -> str:
    name = path.attr.lower() if path.sub is None else f"{path.attr}.{path.sub}".lower()
    if (
        path.urn
        and not common
        and path.urn.lower() not in (USER.schema.id.lower(), GROUP.schema.id.lower())
    ):
        return f"{path.urn.lower()}:{name}"
    return name


def _typed(element: Any, attr: Attribute) -> ColumnElement[Any]:
    """A member of a JSON document read as the attribute's type. (`element` is Any: the
    `as_*()` methods belong to the JSON type's comparator, which SQLAlchemy's type hints do
    not show on a JSON column's elements.)"""
    typed: ColumnElement[Any]
    if attr.type == "boolean":
        typed = element.as_boolean()
    elif attr.type == "integer":
        typed = element.as_integer()
    elif attr.type == "decimal":
        typed = element.as_float()
    else:
        typed = element.as_string()
    return typed


def _test(
    expr: ColumnElement[Any],
    attr: Attribute,
    test: tuple[str, Any] | None,
    *,
    lowered: bool = False,
) -> ColumnElement[bool]:
    """`expr op value` (or presence when `test` is None), never NULL."""
    if test is None:
        present = expr.isnot(None)
        return and_(present, expr != "") if attr.type == "string" else present
    op, value = test
    if value is None:
        if op == "eq":
            return expr.is_(None)
        if op == "ne":
            return expr.isnot(None)
        raise InvalidFilter(f"'{op}' cannot compare with null")
    if op == "ne":
        return not_(_test(expr, attr, ("eq", value), lowered=lowered))
    value = _coerce(attr, op, value)
    if isinstance(value, _Beyond):
        return _beyond(expr, op, value)
    if attr.type in ("string", "reference", "binary") and not attr.case_exact:
        value = value.lower()
        expr = expr if lowered else func.lower(expr)
    return and_(expr.isnot(None), _compare(expr, op, value))


def _compare(expr: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    cond: ColumnElement[bool]
    match op:
        case "eq":
            cond = expr == value
        case "co":
            cond = expr.contains(value, autoescape=True)
        case "sw":
            cond = expr.startswith(value, autoescape=True)
        case "ew":
            cond = expr.endswith(value, autoescape=True)
        case "gt":
            cond = expr > value
        case "ge":
            cond = expr >= value
        case "lt":
            cond = expr < value
        case "le":
            cond = expr <= value
        case _:
            raise InvalidFilter(f"unknown operator '{op}'")
    return cond


def _prefix_end(prefix: str) -> str | None:
    """The least string after every string that starts with `prefix`, in code point order:
    its last character's successor (past the surrogates, which no text holds). None when
    there is none (an empty prefix, or one ending in U+10FFFF)."""
    if not prefix or prefix[-1] == "\U0010ffff":
        return None
    following = ord(prefix[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:
        following = 0xE000
    return prefix[:-1] + chr(following)


def _coerce(attr: Attribute, op: str, value: Any) -> Any:
    """Check that `value` fits the attribute's type and the operator (RFC 7644 §3.4.2.2)."""
    kind = attr.type
    if kind == "boolean":
        if op != "eq" or not isinstance(value, bool):
            raise InvalidFilter(f"'{attr.name}' is boolean: only 'eq true|false' applies")
        return value
    if kind in ("integer", "decimal"):
        if op in _STRING_OPS or isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidFilter(f"'{attr.name}' is numeric: compare it with a number")
        return value
    if kind == "complex":
        raise InvalidFilter(f"'{attr.name}' is complex: compare one of its sub-attributes")
    if not isinstance(value, str):
        raise InvalidFilter(f"'{attr.name}' is a {kind}: compare it with a string")
    if kind == "dateTime":
        return _utc(value)
    return value


def _utc(value: str) -> datetime | _Beyond:
    """A dateTime literal as the UTC instant stored timestamps are compared with (SQLite
    keeps them without an offset), or where it lies when that instant is out of range."""
    moment = parse_datetime(value)
    if moment is None:
        raise InvalidFilter(f"'{value}' is not an xsd:dateTime")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # only year 9999 minus an offset, or year 1 plus one, get here
        return _Beyond.LATER if moment.year == MAXYEAR else _Beyond.EARLIER


def _beyond(expr: ColumnElement[Any], op: str, value: _Beyond) -> ColumnElement[bool]:
    """`expr op value` for a time before or after every stored one (`ne` is `not eq`):
    true wherever the attribute is present if the order holds, else never."""
    return expr.isnot(None) if _beyond_holds(op, value) else false()


def _beyond_holds(op: str, value: _Beyond) -> bool:
    return op in ("lt", "le") if value is _Beyond.LATER else op in ("gt", "ge")
