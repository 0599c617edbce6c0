"""An organisation's data as one JSON document (`GET /api/v1/orgs/{id}/export`), for the
operator to keep before deleting it.

    {"format": "scimhub.export/1", "exportedAt": ..., "org": {...},
     "customAttributes": [...], "users": [...], "groups": [...], "nestedGroups": [...],
     "deletedResources": [...], "instances": [...], "webhooks": [...], "admins": [...],
     "tokens": [...], "setupLinks": [...], "audit": [...], "provisioningLog": [...],
     "events": [...]}

Users and groups are their SCIM documents (users with their `groups`; a group's user
members are those entries, its group members are `nestedGroups`). Every other section lists
the columns it exports by name: nothing is exported because a column exists, so no secret
(password hashes, token and link hashes, webhook secrets, consent flows) can leave with it.

The document is produced a page at a time (`PAGE` rows, keyset-paged on an index), inside
one snapshot so its parts agree with each other: memory stays at one page whatever the
organisation's size, and the time is linear in it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Select, and_, or_, select

from ..store.engine import Database, event_time
from ..store.tables import (
    admins,
    audit_events,
    custom_attributes,
    entra_instances,
    events,
    groups,
    ldap_sources,
    memberships,
    orgs,
    recycle_bin,
    scim_requests,
    setup_links,
    tokens,
    users,
    webhook_endpoints,
)
from .errors import OrgNotFound
from .events import cursor_of
from .locator import Locator
from .render import document, groups_of

FORMAT = "scimhub.export/1"
PAGE = 500
_JSON = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z  # SQLite's times are naive UTC

Page = list[dict[str, Any]]
Section = Callable[[Connection, str, Locator], Iterator[Page]]


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=_JSON)


def _after(keys: Sequence[Any], last: Sequence[Any]) -> ColumnElement[bool]:
    """Rows after `last` in the order of `keys` (one or two columns)."""
    if len(keys) == 1:
        return keys[0] > last[0]  # type: ignore[no-any-return]
    first, second = keys
    return or_(first > last[0], and_(first == last[0], second > last[1]))


def _keyset(conn: Connection, query: Select[Any], keys: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """The rows of `query` a page at a time, in the order of `keys` (an index's)."""
    last: Sequence[Any] | None = None
    while True:
        paged = query if last is None else query.where(_after(keys, last))
        rows = conn.execute(paged.order_by(*keys).limit(PAGE)).all()
        if not rows:
            return
        yield rows
        last = [getattr(rows[-1], k.name) for k in keys]
        if len(rows) < PAGE:
            return


def _columns(row: Any, names: dict[str, str]) -> dict[str, Any]:
    """The named columns of a row under their export names."""
    return {out: getattr(row, column) for out, column in names.items()}


def _listing(table: Any, names: dict[str, str], keys: Sequence[str]) -> Section:
    """A section of one table's rows of the organisation, as the named columns."""

    def section(conn: Connection, org_id: str, loc: Locator) -> Iterator[Page]:
        query = select(table).where(table.c.org_id == org_id)
        for rows in _keyset(conn, query, [table.c[k] for k in keys]):
            yield [_columns(r, names) for r in rows]

    return section


def _users(conn: Connection, org_id: str, loc: Locator) -> Iterator[Page]:
    for rows in _keyset(conn, select(users).where(users.c.org_id == org_id), [users.c.id]):
        member_of = groups_of(conn, [r.id for r in rows], loc)
        yield [document(r, "User", loc, {"groups": member_of[r.id]}) for r in rows]


def _groups(conn: Connection, org_id: str, loc: Locator) -> Iterator[Page]:
    for rows in _keyset(conn, select(groups).where(groups.c.org_id == org_id), [groups.c.id]):
        yield [document(r, "Group", loc, {"members": None}) for r in rows]


def _nested_groups(conn: Connection, org_id: str, loc: Locator) -> Iterator[Page]:
    """Groups that are members of groups (users' memberships are their `groups`)."""
    m = memberships
    ids = select(groups.c.id).where(groups.c.org_id == org_id)
    for rows in _keyset(conn, ids, [groups.c.id]):
        found = conn.execute(
            select(m.c.group_id, m.c.member_id)
            .where(m.c.group_id.in_([r.id for r in rows]), m.c.member_type == "Group")
            .order_by(m.c.group_id, m.c.member_id)
        ).all()
        if found:
            yield [{"groupId": f.group_id, "memberGroupId": f.member_id} for f in found]


def _events(conn: Connection, org_id: str, loc: Locator) -> Iterator[Page]:
    query = select(events).where(events.c.org_id == org_id)
    for rows in _keyset(conn, query, [events.c.seq]):
        yield [
            {
                "id": r.id,
                "type": r.type,
                "occurredAt": r.occurred_at,
                "data": r.data,
                "changed": r.changed,
                "source": r.source,
                "cursor": cursor_of(r.seq),
            }
            for r in rows
        ]


# Each section: its name in the document, how its items are read. Columns are named one by
# one, so a secret added to a table later is not exported by accident.
SECTIONS: tuple[tuple[str, Section], ...] = (
    (
        "customAttributes",
        _listing(
            custom_attributes,
            {
                "id": "id",
                "resource": "resource_type",
                "schema": "schema_urn",
                "name": "name",
                "type": "type",
                "multiValued": "multi_valued",
                "caseExact": "case_exact",
                "unique": "is_unique",
                "required": "required",
                "description": "description",
                "created": "created",
            },
            ["id"],
        ),
    ),
    ("users", _users),
    ("groups", _groups),
    ("nestedGroups", _nested_groups),
    (
        "deletedResources",  # the recycle bin (never a password hash)
        _listing(
            recycle_bin,
            {
                "id": "id",
                "resourceType": "resource_type",
                "name": "name",
                "externalId": "external_id",
                "displayName": "display_name",
                "active": "active",
                "data": "data",
                "memberships": "memberships",
                "created": "created",
                "lastModified": "last_modified",
                "deletedAt": "deleted_at",
                "deletedBy": "deleted_by",
            },
            ["id"],
        ),
    ),
    (
        "instances",  # the saved Entra configuration (no delta links, no consent flows)
        _listing(
            entra_instances,
            {
                "id": "id",
                "tenantId": "tenant_id",
                "tenantDomain": "tenant_domain",
                "name": "name",
                "mode": "mode",
                "dialect": "dialect",
                "scope": "scope",
                "mappings": "mappings",
                "autoSync": "auto_sync",
                "provisioningAppId": "provisioning_app_id",
                "provisioningServicePrincipalId": "provisioning_sp_id",
                "jobId": "job_id",
                "templateId": "template_id",
                "scimTokenId": "scim_token_id",
                "deletionThreshold": "deletion_threshold",
                "lastStatus": "last_status",
                "lastPull": "last_pull",
                "created": "created",
                "updated": "updated",
            },
            ["id"],
        ),
    ),
    (
        "ldapSources",  # the AD / LDAP source's settings (never its bind password)
        _listing(
            ldap_sources,
            {
                "id": "id",
                "name": "name",
                "url": "url",
                "bindDn": "bind_dn",
                "config": "config",
                "enabled": "enabled",
                "lastRound": "last_round",
                "deletionThreshold": "deletion_threshold",
                "created": "created",
                "updated": "updated",
            },
            ["id"],
        ),
    ),
    (
        "webhooks",  # never a signing secret
        _listing(
            webhook_endpoints,
            {
                "id": "id",
                "url": "url",
                "eventTypes": "event_types",
                "enabled": "enabled",
                "state": "state",
                "disabledReason": "disabled_reason",
                "created": "created",
            },
            ["id"],
        ),
    ),
    (
        "admins",  # never a password hash
        _listing(
            admins,
            {
                "id": "id",
                "email": "email",
                "displayName": "display_name",
                "role": "role",
                "created": "created",
                "lastLogin": "last_login",
            },
            ["id"],
        ),
    ),
    (
        "tokens",  # never a hash: the prefix recognises one
        _listing(
            tokens,
            {
                "id": "id",
                "name": "name",
                "kind": "kind",
                "scope": "scope",
                "prefix": "prefix",
                "created": "created",
                "expiresAt": "expires_at",
                "revokedAt": "revoked_at",
            },
            ["id"],
        ),
    ),
    (
        "setupLinks",  # never the link's or its session's hash
        _listing(
            setup_links,
            {
                "id": "id",
                "note": "note",
                "created": "created",
                "createdBy": "created_by",
                "expiresAt": "expires_at",
                "usedAt": "used_at",
                "revokedAt": "revoked_at",
                "revokedBy": "revoked_by",
            },
            ["id"],
        ),
    ),
    (
        "audit",  # oldest first
        _listing(
            audit_events,
            {
                "id": "id",
                "time": "time",
                "actor": "actor",
                "action": "action",
                "target": "target",
                "detail": "detail",
                "trackingId": "tracking_id",
            },
            ["time", "id"],
        ),
    ),
    (
        "provisioningLog",  # the request log, oldest first
        _listing(
            scim_requests,
            {
                "time": "time",
                "method": "method",
                "path": "path",
                "resourceType": "resource_type",
                "status": "status",
                "scimType": "scim_type",
                "durationMs": "duration_ms",
                "trackingId": "tracking_id",
                "client": "client",
                "tokenId": "token_id",
            },
            ["time", "id"],
        ),
    ),
    ("events", _events),
)


class OrgExport:
    def __init__(self, db: Database) -> None:
        self.db = db

    def pieces(self, org_id: str, loc: Locator) -> Generator[bytes, None, None]:
        """The document in pieces (each a page of one section), read in one snapshot.
        Raises OrgNotFound at the first piece when the organisation does not exist."""
        with self.db.snapshot() as conn:
            org = conn.execute(select(orgs).where(orgs.c.id == org_id)).first()
            if org is None:
                raise OrgNotFound(org_id)
            head = {
                "format": FORMAT,
                "exportedAt": event_time(),
                "org": {
                    "id": org.id,
                    "name": org.name,
                    "created": org.created,
                    "settings": org.settings,
                },
            }
            yield _dumps(head)[:-1]  # the object stays open for the sections
            for name, section in SECTIONS:
                yield b',"' + name.encode() + b'":['
                separator = b""
                for page in section(conn, org_id, loc):
                    yield separator + b",".join(_dumps(item) for item in page)
                    separator = b","
                yield b"]"
            yield b"}"
