"""The request hot path's single-statement reads and its one batched INSERT, run on the
driver's own cursor on SQLite.

A GET by id is one indexed SELECT that SQLite answers in ~5 us; SQLAlchemy's execution
around it (connection wrapper, execution context, result and Row objects) costs ~90 us more
per call (bench/micro_hot_path.py). So on SQLite these few statements are compiled once to
the driver's SQL and run on a raw pooled connection, their columns converted by the same
type processors SQLAlchemy would use. On PostgreSQL they run through SQLAlchemy as before:
there the round trip dominates, and psycopg's connections need SQLAlchemy's transaction
handling. Each thread reads on a connection of its own (`Database.hot_reader`), not a
pooled one: a checkout and checkin cost more than the statement.

The provisioning log's batched INSERT (`HotInsert`) is the same idea for writes: SQLAlchemy's
executemany builds each row's parameters in Python, which costs about as much as SQLite
storing the row (500-row batches of log entries: 20-26 us a row through SQLAlchemy, 14 us
on the driver, on a busy machine).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Select, Table

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
                converted = [
                    p(v) if p is not None else v for p, v in zip(processors, raw, strict=True)
                ]
            else:
                converted = [
                    c if v == b else (p(v) if p is not None else v)
                    for p, v, b, c in zip(processors, raw, before, converted, strict=True)
                ]
            rows.append(make(*converted))
            before = raw
        return rows


class HotInsert:
    """One INSERT of many rows into `table`, each row a tuple of `columns`' values."""

    def __init__(self, db: Database, table: Table, columns: Sequence[str]) -> None:
        self.statement = table.insert()
        self.columns = tuple(columns)
        self._raw = db.is_sqlite
        if not self._raw:
            return
        dialect = db.engine.dialect
        compiled = self.statement.compile(dialect=dialect, column_keys=list(columns))
        self._sql = str(compiled)
        # The compiled statement's parameter order, as positions in a row tuple.
        self._order = [self.columns.index(name) for name in compiled.positiontup or ()]
        self._processors: list[Processor] = [
            table.c[self.columns[i]].type.dialect_impl(dialect).bind_processor(dialect)
            for i in self._order
        ]

    def run(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Within the caller's write transaction on `conn`."""
        if not self._raw:
            conn.execute(
                self.statement, [dict(zip(self.columns, row, strict=True)) for row in rows]
            )
            return
        order, processors = self._order, self._processors
        conn.exec_driver_sql(
            self._sql,
            [
                tuple(
                    p(row[i]) if p is not None else row[i]
                    for i, p in zip(order, processors, strict=True)
                )
                for row in rows
            ],
        )
