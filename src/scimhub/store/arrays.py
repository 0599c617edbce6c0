"""`column IN (values)` as PostgreSQL best takes it: one array parameter (`= ANY(...)`).

A list of values as one parameter each makes a statement text of its own for every list
length, which psycopg parses again on every call (it caches statements of at most 50
parameters) and PostgreSQL plans again; an array is one parameter, whatever its length.
SQLite keeps its IN list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY


def among(column: ColumnElement[Any], values: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    """`column` is one of `values`, for a statement run on `dialect` (its name)."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type), unique=True))
    return column.in_(values)
