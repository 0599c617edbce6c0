"""Positions in an organisation's event stream, handed out in commit order, and the
events written at them.

A writing transaction takes its positions last, from the org's row in `event_streams`
(`UPDATE ... RETURNING`, or for the org's first events `INSERT ... ON CONFLICT DO UPDATE
... RETURNING`, which also settles two first writers). That row stays locked until the
transaction ends, so the next writer of the same organisation takes its positions only
after this one committed or rolled back: positions are taken in commit order, and a reader
that has seen position N has seen every committed event before it. (A sequence or identity
column is assigned when the row is inserted, and a later insert can commit first.) On
SQLite, writers are serialised anyway. Other organisations are not held up.

Both statements run on every write that changes something, so they run on the driver's
cursor (`store.driver`: a quarter of the cost of SQLAlchemy's execution).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ClauseElement

from .driver import DriverStatement, cursor, driver_cursor, json_value, time_value, wrapped
from .tables import event_streams, events
from .upsert import arrays_insert

_last = event_streams.c.last_seq


def _first_take(dialect_name: str) -> ClauseElement:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(event_streams).values(
        org_id=bindparam("org_id"), last_seq=bindparam("count"), pruned_through=0
    )
    upsert: ClauseElement = stmt.on_conflict_do_update(
        index_elements=["org_id"], set_={"last_seq": _last + stmt.excluded.last_seq}
    ).returning(_last)
    return upsert


_TAKE = DriverStatement(
    lambda _: (
        update(event_streams)
        .where(event_streams.c.org_id == bindparam("org_id"))
        .values(last_seq=_last + bindparam("count"))
        .returning(_last)
    )
)
_FIRST_TAKE = DriverStatement(_first_take)
_COLUMNS = ("org_id", "seq", "id", "type", "occurred_at", "data", "changed", "source")
_INSERT = DriverStatement(lambda _: events.insert().values({c: bindparam(c) for c in _COLUMNS}))
# PostgreSQL, many events: one statement over arrays, planned once, not once an event.
_INSERT_ARRAYS = DriverStatement(lambda _: arrays_insert(events, _COLUMNS))


def take(conn: Connection, org_id: str, count: int) -> int:
    """Reserve `count` positions; returns the last of them (the first is last - count + 1)."""
    with cursor(conn) as cur:
        return _take(conn, cur, org_id, count)


def _take(conn: Connection, cur: Any, org_id: str, count: int) -> int:
    params = {"org_id": org_id, "count": count}
    cur.execute(_TAKE.sql(conn.dialect)[0], params)
    row = cur.fetchone()
    if row is None:  # the org's first events
        sql, fixed = _FIRST_TAKE.sql(conn.dialect)
        cur.execute(sql, {**fixed, **params})
        row = cur.fetchone()
    return int(row[0])


def append(
    conn: Connection,
    org_id: str,
    occurred_at: datetime,
    source: dict[str, Any],
    new: Sequence[tuple[str, str, dict[str, Any], dict[str, Any] | None]],
) -> int:
    """Write events (id, type, data, changed) at the next positions of the org's stream:
    the position statement, then one INSERT of them all. Returns the last position."""
    when, cause = time_value(conn, occurred_at), json_value(source)
    # As `driver.cursor` does, spelled out: a generator-based context costs ~10k
    # instructions, on every write.
    cur = driver_cursor(conn)
    try:
        last = _take(conn, cur, org_id, len(new))
        first = last - len(new) + 1
        rows = [
            {
                "org_id": org_id,
                "seq": first + i,
                "id": event_id,
                "type": type_,
                "occurred_at": when,
                "data": json_value(data),
                "changed": json_value(changed),
                "source": cause,
            }
            for i, (event_id, type_, data, changed) in enumerate(new)
        ]
        sql = _INSERT.sql(conn.dialect)[0]
        if len(rows) == 1:
            cur.execute(sql, rows[0])
        elif conn.dialect.name == "postgresql":
            arrays = {c: [r[c] for r in rows] for c in _COLUMNS}
            cur.execute(_INSERT_ARRAYS.sql(conn.dialect)[0], arrays)
        else:
            cur.executemany(sql, rows)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise wrapped(conn, exc) from exc
    finally:
        cur.close()
    return last
