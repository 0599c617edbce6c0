"""request log: the undefined attribute a write was refused for, and whose write it was

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scim_requests") as batch:
        batch.add_column(sa.Column("undefined_attribute", sa.String(length=330), nullable=True))
        batch.add_column(sa.Column("subject", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scim_requests") as batch:
        batch.drop_column("subject")
        batch.drop_column("undefined_attribute")
