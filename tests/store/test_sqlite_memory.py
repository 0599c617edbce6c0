"""SQLite's page caches are bounded for the whole process, not per connection: the hub holds
several connections, and on a large database each would fill its own cache."""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import pytest
from sqlalchemy import text

from scimhub.store.engine import SQLITE_HEAP_LIMIT, Database


def _memory_used() -> int:
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        pytest.skip("libsqlite3 is not loadable here")
    lib = ctypes.CDLL(name)
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return int(lib.sqlite3_memory_used())


def test_connections_share_one_bound(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        with db.write() as conn:
            conn.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, b BLOB)"))
            # ~40 MB: each connection's cache (32 MB) fills when it reads the table.
            conn.execute(
                text("INSERT INTO filler (b) VALUES (randomblob(4000))"),
                [{} for _ in range(10_000)],
            )
        with db.engine.connect() as a, db.engine.connect() as b, db.engine.connect() as c:
            for conn in (a, b, c):
                assert conn.exec_driver_sql("PRAGMA soft_heap_limit").scalar() == SQLITE_HEAP_LIMIT
                conn.exec_driver_sql("SELECT sum(length(b)) FROM filler").scalar()
            # Three full caches would be ~96 MB; a little over the bound is allowed (soft).
            assert _memory_used() < SQLITE_HEAP_LIMIT * 1.15
    finally:
        db.engine.dispose()
