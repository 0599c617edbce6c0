"""Listing and searching resources of one organisation: filter, sort and page in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, func, select

from ..scim import ast
from ..scim.bind import bind_filter
from ..scim.schemas import USER, ResourceType
from ..store.filter_sql import FilterCompiler
from ..store.tables import groups, users


@dataclass(frozen=True, slots=True)
class Query:
    filter: ast.Filter | None = None
    sort_by: ast.AttrPath | None = None
    descending: bool = False
    start_index: int = 1  # 1-based, RFC 7644 §3.4.2.4
    count: int = 100


def table_for(rt: ResourceType) -> Table:
    return users if rt is USER else groups


def run(conn: Connection, rt: ResourceType, org_id: str, query: Query) -> tuple[list[Any], int]:
    """The page of rows and the total number of matches."""
    table = table_for(rt)
    compiler = FilterCompiler(rt, conn.dialect.name)
    where = [table.c.org_id == org_id]
    if query.filter is not None:
        where.append(compiler.where(bind_filter(rt, query.filter)))
    total = conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
    if query.count == 0 or total < query.start_index:
        return [], total
    order: list[Any] = []
    if query.sort_by is not None:
        key = compiler.sort_key(query.sort_by)
        order.append(key.desc().nulls_last() if query.descending else key.asc().nulls_last())
    order.append(table.c.id)  # a stable order, so pages neither repeat nor skip rows
    rows = conn.execute(select(table).where(*where).order_by(*order)
                        .offset(query.start_index - 1).limit(query.count)).all()
    return list(rows), total
