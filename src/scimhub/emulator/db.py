"""The SQLite database in the data directory, shared by the server and the CLI. WAL lets
the CLI write while the server reads; nothing is cached in memory, so the server sees
every change the CLI makes on its next request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, text

from .schema import metadata, tenants

DB_FILE = "emulator.sqlite3"


def open_engine(data_dir: Path) -> Engine:
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{data_dir / DB_FILE}",
        pool_size=8,
        max_overflow=8,
        # orjson: provisioning logs are JSON documents written by the thousand
        json_serializer=lambda obj: orjson.dumps(obj).decode(),
        json_deserializer=orjson.loads,
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.close()

    metadata.create_all(engine)
    return engine


def now_iso() -> str:
    """Graph's timestamp format: UTC, 'Z' suffix; lexicographic order is time order."""
    # isoformat is ~4x cheaper than strftime, and the provisioning service stamps several
    # of these per object it pushes.
    return datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def new_id() -> str:
    return str(uuid.uuid4())


def next_versions(conn: Connection, tenant_id: str, count: int = 1) -> int:
    """Reserve `count` change versions for a tenant and return the last one. The UPDATE
    takes SQLite's write lock, so concurrent writers (server, CLI) never share one."""
    row = conn.execute(
        text("UPDATE tenants SET version = version + :n WHERE id = :t RETURNING version"),
        {"n": count, "t": tenant_id},
    ).one()
    return int(row[0])


def current_version(conn: Connection, tenant_id: str) -> int:
    row = conn.execute(tenants.select().where(tenants.c.id == tenant_id)).one()
    return int(row.version)
