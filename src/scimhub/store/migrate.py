"""Apply Alembic migrations at start-up, so a new data directory or database just works.

On PostgreSQL an advisory lock makes concurrent starts (several API processes and workers)
take turns; the first applies the migrations, the others find nothing to do.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from .engine import Database

_SCRIPTS = Path(__file__).with_name("migrations")
_LOCK_ID = 0x5C1A4B  # arbitrary, constant: the advisory lock key for migrations


def ours(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name` filter: procrastinate's queue tables come from its own
    schema script (migration 0005), not from our table definitions."""
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def alembic_config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(db: Database) -> None:
    with db.engine.connect() as conn:
        if not db.is_sqlite:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_ID})
            conn.commit()
        try:
            command.upgrade(alembic_config(conn), "head")
            conn.commit()
        finally:
            if not db.is_sqlite:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_ID})
                conn.commit()


@functools.cache  # the scripts are this code's: they cannot change while it runs
def head() -> str | None:
    """The newest migration this code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(db: Database) -> str | None:
    """The migration the database is at (None: none applied)."""
    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()
