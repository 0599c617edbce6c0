"""operator tokens (no organisation) and setup links (single use, with the restricted
session each is exchanged for)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK = "ck_tokens_operator_has_no_org"


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.alter_column("org_id", existing_type=sa.String(length=36), nullable=True)
        batch.create_check_constraint(_CHECK, "(kind = 'operator') = (org_id IS NULL)")
    op.create_table(
        "setup_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=256), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=256), nullable=True),
        sa.Column("session_hash", sa.String(length=64), nullable=True),
        sa.Column("csrf_token", sa.String(length=64), nullable=True),
        sa.Column("session_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_setup_links_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setup_links")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_setup_links_secret_hash")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_setup_links_session_hash")),
    )
    op.create_index(
        op.f("ix_setup_links_org_id_created"), "setup_links", ["org_id", "created"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_setup_links_org_id_created"), table_name="setup_links")
    op.drop_table("setup_links")
    # Operator tokens cannot exist without the check's other half: they go first.
    op.execute("DELETE FROM tokens WHERE org_id IS NULL")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_constraint(_CHECK, type_="check")
        batch.alter_column("org_id", existing_type=sa.String(length=36), nullable=False)
