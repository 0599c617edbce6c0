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
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Document = JSON().with_variant(JSONB(), "postgresql")
Timestamp = DateTime(timezone=True)
BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER only

orgs = Table(
    "orgs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("settings", Document, nullable=False),
    Column("created", Timestamp, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    # NULL for the platform operator's tokens, which belong to no organisation
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE")),
    Column("name", String(256), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 of the secret
    Column("prefix", String(16), nullable=False),  # shown in listings to recognise a token
    # "scim": a SCIM client (Entra's provisioning job); "admin": the integration/admin API;
    # "operator": the platform operator's /api/v1/orgs
    Column("kind", String(8), nullable=False, server_default="scim"),
    # "write": read and change the directory; "read": GET and search only (apps that read)
    Column("scope", String(8), nullable=False, server_default="write"),
    Column("created", Timestamp, nullable=False),
    Column("expires_at", Timestamp),
    Column("revoked_at", Timestamp),
    Index(None, "org_id"),
    # An operator token opens every organisation, an organisation's token only its own: a
    # row can never be both, or neither.
    CheckConstraint("(kind = 'operator') = (org_id IS NULL)", name="ck_tokens_operator_has_no_org"),
)

users = Table(
    "users",
    metadata,
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
    # The client that provisions it (events.Source without the tracking id): the last SCIM
    # token or sync source to write it; None when only administrators have.
    Column("provisioned_by", Document),
    Index(None, "org_id", "user_name_ci", unique=True),
    Index(None, "org_id", "id"),  # default listing order within an org
    Index(None, "org_id", "external_id"),
    Index(None, "org_id", "last_modified"),
    # The console searches display names: scanning this index instead of the table keeps
    # a search over 100,000 users well under a page-render budget of 300 ms.
    Index(None, "org_id", "display_name"),
)

groups = Table(
    "groups",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    Column("display_name", String(512), nullable=False),
    Column("display_name_ci", String(512), nullable=False),
    Column("external_id", String(512)),
    Column("data", Document, nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("last_modified", Timestamp, nullable=False),
    Column("version", Integer, nullable=False),
    Column("provisioned_by", Document),  # as users'
    Index(None, "org_id", "display_name_ci", unique=True),
    Index(None, "org_id", "id"),
    Index(None, "org_id", "external_id"),
)

# One row per direct membership, so a member change costs O(change), not O(group size).
# `member_id` points at a user or a group (`member_type`); no foreign key can say that,
# so the directory deletes a resource's memberships in the same transaction as the resource.
memberships = Table(
    "memberships",
    metadata,
    Column("group_id", String(36), ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", String(36), primary_key=True),
    Column("org_id", String(36), nullable=False),
    Column("member_type", String(8), nullable=False),  # "User" | "Group"
    Index(None, "member_id"),
)

audit_events = Table(
    "audit_events",
    metadata,
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
    "scim_requests",
    metadata,
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
    # A write refused for naming an extension attribute the organisation has not defined:
    # the attribute, and whose write it was (userName/displayName, else externalId or the
    # id in the path), so the troubleshooter counts the users Entra escrows for it.
    Column("undefined_attribute", String(330)),
    Column("subject", String(512)),
    Index(None, "org_id", "time"),
    Index(None, "tracking_id"),
    Index(None, "time"),  # clean-up deletes by age across organisations
)

# -- an organisation's own attributes (SCIM schema extensions) --------------------------

custom_attributes = Table(
    "custom_attributes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    Column("resource_type", String(8), nullable=False),  # "User" | "Group"
    Column("schema_urn", String(256), nullable=False),
    Column("name", String(64), nullable=False),
    Column("path_ci", String(330), nullable=False),  # lower("<schema_urn>:<name>")
    Column("type", String(16), nullable=False),
    Column("multi_valued", Boolean, nullable=False),
    Column("case_exact", Boolean, nullable=False),
    Column("is_unique", Boolean, nullable=False),
    Column("required", Boolean, nullable=False),
    Column("description", Text, nullable=False),
    Column("created", Timestamp, nullable=False),
    UniqueConstraint("org_id", "resource_type", "path_ci"),
)

# The values of custom attributes, one row per value, beside the documents that hold them:
# what filters, sorting and uniqueness use (the document stays what reads return). One
# table for every organisation's attributes keeps writes of everyone else's users free of
# per-attribute indexes. Strings are lower-cased unless caseExact, times are UTC ISO text
# (which sorts as time does), numbers and booleans are in `number_value`.
custom_values = Table(
    "custom_values",
    metadata,
    Column("resource_id", String(36), primary_key=True),
    Column(
        "attribute_id",
        String(36),
        ForeignKey("custom_attributes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    Column("text_value", Text),
    Column("number_value", Float),
    Column("unique_key", Text),  # set for uniqueness=server attributes only
    Index(None, "attribute_id", "text_value"),
    Index(None, "attribute_id", "number_value"),
    UniqueConstraint("attribute_id", "unique_key"),
)

# -- console: admin accounts and server-side sessions ----------------------------------

admins = Table(
    "admins",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False),
    # The key the password form looks the email up by (lower-cased); null for an account
    # that signs in with Entra, which has no password and which that form never opens.
    Column("email_ci", String(320)),
    Column("display_name", String(256), nullable=False),
    Column("password_hash", String(256)),  # argon2id; null: signs in with Entra only
    Column("role", String(16), nullable=False),  # "admin" | "readonly"
    Column("created", Timestamp, nullable=False),
    Column("last_login", Timestamp),
    # An Entra account is the user (tid, oid) signed in as: never matched by email.
    Column("entra_tenant_id", String(36)),
    Column("entra_object_id", String(36)),
    # An account belongs to its organisation: the same email may hold one in each.
    UniqueConstraint("org_id", "email_ci"),
    UniqueConstraint("org_id", "entra_tenant_id", "entra_object_id"),
    Index(None, "email_ci"),  # sign-in looks the email up before it knows the org
)

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 of the cookie value
    Column("admin_id", String(36), ForeignKey("admins.id", ondelete="CASCADE"), nullable=False),
    Column("org_id", String(36), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    # how the admin signed in: "password" | "entra" (switching an org's passwords off ends
    # its password sessions)
    Column("method", String(8), nullable=False, server_default="password"),
    Index(None, "admin_id"),
)

# Sign-ins with Entra under way: MSAL's flow (PKCE verifier, nonce) kept server-side under
# the state's hash, bound to the browser that began it (the hash of its flow cookie).
signin_flows = Table(
    "signin_flows",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    Column("browser_hash", String(64), nullable=False),
    Column("tenant_id", String(36), nullable=False),
    Column("flow", Document, nullable=False),
    Column("next_path", String(512), nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("used_at", Timestamp),
)

# Failed sign-ins, counted per key (account or client address) over a window; shared by
# every API process so the limit holds however many run.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False),
    Column("time", Timestamp, nullable=False),
    Index(None, "key", "time"),
)

# -- the Azure AD (Entra ID) integration -------------------------------------------------

# One row per connected Entra tenant ("instance"): the saved configuration the hub restores
# after the integration app was deleted and consented again.
entra_instances = Table(
    "entra_instances",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    Column("tenant_id", String(36), nullable=False),
    Column("tenant_domain", String(256)),
    Column("name", String(256), nullable=False),
    Column("mode", String(8), nullable=False),  # "push" (Entra's job) | "pull" (Graph delta)
    # the SCIM dialect Entra's job is told to speak: "default" | "aadOptscim062020"
    Column("dialect", String(32), nullable=False, server_default="default"),
    Column("provisioning_app_id", String(36)),  # appId of the instantiated "Identity" app
    Column("provisioning_sp_id", String(36)),  # its service principal's object id
    Column("job_id", String(128)),
    Column("template_id", String(64)),
    Column("scope", String(16), nullable=False),  # "assigned" | "all"
    Column("mappings", Document, nullable=False),
    Column("auto_sync", Boolean, nullable=False),
    Column("scim_token_id", String(36)),  # the hub token Entra's job authenticates with
    Column("hub_url", Text),  # the hub's base URL the job was given (for token renewal)
    Column("users_delta_link", Text),
    Column("groups_delta_link", Text),
    Column("last_status", Document),  # last job status read from Graph
    Column("last_pull", Document),  # counts and times of the last pull cycle
    # The instance's brake on mass removal (directory.deletion_brake.Threshold as JSON);
    # null: the organisation's.
    Column("deletion_threshold", Document),
    Column("created", Timestamp, nullable=False),
    Column("updated", Timestamp, nullable=False),
    Index(None, "org_id", "tenant_id", unique=True),
)

# Setup links: a single-use URL (its secret stored as SHA-256, like tokens) that lets a
# customer's IT admin with no hub account run the Azure AD setup of one organisation. The
# first use exchanges it for a restricted session, kept on the same row (a link makes at
# most one): the session cookie's SHA-256 and its own CSRF token.
setup_links = Table(
    "setup_links",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("note", String(256), nullable=False),  # whom it was sent to, for the listing
    Column("created", Timestamp, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("used_at", Timestamp),
    Column("revoked_at", Timestamp),
    Column("revoked_by", String(256)),
    Column("session_hash", String(64), unique=True),
    Column("csrf_token", String(64)),
    Column("session_expires_at", Timestamp),
    Index(None, "org_id", "created"),
)

# Pending admin-consent round trips: `state` is bound to the admin who started it.
consent_states = Table(
    "consent_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    Column("actor", String(256), nullable=False),
    Column("session_hash", String(64)),
    Column("options", Document, nullable=False),
    # The OpenID Connect sign-in this round trip started (nonce, PKCE verifier, ...).
    Column("flow", Document),
    Column("created", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("used_at", Timestamp),
)

# Upstream failures seen by the integration, with what the troubleshooter needs: the
# tracking id shown to the admin and Entra's own error code and correlation ids.
integration_errors = Table(
    "integration_errors",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    Column("instance_id", String(36)),
    Column("time", Timestamp, nullable=False),
    Column("tracking_id", String(128), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("code", String(16), nullable=False),
    Column("upstream_code", String(64)),  # e.g. AADSTS700016, or Graph's error code
    Column("upstream_message", Text),
    Column("correlation_id", String(64)),
    Column("client_request_id", String(64)),
    Index(None, "org_id", "time"),
    Index(None, "tracking_id"),
)

# Pull sync: which hub resource stands for which source object, and a digest of the
# document last applied, so an unchanged object costs a lookup and no write. The source
# (`instance_id`) is an Entra instance or an LDAP source (`ldap_sources`): no foreign key
# can name either table, so each deletes its links with itself (migration 0015).
entra_links = Table(
    "entra_links",
    metadata,
    Column("instance_id", String(36), primary_key=True),
    Column("object_id", String(36), primary_key=True),
    Column("kind", String(8), nullable=False),  # "User" | "Group"
    Column("resource_id", String(36), nullable=False),
    Column("digest", String(64), nullable=False),
    Index(None, "resource_id"),
)


# -- change events (an outbox written with each change) --------------------------------

# Every change to an organisation's users, groups and memberships, in the transaction that
# made it. `seq` is the event's position in its organisation's stream: handed out from the
# org's row in `event_streams` at the end of the writing transaction, whose row lock is held
# until commit, so positions are taken in commit order and a reader that has seen N has
# seen everything before N (an identity column would be assigned at insert, not commit).
# The primary key is the only index: every write pays for each index of this table, and
# every read goes by position. Retention and replay find a time by walking a stream from
# one end (`Events.prune`, `Webhooks.replay`), reading as many events as they then remove
# or send again; nothing looks an event up by `id` (a UUIDv7, unique by construction).
events = Table(
    "events",
    metadata,
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("id", String(36), nullable=False),
    Column("type", String(40), nullable=False),
    Column("occurred_at", Timestamp, nullable=False),
    Column("data", Document, nullable=False),
    Column("changed", Document),
    Column("source", Document, nullable=False),
)

event_streams = Table(
    "event_streams",
    metadata,
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    # Events up to here were pruned (retention): a cursor before it has lost events.
    Column("pruned_through", BigInteger, nullable=False),
)


# -- webhooks: the event stream delivered to apps' endpoints ---------------------------

# One row per receiving endpoint. `cursor` is the position in the org's event stream up to
# which the endpoint is done (delivered, given up, or not matching its filter); delivery
# reads the next matching event after it, and moves it in the transaction that records the
# delivery. Secrets are Fernet tokens (`delivery.secrets`), never the `whsec_` text itself.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("event_types", Document, nullable=False),  # []: every type
    Column("enabled", Boolean, nullable=False),
    Column("secret_encrypted", Text, nullable=False),
    # during a rotation the old secret signs too, until `previous_valid_until`
    Column("previous_secret_encrypted", Text),
    Column("previous_valid_until", Timestamp),
    Column("cursor", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),  # ok, retrying, disabled
    Column("failing_since", Timestamp),  # the first failure since the last success
    Column("retrying_since", Timestamp),  # the first failed attempt of the head event
    Column("disabled_reason", String(200)),
    Column("next_attempt_at", Timestamp),  # None: as soon as there is an event
    Column("attempts", Integer, nullable=False),  # failed attempts of the head event
    Column("created", Timestamp, nullable=False),
    Index(None, "org_id"),
)

# Every attempt (and every event skipped for good), kept like the request log.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "endpoint_id",
        String(36),
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("org_id", String(36), nullable=False),
    Column("event_seq", BigInteger, nullable=False),  # 0: a test message
    Column("event_id", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("time", Timestamp, nullable=False),
    Column("status_code", Integer),
    Column("latency_ms", Integer),
    Column("error", String(200)),  # short, and never a secret
    Column("outcome", String(16), nullable=False),
    Index(None, "endpoint_id", "id"),
    Index(None, "time"),  # clean-up deletes by age across organisations
)


# -- the recycle bin: deleted users and groups, restorable for SCIMHUB_RECYCLE_DAYS -------

# A deleted resource's row moves here, out of `users`/`groups`: SCIM reads, filters and
# uniqueness see it gone (404, its name free again) at no cost to them. `memberships`
# holds what a restore puts back: a user's group ids ({"groups": [...]}), a group's own
# members and the groups it was in ({"members": [{"member_id", "member_type"}],
# "member_of": [...]}).
recycle_bin = Table(
    "recycle_bin",
    metadata,
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("resource_type", String(8), nullable=False),  # "User" | "Group"
    Column("name", String(512), nullable=False),  # userName / displayName
    Column("name_ci", String(512), nullable=False),
    Column("external_id", String(512)),
    Column("display_name", String(512)),
    Column("active", Boolean),  # users only
    Column("password_hash", String(256)),  # users only
    Column("data", Document, nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("last_modified", Timestamp, nullable=False),
    Column("version", Integer, nullable=False),
    Column("memberships", Document, nullable=False),
    Column("deleted_at", Timestamp, nullable=False),
    Column("deleted_by", Document, nullable=False),  # the change's source (events.Source)
    Column("provisioned_by", Document),
    Index(None, "org_id", "resource_type", "deleted_at"),
    Index(None, "deleted_at"),  # the purge deletes by age across organisations
)

# Removals pull sync found (Graph's @removed, LDAP entries gone): noted during a round, then
# at its end applied, or all held when they would cross the source's threshold, until an
# admin approves or discards them (directory.deletion_brake). Applied ones are the window's count.
removals = Table(
    "removals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    # the sync source, an Entra instance or an LDAP source (no foreign key, as entra_links)
    Column("instance_id", String(36), nullable=False),
    Column("object_id", String(64), nullable=False),  # the source object's id
    Column("resource_type", String(8), nullable=False),  # "User" | "Group"
    Column("resource_id", String(36), nullable=False),
    Column("name", String(512), nullable=False),  # userName / displayName when noted
    Column("action", String(16), nullable=False),  # "delete" | "deactivate"
    Column("state", String(16), nullable=False),  # pending | held | applied | discarded
    Column("noted", Timestamp, nullable=False),
    Column("decided", Timestamp),  # when applied or discarded
    Column("decided_by", String(256)),
    Index(None, "instance_id", "state", "noted"),
    Index(None, "instance_id", "decided"),
)

# Bursts of removals Entra's push job made (deletions and deactivations by its SCIM token
# within a threshold's window): the hub applied them (it cannot refuse Entra without a
# quarantine), and an admin restores or dismisses each (directory.removal_bursts).
removal_bursts = Table(
    "removal_bursts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    Column(
        "instance_id",
        String(36),
        ForeignKey("entra_instances.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("source", Document, nullable=False),  # the events' source (the job's token)
    Column("started", Timestamp, nullable=False),
    Column("ended", Timestamp, nullable=False),
    Column("removals", Integer, nullable=False),
    Column("first_seq", BigInteger, nullable=False),  # the org's event stream, inclusive
    Column("last_seq", BigInteger, nullable=False),
    Column("tracking_ids", Document, nullable=False),  # a sample, first ones first
    Column("state", String(16), nullable=False),  # open | restored | dismissed
    Column("decided", Timestamp),
    Column("decided_by", String(256)),
    Column("outcome", Document),  # what a restore did
    Index(None, "org_id", "state"),
)

# Where the burst scan of a push instance is in its organisation's event stream, and the
# window it is counting.
burst_scans = Table(
    "burst_scans",
    metadata,
    Column(
        "instance_id",
        String(36),
        ForeignKey("entra_instances.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("last_seq", BigInteger, nullable=False),
    Column("window_started", Timestamp),
    Column("window_first_seq", BigInteger),
    Column("window_removals", Integer, nullable=False),
    Column("burst_id", String(36)),  # the burst this window became, if it did
)


# -- directory sync from AD / LDAP ------------------------------------------------------

# One LDAP source per organisation: where the directory is, how the hub binds (the password
# a Fernet token, as webhook secrets), what it reads (`config`: bases, filters, mapping,
# page size, nested groups, the user population it owns) and where its rounds are
# (`state`: high-water marks, the server they belong to, the last comparison of ids).
ldap_sources = Table(
    "ldap_sources",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("url", Text, nullable=False),
    Column("bind_dn", Text, nullable=False),
    Column("password_encrypted", Text, nullable=False),
    Column("config", Document, nullable=False),
    Column("state", Document, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("last_round", Document),  # counts and time of the last round
    Column("deletion_threshold", Document),  # null: the organisation's
    Column("created", Timestamp, nullable=False),
    Column("updated", Timestamp, nullable=False),
    Index(None, "org_id", unique=True),
)

# Where each entry of an LDAP source is: its DN (lower-cased), by its stable id. Group
# members are DNs; a round that reads only what changed resolves them here.
ldap_entries = Table(
    "ldap_entries",
    metadata,
    Column(
        "source_id", String(36), ForeignKey("ldap_sources.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("object_id", String(36), primary_key=True),
    Column("dn_ci", Text, nullable=False),
    Column("kind", String(8), nullable=False),  # "User" | "Group"
    Index(None, "source_id", "dn_ci"),
)
