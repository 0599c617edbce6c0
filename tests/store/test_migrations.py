"""The migrations build exactly the tables the code defines, and go down and up again
(SQLite here, PostgreSQL in CI, where migration 0005 also installs procrastinate's queue)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

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
