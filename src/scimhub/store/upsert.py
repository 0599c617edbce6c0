"""INSERT ... ON CONFLICT DO NOTHING for the two dialects scimhub runs on."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, Table
from sqlalchemy.dialects import postgresql, sqlite


@functools.cache
def _statement(dialect_name: str, table: Table) -> Any:
    """Built once per table: building it cost more than running it on the hot path (a
    group PATCH that adds a member)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)


def inserted_keys(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> Sequence[Row[Any]]:
    """Insert rows, skipping those whose key exists; returns the primary keys of the rows
    inserted (in no particular order). Taken from RETURNING: an executemany's rowcount is
    not reliable across drivers (psycopg reports -1), and callers decide from it whether
    anything changed, and which."""
    if not rows:
        return []
    return conn.execute(_statement(conn.dialect.name, table), rows).all()


def insert_ignoring_duplicates(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> int:
    """Insert rows, skipping those whose key exists; returns how many were inserted."""
    return len(inserted_keys(conn, table, rows))
