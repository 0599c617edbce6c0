"""deletion brake: removals found by pull sync, held past a threshold; bursts of removals
pushed by Entra, for a restore

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("entra_instances") as batch:
        batch.add_column(sa.Column("deletion_threshold", _DOCUMENT, nullable=True))
    op.create_table(
        "removals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=8), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("noted", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_removals_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["entra_instances.id"],
            name=op.f("fk_removals_instance_id_entra_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_removals")),
    )
    op.create_index(
        op.f("ix_removals_instance_id_state_noted"),
        "removals",
        ["instance_id", "state", "noted"],
        unique=False,
    )
    op.create_index(
        op.f("ix_removals_instance_id_decided"),
        "removals",
        ["instance_id", "decided"],
        unique=False,
    )

    op.create_table(
        "removal_bursts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("source", _DOCUMENT, nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removals", sa.Integer(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("tracking_ids", _DOCUMENT, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=256), nullable=True),
        sa.Column("outcome", _DOCUMENT, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_removal_bursts_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["entra_instances.id"],
            name=op.f("fk_removal_bursts_instance_id_entra_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_removal_bursts")),
    )
    op.create_index(
        op.f("ix_removal_bursts_org_id_state"), "removal_bursts", ["org_id", "state"], unique=False
    )
    op.create_table(
        "burst_scans",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("window_started", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_first_seq", sa.BigInteger(), nullable=True),
        sa.Column("window_removals", sa.Integer(), nullable=False),
        sa.Column("burst_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["entra_instances.id"],
            name=op.f("fk_burst_scans_instance_id_entra_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_burst_scans")),
    )


def downgrade() -> None:
    op.drop_table("burst_scans")
    op.drop_index(op.f("ix_removal_bursts_org_id_state"), table_name="removal_bursts")
    op.drop_table("removal_bursts")
    op.drop_index(op.f("ix_removals_instance_id_decided"), table_name="removals")
    op.drop_index(op.f("ix_removals_instance_id_state_noted"), table_name="removals")
    op.drop_table("removals")
    with op.batch_alter_table("entra_instances") as batch:
        batch.drop_column("deletion_threshold")
