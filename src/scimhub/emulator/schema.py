"""The emulator's tables. String columns that Graph compares case-insensitively use
SQLite's NOCASE collation, so `eq` filters and their indexes match the way Entra's do."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()


def _ci(name: str, *, unique: bool = False, nullable: bool = True) -> Column[str]:
    return Column(name, String(collation="NOCASE"), unique=unique, nullable=nullable)


tenants = Table(
    "tenants",
    metadata,
    Column("id", String, primary_key=True),
    _ci("domain", unique=True, nullable=False),
    Column("display_name", String, nullable=False),
    _ci("admin_login", unique=True, nullable=False),
    Column("admin_password_hash", String, nullable=False),
    Column("is_publisher", Boolean, nullable=False, default=False),
    # Change counter: every write to a user or group takes the next value, which is
    # what delta tokens and provisioning watermarks compare against.
    Column("version", Integer, nullable=False, default=0),
    Column("created_at", String, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    _ci("user_principal_name", nullable=False),
    _ci("mail"),
    _ci("mail_nickname"),
    _ci("given_name"),
    _ci("surname"),
    _ci("display_name"),
    Column("account_enabled", Boolean, nullable=False, default=True),
    _ci("department"),
    _ci("job_title"),
    _ci("employee_id"),
    _ci("office_location"),
    Column("manager_id", String),
    Column("created_at", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("deleted_at", String),  # soft-deleted: in the recycle bin
    Column("purged", Boolean, nullable=False, default=False),  # hard-deleted tombstone
    Index("ix_users_tenant_upn", "tenant_id", "user_principal_name"),
    Index("ix_users_tenant_version", "tenant_id", "version"),
)

groups = Table(
    "groups",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    _ci("display_name", nullable=False),
    _ci("description"),
    _ci("mail_nickname"),
    _ci("mail"),
    Column("mail_enabled", Boolean, nullable=False, default=False),
    Column("security_enabled", Boolean, nullable=False, default=True),
    Column("created_at", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("deleted_at", String),
    Column("purged", Boolean, nullable=False, default=False),
    Index("ix_groups_tenant_name", "tenant_id", "display_name"),
    Index("ix_groups_tenant_version", "tenant_id", "version"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("group_id", String, primary_key=True),
    Column("member_id", String, primary_key=True),
    Column("member_type", String, nullable=False),  # user | group
    Column("tenant_id", String, nullable=False),
    Index("ix_memberships_member", "member_id"),
)

# Every membership added or removed, stamped with the change version it got: what
# /groups/delta reports as members@delta (added, or @removed) in a later round.
membership_changes = Table(
    "membership_changes",
    metadata,
    Column("tenant_id", String, nullable=False),
    Column("group_id", String, nullable=False),
    Column("member_id", String, nullable=False),
    Column("member_type", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("removed", Boolean, nullable=False),
    Index("ix_membership_changes_group", "group_id", "version"),
)

applications = Table(
    "applications",
    metadata,
    Column("id", String, primary_key=True),
    Column("app_id", String, unique=True, nullable=False),
    Column("tenant_id", String, nullable=False),
    _ci("display_name", nullable=False),
    Column("sign_in_audience", String, nullable=False),
    Column("required_roles", JSON, nullable=False),
    Column("application_template_id", String),
    Column("owner_app_id", String),  # the app that created it (Application.ReadWrite.OwnedBy)
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", String, nullable=False),
)

app_secrets = Table(
    "app_secrets",
    metadata,
    Column("key_id", String, primary_key=True),
    Column("app_id", String, nullable=False, index=True),
    Column("secret_hash", String, nullable=False),
    Column("hint", String, nullable=False),
    Column("display_name", String),
    Column("start_date_time", String, nullable=False),
    Column("end_date_time", String, nullable=False),
)

# Redirect (reply) URIs registered on an application: the only places the login pages
# send a browser back to, compared as exact strings.
app_redirect_uris = Table(
    "app_redirect_uris",
    metadata,
    Column("app_id", String, primary_key=True),
    Column("uri", String, primary_key=True),
)

# Authorization codes, stored as SHA-256 hashes: single use, ten minutes.
auth_codes = Table(
    "auth_codes",
    metadata,
    Column("code_hash", String, primary_key=True),
    Column("client_id", String, nullable=False),
    Column("tenant_id", String, nullable=False),
    Column("redirect_uri", String, nullable=False),
    Column("scope", String, nullable=False),  # space-separated, as requested
    Column("nonce", String),
    Column("code_challenge", String),
    Column("code_challenge_method", String),
    Column("session_id", String, nullable=False),
    Column("admin_login", String, nullable=False),
    Column("admin_oid", String, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
    Column("redeemed_at", Float),
)

# Ids of consent-form tokens already submitted, kept until the token would expire anyway.
used_form_tokens = Table(
    "used_form_tokens",
    metadata,
    Column("jti", String, primary_key=True),
    Column("expires_at", Float, nullable=False, index=True),
)

service_principals = Table(
    "service_principals",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("app_id", String, nullable=False),
    _ci("display_name", nullable=False),
    Column("app_owner_tenant_id", String, nullable=False),
    Column("account_enabled", Boolean, nullable=False, default=True),
    Column("application_template_id", String),
    Column("owner_app_id", String),
    Column("tags", JSON, nullable=False),
    Column("created_at", String, nullable=False),
    Column("deleted_at", String),
    Index("ix_sp_tenant_app", "tenant_id", "app_id"),
)

# Application permissions granted to a service principal (appRoleAssignments).
grants = Table(
    "grants",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("sp_id", String, nullable=False, index=True),
    Column("resource_app_id", String, nullable=False),
    Column("app_role_id", String, nullable=False),
    Column("role_value", String, nullable=False),
    Column("created_at", String, nullable=False),
)

# Users and groups assigned to an enterprise app (appRoleAssignedTo): the provisioning scope.
assignments = Table(
    "assignments",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("sp_id", String, nullable=False),
    Column("principal_id", String, nullable=False),
    Column("principal_type", String, nullable=False),  # User | Group
    Column("created_at", String, nullable=False),
    Index("ix_assignments_sp_principal", "sp_id", "principal_id", unique=True),
)

# New tables rather than new columns on the ones above: `metadata.create_all` adds a
# missing table to an existing data directory, but never a missing column.

# App roles an application defines (its registration's appRoles): a user or group assigned
# to the app with one gets its `value` in the `roles` claim.
app_roles = Table(
    "app_roles",
    metadata,
    Column("app_id", String, primary_key=True),
    Column("id", String, primary_key=True),
    Column("value", String, nullable=False),
    Column("display_name", String, nullable=False),
)

# The app role an assignment grants; an assignment without a row is "Default Access".
assignment_roles = Table(
    "assignment_roles",
    metadata,
    Column("assignment_id", String, primary_key=True),
    Column("app_role_id", String, nullable=False),
)

# The registration's groupMembershipClaims ("SecurityGroup", "All"): the ID tokens it gets
# carry the user's group ids. No row: no `groups` claim, as Entra's default.
application_claims = Table(
    "application_claims",
    metadata,
    Column("app_id", String, primary_key=True),
    Column("group_membership_claims", String, nullable=False),
)

# Enterprise apps with "Assignment required?" on (appRoleAssignmentRequired): only users
# assigned, directly or through a group they are a direct member of, may sign in.
assignment_required = Table(
    "assignment_required",
    metadata,
    Column("sp_id", String, primary_key=True),
)

# Passwords users set; a user without a row signs in with DEFAULT_USER_PASSWORD.
user_passwords = Table(
    "user_passwords",
    metadata,
    Column("user_id", String, primary_key=True),
    Column("password_hash", String, nullable=False),
)

directory_audits = Table(
    "directory_audits",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("activity_date_time", String, nullable=False),
    _ci("activity_display_name", nullable=False),
    _ci("category", nullable=False),
    _ci("result", nullable=False),
    _ci("logged_by_service", nullable=False),
    Column("correlation_id", String, nullable=False),
    _ci("operation_type", nullable=False),
    Column("body", JSON, nullable=False),
    Index("ix_audits_tenant_time", "tenant_id", "activity_date_time"),
)

provisioning_logs = Table(
    "provisioning_logs",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("job_id", String, nullable=False),
    Column("service_principal_id", String, nullable=False),
    Column("activity_date_time", String, nullable=False),
    Column("cycle_id", String, nullable=False),
    _ci("action", nullable=False),
    _ci("status", nullable=False),
    Column("source_id", String),
    Column("body", JSON, nullable=False),
    Index("ix_provlogs_tenant_time", "tenant_id", "activity_date_time"),
)

sync_jobs = Table(
    "sync_jobs",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("sp_id", String, nullable=False, index=True),
    Column("template_id", String, nullable=False),
    Column("schedule_state", String, nullable=False),  # Active | Disabled | Paused
    Column("status", JSON, nullable=False),
    Column("schema", JSON),  # None: the template's default schema
    Column("watermark", Integer),  # None: next cycle is an initial cycle
    Column("next_run_at", Float),
    Column("created_at", String, nullable=False),
)

# Connector data store: what the service knows of each object in the target.
sync_links = Table(
    "sync_links",
    metadata,
    Column("job_id", String, primary_key=True),
    Column("object_type", String, primary_key=True),  # User | Group
    Column("source_id", String, primary_key=True),
    Column("target_id", String, nullable=False),
    Column("applied", JSON, nullable=False),  # the last attribute values or member ids sent
)

escrows = Table(
    "escrows",
    metadata,
    Column("job_id", String, primary_key=True),
    Column("object_type", String, primary_key=True),
    Column("source_id", String, primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("first_failed", String, nullable=False),
)

# Secrets a provisioning job uses against its target (BaseAddress, SecretToken...). The
# token must be replayed to the target, so unlike client secrets it cannot be hashed.
sync_secrets = Table(
    "sync_secrets",
    metadata,
    Column("sp_id", String, primary_key=True),
    Column("values", JSON, nullable=False),
)

faults = Table(
    "faults",
    metadata,
    Column("scope", String, primary_key=True),  # "*" or a tenant id
    Column("throttle_remaining", Integer, nullable=False, default=0),
    Column("retry_after", Integer, nullable=False, default=1),
    Column("latency_ms", Integer, nullable=False, default=0),
    Column("error_rate", Float, nullable=False, default=0.0),
    Column("error_remaining", Integer, nullable=False, default=0),
    Column("error_status", Integer, nullable=False, default=503),
    Column("counter", Integer, nullable=False, default=0),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
)

# Directory extension properties registered on an application (Graph extensionProperty):
# `name` is the full `extension_<appId without dashes>_<name>`, unique in the tenant.
extension_properties = Table(
    "extension_properties",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("app_id", String, nullable=False, index=True),
    _ci("name", nullable=False),
    Column("data_type", String, nullable=False),
    Column("is_multi_valued", Boolean, nullable=False),
    Column("target_objects", JSON, nullable=False),
    Column("created_at", String, nullable=False),
    Index("ix_extension_properties_tenant_name", "tenant_id", "name", unique=True),
)

# A user's values of those properties, one row per property set on the user. The value
# is wrapped ({"v": value}): SQLite's JSON column would turn a bare number's text into a number.
user_extensions = Table(
    "user_extensions",
    metadata,
    Column("user_id", String, primary_key=True),
    Column("name", String(collation="NOCASE"), primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("value", JSON, nullable=False),
)
