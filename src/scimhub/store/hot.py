"""The request hot path's single-statement reads, run on the driver's own cursor on SQLite.

A GET by id is one indexed SELECT that SQLite answers in ~5 us; SQLAlchemy's execution
around it (connection wrapper, execution context, result and Row objects) costs ~90 us more
per call (bench/micro_hot_path.py). So on SQLite these few statements are compiled once to
the driver's SQL and run on a raw pooled connection, their columns converted by the same
type processors SQLAlchemy would use. On PostgreSQL they run through SQLAlchemy as before:
there the round trip dominates, and psycopg's connections need SQLAlchemy's transaction
handling. Each thread reads on a connection of its own (`Database.hot_reader`), not a
pooled one: a checkout and checkin cost more than the statement.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select

from .engine import Database

Processor = Callable[[Any], Any] | None


def _row_type(names: list[str]) -> Callable[..., Any]:
    return namedtuple("HotRow", names)


class HotRead:
    """One prepared SELECT: `rows(params)` gives its rows, each with attribute access by
    column name, as SQLAlchemy's rows do (and as the directory's renderers read them)."""

    def __init__(self, db: Database, statement: Select[Any]) -> None:
        self.db = db
        self.statement = statement
        self._raw = db.has_hot_readers
        if not self._raw:
            return
        dialect = db.engine.dialect
        compiled = statement.compile(dialect=dialect)
        self._sql = str(compiled)
        self._params = tuple(compiled.positiontup or ())
        columns = list(statement.selected_columns)
        self._row = _row_type([str(c.key) for c in columns])
        self._processors: list[Processor] = [
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
        ]

    def rows(self, params: Mapping[str, Any]) -> Sequence[Any]:
        if not self._raw:
            with self.db.read_one() as conn:
                return conn.execute(self.statement, dict(params)).all()
        # One statement is its own snapshot: the thread's reader is in autocommit, so no
        # BEGIN is needed, and nothing stays open between reads.
        fetched = (
            self.db.hot_reader()
            .execute(self._sql, [params[name] for name in self._params])
            .fetchall()
        )
        return self._convert(fetched)

    def _convert(self, fetched: list[tuple[Any, ...]]) -> list[Any]:
        """Rows of a join repeat the columns of its one side (a user's, once per group): a
        value equal to the row before's is taken converted from it, not parsed again."""
        make, processors = self._row, self._processors
        rows: list[Any] = []
        before: tuple[Any, ...] | None = None
        converted: list[Any] = []
        for raw in fetched:
            if before is None:
                converted = [p(v) if p is not None else v for p, v in zip(processors, raw)]
            else:
                converted = [
                    c if v == b else (p(v) if p is not None else v)
                    for p, v, b, c in zip(processors, raw, before, converted)
                ]
            rows.append(make(*converted))
            before = raw
        return rows
