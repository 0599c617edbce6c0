"""background work: token renewal URL, request-log age index, procrastinate's queue

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 15:40:00

On PostgreSQL this also installs procrastinate's schema (the task queue `scimhub worker`
uses), from the installed procrastinate, whose version pyproject pins to one minor release:
a newer procrastinate comes with a migration here that applies its own migration files.
"""

import re
from collections.abc import Sequence
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("entra_instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hub_url", sa.Text(), nullable=True))
    with op.batch_alter_table("scim_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scim_requests_time"), ["time"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # psycopg runs a parameterless multi-statement script as it is (no % escaping)
        driver = bind.connection.driver_connection
        assert driver is not None  # None only once the connection is invalidated
        driver.execute(_queue_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # what the schema created, found by its CREATE statements; CASCADE takes the
        # indexes and triggers along
        created = re.findall(r"^CREATE (TABLE|FUNCTION|TYPE) (\w+)", _queue_schema(), re.MULTILINE)
        for kind, name in reversed(created):
            bind.exec_driver_sql(f"DROP {kind} IF EXISTS {name} CASCADE")
    with op.batch_alter_table("scim_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scim_requests_time"))
    with op.batch_alter_table("entra_instances", schema=None) as batch_op:
        batch_op.drop_column("hub_url")


def _queue_schema() -> str:
    return (resources.files("procrastinate.sql") / "schema.sql").read_text("utf-8")
