"""admin sign-in with Entra: console accounts linked to an Entra user (tenant, object id)
with no password, how each session signed in, and the sign-ins under way

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("admins") as batch:
        batch.alter_column("email_ci", existing_type=sa.String(length=320), nullable=True)
        batch.alter_column("password_hash", existing_type=sa.String(length=256), nullable=True)
        batch.add_column(sa.Column("entra_tenant_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("entra_object_id", sa.String(length=36), nullable=True))
        batch.create_unique_constraint(
            batch.f("uq_admins_org_id_entra_tenant_id_entra_object_id"),
            ["org_id", "entra_tenant_id", "entra_object_id"],
        )
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(
            sa.Column("method", sa.String(length=8), nullable=False, server_default="password")
        )
    op.create_table(
        "signin_flows",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("flow", _DOCUMENT, nullable=False),
        sa.Column("next_path", sa.String(length=512), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_signin_flows_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_signin_flows")),
    )


def downgrade() -> None:
    op.drop_table("signin_flows")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("method")
    # Accounts that sign in with Entra have no password: they cannot exist without it.
    op.execute("DELETE FROM admins WHERE password_hash IS NULL")
    with op.batch_alter_table("admins") as batch:
        batch.drop_constraint(
            batch.f("uq_admins_org_id_entra_tenant_id_entra_object_id"), type_="unique"
        )
        batch.drop_column("entra_object_id")
        batch.drop_column("entra_tenant_id")
        batch.alter_column("password_hash", existing_type=sa.String(length=256), nullable=False)
        batch.alter_column("email_ci", existing_type=sa.String(length=320), nullable=False)
