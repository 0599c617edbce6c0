"""recycle bin: deleted users and groups kept for a restore

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-11 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "recycle_bin",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("resource_type", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("name_ci", sa.String(length=512), nullable=False),
        sa.Column("external_id", sa.String(length=512), nullable=True),
        sa.Column("display_name", sa.String(length=512), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("data", _DOCUMENT, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("memberships", _DOCUMENT, nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_by", _DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_recycle_bin_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_recycle_bin")),
    )
    op.create_index(
        op.f("ix_recycle_bin_org_id_resource_type_deleted_at"),
        "recycle_bin",
        ["org_id", "resource_type", "deleted_at"],
        unique=False,
    )
    op.create_index(op.f("ix_recycle_bin_deleted_at"), "recycle_bin", ["deleted_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_recycle_bin_deleted_at"), table_name="recycle_bin")
    op.drop_index(op.f("ix_recycle_bin_org_id_resource_type_deleted_at"), table_name="recycle_bin")
    op.drop_table("recycle_bin")
