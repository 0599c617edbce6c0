"""Listing and searching resources of one organisation: filter, sort and page in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Table, func, select

from ..scim import ast
from ..scim.bind import bind_filter
from ..scim.custom import AttributeType, Definition
from ..scim.schemas import Attribute, ResourceType, Schema
from ..store import custom_values, queries
from ..store.filter_sql import AttributeIds, FilterCompiler
from ..store.tables import groups, users


@dataclass(frozen=True, slots=True)
class Query:
    filter: ast.Filter | None = None
    sort_by: ast.AttrPath | None = None
    descending: bool = False
    start_index: int = 1  # 1-based, RFC 7644 §3.4.2.4
    count: int = 100


def table_for(rt: ResourceType) -> Table:
    return users if rt.is_user else groups


def run(
    conn: Connection,
    rt: ResourceType,
    org_id: str,
    query: Query,
    attribute_ids: AttributeIds | None = None,
) -> tuple[Sequence[Row[Any]], int]:
    """The page of rows and the total number of matches (`rt` is the organisation's type;
    `attribute_ids` finds the value index of its custom attributes)."""
    table = table_for(rt)
    compiler = FilterCompiler(rt, conn.dialect.name, attribute_ids)
    where = [table.c.org_id == org_id]
    if query.filter is not None:
        bound = bind_filter(rt, query.filter)
        unique = unique_lookup(rt, bound)
        if unique is not None:
            statement = queries.user_by_name if rt.is_user else queries.group_by_name
            rows = conn.execute(statement, {"org_id": org_id, "value": unique}).all()
            return (rows if query.start_index == 1 else [])[: query.count], len(rows)
        where.append(compiler.where(bound))
    total = conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
    if query.count == 0 or total < query.start_index:
        return [], total
    order: list[Any] = []
    if query.sort_by is not None:
        key = compiler.sort_key(query.sort_by)
        order.append(key.desc().nulls_last() if query.descending else key.asc().nulls_last())
    order.append(table.c.id)  # a stable order, so pages neither repeat nor skip rows
    rows = conn.execute(
        select(table)
        .where(*where)
        .order_by(*order)
        .offset(query.start_index - 1)
        .limit(query.count)
    ).all()
    return rows, total


@dataclass(frozen=True, slots=True)
class UniqueValue:
    """`urn:…:badge eq "B-7"` on a custom attribute defined unique: at most one resource
    holds the value, found by the value index's unique key."""

    schema: Schema
    attribute: Attribute
    key: str


def unique_custom_lookup(rt: ResourceType, bound: ast.Filter) -> UniqueValue | None:
    if not (
        isinstance(bound, ast.Compare)
        and bound.op == "eq"
        and bound.path.urn is not None
        and bound.path.sub is None
    ):
        return None
    schema = rt.extension(bound.path.urn)
    attribute = schema.attribute(bound.path.attr) if schema is not None else None
    if schema is None or attribute is None or not schema.custom:
        return None
    if attribute.uniqueness != "server":
        return None
    definition = Definition(
        rt.name,
        schema.id,
        attribute.name,
        AttributeType(attribute.type),
        case_exact=attribute.case_exact,
        unique=True,
    )
    key = custom_values.unique_key(definition, bound.value)
    return UniqueValue(schema, attribute, key) if key is not None else None


def unique_lookup(rt: ResourceType, bound: ast.Filter) -> str | None:
    """For `userName eq "x"` (users) or `displayName eq "x"` (groups), the lower-cased
    value: both attributes are unique and case-insensitive, so at most one row matches."""
    if not (
        isinstance(bound, ast.Compare)
        and bound.op == "eq"
        and bound.path.urn is None
        and bound.path.sub is None
        and isinstance(bound.value, str)
    ):
        return None
    unique = "userName" if rt.is_user else "displayName"
    return bound.value.lower() if bound.path.attr == unique else None
