"""SQLite's WAL is copied back into the database file by the background checkpointer, not by
the committing writers."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import text

from scimhub.store.checkpoint import BACKSTOP_PAGES
from scimhub.store.engine import Database


def _fill(db: Database, rows: int) -> None:
    with db.write() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, b BLOB)"))
        conn.execute(
            text("INSERT INTO filler (b) VALUES (randomblob(4000))"), [{} for _ in range(rows)]
        )


def test_writers_leave_checkpoints_to_the_background_thread(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    db = Database.connect(f"sqlite:///{path}")
    try:
        with db.read_one() as conn:
            autocheckpoint = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        assert autocheckpoint == BACKSTOP_PAGES
        _fill(db, 1)
        before = os.path.getsize(path)
        _fill(db, 2000)  # ~8 MB of log: past SQLite's default 1000-page autocheckpoint
        # The commit did not copy the log back (the writer's backstop is far away)...
        assert os.path.getsize(path) < before + 1_000_000
        deadline = time.monotonic() + 5
        while os.path.getsize(path) < before + 7_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        # ... the checkpointer did, a moment later.
        assert os.path.getsize(path) >= before + 7_000_000
    finally:
        db.dispose()


def test_dispose_stops_the_checkpointer(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp_path / 'hub.db'}")
    checkpointer = db._checkpointer
    assert checkpointer is not None
    db.dispose()
    assert not checkpointer._thread.is_alive()
