"""Positions in an organisation's event stream, handed out in commit order.

A writing transaction takes its positions last, from the org's row in `event_streams`
(`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`). That row stays locked until the
transaction ends, so the next writer of the same organisation takes its positions only
after this one committed or rolled back: positions are taken in commit order, and a reader
that has seen position N has seen every committed event before it. (A sequence or identity
column is assigned when the row is inserted, and a later insert can commit first.) On
SQLite, writers are serialised anyway. Other organisations are not held up.
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from .tables import event_streams


def take(conn: Connection, org_id: str, count: int) -> int:
    """Reserve `count` positions; returns the last of them (the first is last - count + 1)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    last = event_streams.c.last_seq
    stmt = (
        dialect.insert(event_streams)
        .values(org_id=org_id, last_seq=count, pruned_through=0)
        .on_conflict_do_update(index_elements=["org_id"], set_={"last_seq": last + count})
        .returning(last)
    )
    return int(conn.execute(stmt).scalar_one())
