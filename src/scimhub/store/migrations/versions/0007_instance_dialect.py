"""instance dialect

The SCIM dialect an instance's provisioning job is told to speak is a setting, not a
status: it moves out of `last_status` (the cache of the job's last status read from Graph)
into a column of its own.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
# The rows as this migration sees them (not the application's table definitions, which
# move on with later revisions).
_INSTANCES = sa.table(
    "entra_instances",
    sa.column("id", sa.String()),
    sa.column("dialect", sa.String()),
    sa.column("last_status", _DOCUMENT),
)


def upgrade() -> None:
    with op.batch_alter_table("entra_instances", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dialect", sa.String(length=32), nullable=False, server_default="default")
        )
    # Row by row in Python: JSON operators differ between SQLite and PostgreSQL, and an
    # organisation has a handful of instances.
    conn = op.get_bind()
    t = _INSTANCES
    for row in conn.execute(sa.select(t.c.id, t.c.last_status)).all():
        status = dict(row.last_status or {})
        if "dialect" not in status:
            continue
        dialect = str(status.pop("dialect"))
        conn.execute(
            sa.update(t)
            .where(t.c.id == row.id)
            .values(dialect=dialect, last_status=status or sa.null())
        )


def downgrade() -> None:
    conn = op.get_bind()
    t = _INSTANCES
    for row in conn.execute(sa.select(t.c.id, t.c.dialect, t.c.last_status)).all():
        conn.execute(
            sa.update(t)
            .where(t.c.id == row.id)
            .values(last_status={**(row.last_status or {}), "dialect": row.dialect})
        )
    with op.batch_alter_table("entra_instances", schema=None) as batch_op:
        batch_op.drop_column("dialect")
