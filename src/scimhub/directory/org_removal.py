"""Deleting an organisation and everything that belongs to it (`DELETE /api/v1/orgs/{id}`).

Every table holding an organisation's rows is named here (tests/directory/test_org_removal.py
checks that against the table definitions, so a new table cannot be forgotten), children
first. Most cascade from `orgs` too, but some do not (`memberships`, `scim_requests`,
`webhook_deliveries` and `custom_values` point at their parents, or at nothing), and one
cascading transaction over 100,000 users would hold SQLite's single write lock, which every
other organisation's writes wait for, for seconds. So rows go in chunks of `CHUNK`, one
short transaction each; then one last transaction removes whatever arrived meanwhile, the
organisation's row, and records `org.deleted` in the hub's own trail (`org_id` NULL, which
outlives the organisation: its own trail is its data and goes with it).

Its credentials go first (tokens, setup links, console accounts and sessions), so nothing
new arrives but what was already on its way; callers flush the request log before, so its
buffered entries are not written after.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, select

from ..store.engine import Database
from ..store.tables import (
    admins,
    audit_events,
    burst_scans,
    consent_states,
    custom_attributes,
    custom_values,
    entra_instances,
    entra_links,
    event_streams,
    events,
    groups,
    integration_errors,
    ldap_entries,
    ldap_sources,
    memberships,
    orgs,
    recycle_bin,
    removal_bursts,
    removals,
    scim_requests,
    sessions,
    setup_links,
    signin_flows,
    tokens,
    users,
    webhook_deliveries,
    webhook_endpoints,
)
from .actor import Actor
from .audit import Audit
from .errors import OrgNotFound
from .orgs import Orgs

CHUNK = 500

Tally = Counter[str]
# One step removes up to CHUNK rows of one kind (with what hangs on them) and says how many
# of its own rows went: 0 when none are left.
Step = Callable[[Connection, str, Tally], int]


def _chunk(conn: Connection, table: Any, key: Any, where: ColumnElement[bool], tally: Tally) -> int:
    """Up to CHUNK rows of `table` matching `where`, picked by `key` (unique under it)."""
    picked = conn.execute(select(key).where(where).limit(CHUNK)).scalars().all()
    if not picked:
        return 0
    # By the primary key alone when `key` is it: with `where` too, SQLite may walk the
    # `where` index over every row left instead (each chunk would cost what remains).
    chosen = key.in_(picked)
    if list(table.primary_key.columns) != [key]:
        chosen = and_(where, chosen)
    n = int(conn.execute(delete(table).where(chosen)).rowcount)
    tally[str(table.name)] += n
    return n


def _by_org(table: Any, key: str) -> Step:
    def step(conn: Connection, org_id: str, tally: Tally) -> int:
        return _chunk(conn, table, table.c[key], table.c.org_id == org_id, tally)

    return step


def _under(parent: Any, table: Any, fk: str, key: str) -> Step:
    """Rows of `table` hanging on the organisation's `parent` rows (no org_id of their own,
    or none indexed), parent by parent on the (fk, key) index."""

    def step(conn: Connection, org_id: str, tally: Tally) -> int:
        owners = select(parent.c.id).where(parent.c.org_id == org_id)
        for owner in conn.execute(owners).scalars().all():
            n = _chunk(conn, table, table.c[key], table.c[fk] == owner, tally)
            if n:
                return n
        return 0

    return step


def _sessions(conn: Connection, org_id: str, tally: Tally) -> int:
    accounts = select(admins.c.id).where(admins.c.org_id == org_id)
    n = int(conn.execute(delete(sessions).where(sessions.c.admin_id.in_(accounts))).rowcount)
    tally[str(sessions.name)] += n
    return n


def _resources(table: Any, kind: str) -> Step:
    """Users or groups, with their memberships both ways and their custom values."""

    def step(conn: Connection, org_id: str, tally: Tally) -> int:
        ids = (
            conn.execute(select(table.c.id).where(table.c.org_id == org_id).limit(CHUNK))
            .scalars()
            .all()
        )
        if not ids:
            return 0
        m = memberships
        gone = conn.execute(delete(m).where(m.c.member_id.in_(ids))).rowcount
        if kind == "Group":
            gone += conn.execute(delete(m).where(m.c.group_id.in_(ids))).rowcount
        tally[str(m.name)] += int(gone)
        values = delete(custom_values).where(custom_values.c.resource_id.in_(ids))
        tally[str(custom_values.name)] += int(conn.execute(values).rowcount)
        n = int(conn.execute(delete(table).where(table.c.id.in_(ids))).rowcount)
        tally[str(table.name)] += n
        return n

    return step


STEPS: tuple[tuple[str, Step], ...] = (
    # credentials first: nothing new arrives once they are gone
    ("tokens", _by_org(tokens, "id")),
    ("setup_links", _by_org(setup_links, "id")),
    ("sessions", _sessions),
    ("admins", _by_org(admins, "id")),
    ("consent_states", _by_org(consent_states, "state_hash")),
    ("signin_flows", _by_org(signin_flows, "state_hash")),
    # the Entra integration
    ("entra_links", _under(entra_instances, entra_links, "instance_id", "object_id")),
    ("burst_scans", _under(entra_instances, burst_scans, "instance_id", "instance_id")),
    ("removals", _by_org(removals, "id")),
    ("removal_bursts", _by_org(removal_bursts, "id")),
    ("integration_errors", _by_org(integration_errors, "id")),
    ("entra_instances", _by_org(entra_instances, "id")),
    # AD / LDAP sources: their links (keyed by source, as Entra's), entries, the sources
    ("ldap links", _under(ldap_sources, entra_links, "instance_id", "object_id")),
    ("ldap_entries", _under(ldap_sources, ldap_entries, "source_id", "object_id")),
    ("ldap_sources", _by_org(ldap_sources, "id")),
    # webhooks
    ("webhook_deliveries", _under(webhook_endpoints, webhook_deliveries, "endpoint_id", "id")),
    ("webhook_endpoints", _by_org(webhook_endpoints, "id")),
    # the directory
    ("users", _resources(users, "User")),
    ("groups", _resources(groups, "Group")),
    ("recycle_bin", _by_org(recycle_bin, "id")),
    # values left on the attributes (their resources went above): none, unless one landed
    ("custom_values", _under(custom_attributes, custom_values, "attribute_id", "resource_id")),
    ("custom_attributes", _by_org(custom_attributes, "id")),
    ("events", _by_org(events, "seq")),
    ("event_streams", _by_org(event_streams, "org_id")),
    # logs
    ("scim_requests", _by_org(scim_requests, "id")),
    ("audit_events", _by_org(audit_events, "id")),
)


class OrgRemoval:
    def __init__(self, db: Database) -> None:
        self.db = db

    def remove(self, org_id: str, *, actor: Actor) -> dict[str, int]:
        """Delete the organisation and all of its data; the rows removed per table. Raises
        OrgNotFound (also when another removal finished it first)."""
        org = Orgs(self.db).get(org_id)
        tally: Tally = Counter()
        for _name, step in STEPS:
            while True:
                with self.db.write() as conn:
                    if not step(conn, org_id, tally):
                        break
        with self.db.write() as conn:
            for _name, step in STEPS:  # what arrived while the chunks went
                while step(conn, org_id, tally):
                    pass
            if not conn.execute(delete(orgs).where(orgs.c.id == org_id)).rowcount:
                raise OrgNotFound(org_id)
            tally[str(orgs.name)] += 1
            removed = {table: n for table, n in sorted(tally.items()) if n}
            Audit(self.db).record(
                None,
                actor.name,
                "org.deleted",
                target=org_id,
                detail={"name": org.name, "removed": removed},
                tracking_id=actor.tracking_id,
                conn=conn,
            )
        return removed
