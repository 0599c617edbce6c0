"""tenant proof and org-scoped admins

Consent round trips keep the OpenID Connect sign-in they started (nonce, PKCE verifier),
so the tenant is taken from a signed ID token rather than the redirect's query; console
accounts are unique per organisation, not across the hub.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 16:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("consent_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flow", _DOCUMENT, nullable=True))
    with op.batch_alter_table("admins", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_admins_email_ci"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_admins_org_id_email_ci"), ["org_id", "email_ci"]
        )
        batch_op.create_index(batch_op.f("ix_admins_email_ci"), ["email_ci"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("admins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admins_email_ci"))
        batch_op.drop_constraint(batch_op.f("uq_admins_org_id_email_ci"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_admins_email_ci"), ["email_ci"])
    with op.batch_alter_table("consent_states", schema=None) as batch_op:
        batch_op.drop_column("flow")
