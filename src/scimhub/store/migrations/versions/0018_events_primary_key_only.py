"""change events keep their primary key as their only index

Every SCIM write records its events, and paid for the unique index on the event id and the
index on `occurred_at` besides the primary key: no query looks an event up by id, and
retention and replay now walk a stream by position from one end.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 02:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # On SQLite a table constraint goes only with the table: batch mode copies it.
    with op.batch_alter_table("events") as batch:
        batch.drop_index(batch.f("ix_events_occurred_at"))
        batch.drop_constraint(batch.f("uq_events_id"), type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.create_unique_constraint(batch.f("uq_events_id"), ["id"])
        batch.create_index(batch.f("ix_events_occurred_at"), ["occurred_at"])
