"""The migrations build exactly the tables the code defines, and go down and up again
(SQLite here, PostgreSQL in CI, where migration 0005 also installs procrastinate's queue)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import JSON, column, insert, inspect, table, text

from scimhub.api.services import Hub
from scimhub.store import migrate
from scimhub.store.engine import Database
from scimhub.store.tables import metadata
from tests.conftest import _postgres_database


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Database]:
    server = os.environ.get("SCIMHUB_TEST_DATABASE_URL")
    urls = _postgres_database(server) if server else iter([f"sqlite:///{tmp_path}/m.db"])
    for url in urls:
        db = Database.connect(url)
        try:
            yield db
        finally:
            db.dispose()


def test_migrated_schema_matches_the_table_definitions(hub: Hub) -> None:
    with hub.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": migrate.ours})
        assert compare_metadata(context, metadata) == []


def test_down_to_nothing_and_up_again(fresh: Database) -> None:
    migrate.upgrade(fresh)
    tables = set(inspect(fresh.engine).get_table_names())
    assert {"users", "groups", "memberships", "entra_instances"} <= tables
    assert ("procrastinate_jobs" in tables) is (not fresh.is_sqlite)
    with fresh.engine.connect() as conn:
        command.downgrade(migrate.alembic_config(conn), "base")
        conn.commit()
    assert set(inspect(fresh.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(fresh)
    assert set(inspect(fresh.engine).get_table_names()) == tables


def test_the_dialect_moves_out_of_the_status_cache_and_back(fresh: Database) -> None:
    """0007: the dialect setting leaves `last_status` for its own column (and returns on
    the way down); the rest of the cached status stays where it was."""
    rows = {
        "setting": {"dialect": "aadOptscim062020", "jobStatus": "Active"},
        "only": {"dialect": "default"},
        "none": None,
    }
    orgs, instances = (
        table("orgs", column("id"), column("name"), column("settings", JSON), column("created")),
        table(
            "entra_instances",
            column("id"),
            column("org_id"),
            column("tenant_id"),
            column("name"),
            column("mode"),
            column("scope"),
            column("mappings", JSON),
            column("auto_sync"),
            column("last_status", JSON),
            column("created"),
            column("updated"),
        ),
    )
    now = datetime.now(UTC)
    with fresh.engine.connect() as conn:
        command.upgrade(migrate.alembic_config(conn), "0006")
        conn.execute(insert(orgs).values(id="org-1", name="o", settings={}, created=now))
        for name, status in rows.items():
            conn.execute(
                insert(instances).values(
                    id=name,
                    org_id="org-1",
                    tenant_id=str(uuid.uuid4()),
                    name=name,
                    mode="push",
                    scope="all",
                    mappings=[],
                    auto_sync=True,
                    last_status=status,
                    created=now,
                    updated=now,
                )
            )
        conn.commit()
        command.upgrade(migrate.alembic_config(conn), "0007")
        conn.commit()
        after = {
            r.id: (r.dialect, r.last_status)
            for r in conn.execute(text("SELECT id, dialect, last_status FROM entra_instances"))
        }
        command.downgrade(migrate.alembic_config(conn), "0006")
        conn.commit()
        back = {
            r.id: r.last_status
            for r in conn.execute(text("SELECT id, last_status FROM entra_instances"))
        }
    assert {k: (d, _json(s)) for k, (d, s) in after.items()} == {
        "setting": ("aadOptscim062020", {"jobStatus": "Active"}),
        "only": ("default", None),
        "none": ("default", None),
    }
    assert {k: _json(s) for k, s in back.items()} == {
        "setting": {"dialect": "aadOptscim062020", "jobStatus": "Active"},
        "only": {"dialect": "default"},
        "none": {"dialect": "default"},
    }


def _json(value: Any) -> Any:
    """A JSON column read with plain SQL: text on SQLite, decoded already on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def test_events_keep_their_rows_when_their_indexes_go_and_come_back(fresh: Database) -> None:
    """0018: the unique event id and the `occurred_at` index go (on SQLite by copying the
    table), the events stay; down again, both come back."""
    orgs = table("orgs", column("id"), column("name"), column("settings", JSON), column("created"))
    events = table(
        "events",
        *(column(c) for c in ("org_id", "seq", "id", "type", "occurred_at")),
        *(column(c, JSON) for c in ("data", "changed", "source")),
    )
    now = datetime.now(UTC)
    rows = [
        {
            "org_id": "org-1",
            "seq": seq,
            "id": str(uuid.uuid4()),
            "type": "user.created",
            "occurred_at": now,
            "data": {"id": f"u{seq}"},
            "changed": None,
            "source": {"kind": "system", "name": "scimhub"},
        }
        for seq in (1, 2, 3)
    ]

    def indexes() -> set[str]:
        found = inspect(fresh.engine)
        named = [*found.get_indexes("events"), *found.get_unique_constraints("events")]
        return {str(i["name"]) for i in named}

    def kept() -> list[tuple[int, str, Any]]:
        with fresh.engine.connect() as conn:
            found = conn.execute(text("SELECT seq, id, data FROM events ORDER BY seq"))
            return [(r.seq, r.id, _json(r.data)) for r in found]

    expected = [(r["seq"], r["id"], r["data"]) for r in rows]
    with fresh.engine.connect() as conn:
        command.upgrade(migrate.alembic_config(conn), "0017")
        conn.execute(insert(orgs).values(id="org-1", name="o", settings={}, created=now))
        conn.execute(insert(events), rows)
        conn.commit()
    assert {"uq_events_id", "ix_events_occurred_at"} <= indexes()
    migrate.upgrade(fresh)
    assert not {"uq_events_id", "ix_events_occurred_at"} & indexes()
    assert kept() == expected
    with fresh.engine.connect() as conn:
        command.downgrade(migrate.alembic_config(conn), "0017")
        conn.commit()
    assert {"uq_events_id", "ix_events_occurred_at"} <= indexes()
    assert kept() == expected
