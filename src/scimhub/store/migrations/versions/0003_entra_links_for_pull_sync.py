"""entra links for pull sync

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 13:26:23.384047
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "entra_links",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["entra_instances.id"],
            name=op.f("fk_entra_links_instance_id_entra_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "object_id", name=op.f("pk_entra_links")),
    )
    with op.batch_alter_table("entra_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_entra_links_resource_id"), ["resource_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("entra_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entra_links_resource_id"))

    op.drop_table("entra_links")
