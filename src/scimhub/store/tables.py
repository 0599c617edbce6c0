"""The hub's tables. Every row that belongs to an organisation carries `org_id`, and every
query filters on it: that is what keeps tenants apart.

Resources keep their SCIM document in `data` (JSON, JSONB on PostgreSQL) and copy the few
attributes that are looked up or must be unique into indexed columns.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

Document = JSON().with_variant(JSONB(), "postgresql")
Timestamp = DateTime(timezone=True)
BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER only

orgs = Table(
    "orgs", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("settings", Document, nullable=False),
    Column("created", Timestamp, nullable=False),
)

tokens = Table(
    "tokens", metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 of the secret
    Column("prefix", String(16), nullable=False),  # shown in listings to recognise a token
    Column("created", Timestamp, nullable=False),
    Column("expires_at", Timestamp),
    Column("revoked_at", Timestamp),
    Index(None, "org_id"),
)

users = Table(
    "users", metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    Column("user_name", String(512), nullable=False),
    Column("user_name_ci", String(512), nullable=False),  # lower(userName): caseExact=false
    Column("external_id", String(512)),
    Column("display_name", String(512)),
    Column("active", Boolean, nullable=False),
    Column("data", Document, nullable=False),
    Column("password_hash", String(256)),
    Column("created", Timestamp, nullable=False),
    Column("last_modified", Timestamp, nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "org_id", "user_name_ci", unique=True),
    Index(None, "org_id", "id"),  # default listing order within an org
    Index(None, "org_id", "external_id"),
    Index(None, "org_id", "last_modified"),
)

groups = Table(
    "groups", metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    Column("display_name", String(512), nullable=False),
    Column("display_name_ci", String(512), nullable=False),
    Column("external_id", String(512)),
    Column("data", Document, nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("last_modified", Timestamp, nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "org_id", "display_name_ci", unique=True),
    Index(None, "org_id", "id"),
    Index(None, "org_id", "external_id"),
)

# One row per direct membership, so a member change costs O(change), not O(group size).
# `member_id` points at a user or a group (`member_type`); no foreign key can say that,
# so the directory deletes a resource's memberships in the same transaction as the resource.
memberships = Table(
    "memberships", metadata,
    Column("group_id", String(36), ForeignKey("groups.id", ondelete="CASCADE"),
           primary_key=True),
    Column("member_id", String(36), primary_key=True),
    Column("org_id", String(36), nullable=False),
    Column("member_type", String(8), nullable=False),  # "User" | "Group"
    Index(None, "member_id"),
)

audit_events = Table(
    "audit_events", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE")),
    Column("time", Timestamp, nullable=False),
    Column("actor", String(256), nullable=False),
    Column("action", String(128), nullable=False),
    Column("target", String(512)),
    Column("detail", Document),
    Column("tracking_id", String(128)),
    Index(None, "org_id", "time"),
)

scim_requests = Table(
    "scim_requests", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("org_id", String(36), nullable=False),
    Column("time", Timestamp, nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("resource_type", String(32)),
    Column("status", Integer, nullable=False),
    Column("scim_type", String(32)),
    Column("duration_ms", Integer, nullable=False),
    Column("tracking_id", String(128), nullable=False),
    Column("client", String(256)),
    Column("token_id", String(36)),
    Index(None, "org_id", "time"),
    Index(None, "tracking_id"),
)
