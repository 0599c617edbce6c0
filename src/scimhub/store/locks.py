"""Named locks that hold across processes: PostgreSQL session advisory locks. SQLite
serves a single process (several API processes need PostgreSQL), where the caller's own
in-process lock is enough."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from .engine import Database


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def try_lock(db: Database, name: str) -> Iterator[bool]:
    """Yields True while holding the lock, False when another process holds it."""
    if db.is_sqlite:
        yield True
        return
    with db.engine.connect() as conn:
        got = bool(
            conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _key(name)}).scalar()
        )
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _key(name)})
                conn.commit()
