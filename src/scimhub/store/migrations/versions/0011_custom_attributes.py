"""custom attributes: an organisation's schema extensions and their indexed values

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "custom_attributes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("resource_type", sa.String(length=8), nullable=False),
        sa.Column("schema_urn", sa.String(length=256), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("path_ci", sa.String(length=330), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("multi_valued", sa.Boolean(), nullable=False),
        sa.Column("case_exact", sa.Boolean(), nullable=False),
        sa.Column("is_unique", sa.Boolean(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.id"],
            name=op.f("fk_custom_attributes_org_id_orgs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_attributes")),
        sa.UniqueConstraint(
            "org_id",
            "resource_type",
            "path_ci",
            name=op.f("uq_custom_attributes_org_id_resource_type_path_ci"),
        ),
    )
    op.create_table(
        "custom_values",
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("attribute_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text_value", sa.Text(), nullable=True),
        sa.Column("number_value", sa.Float(), nullable=True),
        sa.Column("unique_key", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["attribute_id"],
            ["custom_attributes.id"],
            name=op.f("fk_custom_values_attribute_id_custom_attributes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "resource_id", "attribute_id", "position", name=op.f("pk_custom_values")
        ),
        sa.UniqueConstraint(
            "attribute_id", "unique_key", name=op.f("uq_custom_values_attribute_id_unique_key")
        ),
    )
    op.create_index(
        op.f("ix_custom_values_attribute_id_text_value"),
        "custom_values",
        ["attribute_id", "text_value"],
    )
    op.create_index(
        op.f("ix_custom_values_attribute_id_number_value"),
        "custom_values",
        ["attribute_id", "number_value"],
    )


def downgrade() -> None:
    op.drop_table("custom_values")
    op.drop_table("custom_attributes")
