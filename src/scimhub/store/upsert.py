"""INSERT ... ON CONFLICT DO NOTHING for the two dialects scimhub runs on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignoring_duplicates(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> int:
    """Insert rows, skipping those whose key exists; returns how many were inserted."""
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # Counted from RETURNING: an executemany's rowcount is not reliable across drivers
    # (psycopg reports -1), and callers decide from it whether anything changed.
    stmt = dialect.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return len(conn.execute(stmt, rows).all())
