"""Statements run on the driver's own cursor, for the two that every write adds (the event
stream's position and the events' INSERT, `store.event_positions`).

Through SQLAlchemy's execution, a statement already built and compiled still costs about
as much Python as the rest of a SCIM POST: measured with callgrind on SQLite, the position
upsert took ~230k instructions and a one-event INSERT ~250k, against ~45k and ~80k on the
cursor (a whole POST through the ASGI app is ~1.7M). So these are compiled once per dialect
from Core constructs (no SQL written by hand; named parameters, which both drivers take as
a dict) and run on the DBAPI connection underneath the caller's, in its transaction.

What SQLAlchemy would have done around them is done here: values are handed over ready for
the driver (`json_value`, `time_value`), driver errors are raised as SQLAlchemy's (an
`OperationalError` stays one, which the SCIM API answers with 503), and a dropped
connection is invalidated. Engine events (`echo`) do not see these statements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ClauseElement

_SQLITE_NAMED = sqlite.dialect(paramstyle="named")


class DriverStatement:
    """A statement built (by `build`, given the dialect's name: upserts differ) and compiled
    once per dialect, for a driver cursor."""

    def __init__(self, build: Callable[[str], ClauseElement]) -> None:
        self.build = build
        self._compiled: dict[str, tuple[str, dict[str, Any]]] = {}

    def sql(self, dialect: Dialect) -> tuple[str, dict[str, Any]]:
        """The SQL for `dialect`, and the values of the parameters the construct fixes
        (a literal in `.values()`), which every call must pass too."""
        found = self._compiled.get(dialect.name)
        if found is None:
            target = _SQLITE_NAMED if dialect.name == "sqlite" else dialect
            compiled = self.build(dialect.name).compile(dialect=target)
            binds = compiled.binds  # type: ignore[attr-defined]
            fixed = {k: v for k, v in compiled.params.items() if not binds[k].required}
            found = self._compiled[dialect.name] = (str(compiled), fixed)
        return found


@contextmanager
def cursor(conn: Connection) -> Iterator[Any]:
    """A cursor of the DBAPI connection under `conn`, in its transaction; the driver's
    errors are raised as SQLAlchemy's."""
    cur = driver_cursor(conn)
    try:
        yield cur
    except conn.dialect.loaded_dbapi.Error as exc:
        raise wrapped(conn, exc) from exc
    finally:
        cur.close()


def driver_cursor(conn: Connection) -> Any:
    """A cursor of the DBAPI connection under `conn`; the caller closes it, and raises the
    driver's errors as `wrapped` makes them (or uses `cursor`)."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def wrapped(conn: Connection, exc: Any) -> Exception:
    """The driver's error as SQLAlchemy raises it, the connection invalidated if it died."""
    dbapi_error: type[Exception] = conn.dialect.loaded_dbapi.Error
    dropped = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, None)
    if dropped:
        conn.invalidate(exc)
    wrapped: Exception = DBAPIError.instance(
        None, None, exc, dbapi_error, connection_invalidated=dropped, dialect=conn.dialect
    )
    return wrapped


def json_value(value: Any) -> str | None:
    """A JSON (JSONB) column's value as its driver takes it: the text (PostgreSQL casts an
    untyped text parameter to jsonb); None is SQL NULL."""
    return None if value is None else orjson.dumps(value).decode()


def time_value(conn: Connection, value: datetime) -> datetime | str:
    """A `Timestamp` column's value: PostgreSQL takes the datetime; SQLite stores the UTC
    time as text (`sqlite_time`)."""
    return sqlite_time(value) if conn.dialect.name == "sqlite" else value


def sqlite_time(value: datetime) -> str:
    """A time as SQLite stores a `Timestamp`: UTC text, in the format SQLAlchemy writes
    and reads back."""
    utc = value.astimezone(UTC) if value.tzinfo else value
    return utc.replace(tzinfo=None).isoformat(" ", timespec="microseconds")
