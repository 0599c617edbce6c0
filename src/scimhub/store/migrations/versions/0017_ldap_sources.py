"""directory sync from AD / LDAP: one LDAP source per organisation, where its entries are;
links and removals keyed by any sync source (an Entra instance or an LDAP source)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
# The foreign keys that tied links and removals to Entra instances: a source may now be an
# LDAP source too, and each kind deletes its own links and removals with itself.
_SOURCE_KEYS = (
    ("entra_links", "fk_entra_links_instance_id_entra_instances"),
    ("removals", "fk_removals_instance_id_entra_instances"),
)


def upgrade() -> None:
    for table, name in _SOURCE_KEYS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_="foreignkey")
    op.create_table(
        "ldap_sources",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("bind_dn", sa.Text(), nullable=False),
        sa.Column("password_encrypted", sa.Text(), nullable=False),
        sa.Column("config", _DOCUMENT, nullable=False),
        sa.Column("state", _DOCUMENT, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_round", _DOCUMENT, nullable=True),
        sa.Column("deletion_threshold", _DOCUMENT, nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_ldap_sources_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ldap_sources")),
    )
    op.create_index(op.f("ix_ldap_sources_org_id"), "ldap_sources", ["org_id"], unique=True)
    op.create_table(
        "ldap_entries",
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("dn_ci", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["ldap_sources.id"],
            name=op.f("fk_ldap_entries_source_id_ldap_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "object_id", name=op.f("pk_ldap_entries")),
    )
    op.create_index(op.f("ix_ldap_entries_source_id_dn_ci"), "ldap_entries", ["source_id", "dn_ci"])


def downgrade() -> None:
    # The LDAP sources' links and removals go with them, then the keys come back.
    for table in ("entra_links", "removals"):
        op.execute(
            sa.text(
                f"DELETE FROM {table} WHERE instance_id NOT IN (SELECT id FROM entra_instances)"
            )
        )
    op.drop_index(op.f("ix_ldap_entries_source_id_dn_ci"), table_name="ldap_entries")
    op.drop_table("ldap_entries")
    op.drop_index(op.f("ix_ldap_sources_org_id"), table_name="ldap_sources")
    op.drop_table("ldap_sources")
    for table, name in _SOURCE_KEYS:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(
                name, "entra_instances", ["instance_id"], ["id"], ondelete="CASCADE"
            )
