"""An organisation's LDAP source (Active Directory or any LDAP directory): the saved
configuration, the bind password as a Fernet token (never in the clear, never shown
again), the state of its rounds, and where each of its entries is (DN by stable id).

What the configuration means is `integrations.ldap`'s; here it is stored, one source per
organisation. The source's links and removals are the pull machinery's rows
(`entra_links`, `removals`, keyed by the source's id) and go with it."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from ..store.engine import Database, as_utc, utcnow
from ..store.tables import entra_links, ldap_entries, ldap_sources, removals
from ..store.upsert import insert_ignoring_duplicates
from .events import EventType, NewEvent, record

_CHUNK = 500


class SourceExists(Exception):
    """The organisation has an LDAP source already (one per organisation)."""


@dataclass(frozen=True, slots=True)
class LdapSource:
    id: str
    org_id: str
    name: str
    url: str
    bind_dn: str
    password_encrypted: str
    config: dict[str, Any]
    state: dict[str, Any]
    enabled: bool
    last_round: dict[str, Any] | None
    deletion_threshold: dict[str, Any] | None
    created: datetime
    updated: datetime


def _source(r: Any) -> LdapSource:
    return LdapSource(
        r.id,
        r.org_id,
        r.name,
        r.url,
        r.bind_dn,
        r.password_encrypted,
        dict(r.config),
        dict(r.state or {}),
        bool(r.enabled),
        r.last_round,
        r.deletion_threshold,
        as_utc(r.created),
        as_utc(r.updated),
    )


class LdapSources:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, org_id: str, source_id: str) -> LdapSource | None:
        t = ldap_sources
        with self.db.read() as conn:
            row = conn.execute(select(t).where(t.c.org_id == org_id, t.c.id == source_id)).first()
        return _source(row) if row else None

    def of_org(self, org_id: str) -> LdapSource | None:
        t = ldap_sources
        with self.db.read() as conn:
            row = conn.execute(select(t).where(t.c.org_id == org_id)).first()
        return _source(row) if row else None

    def enabled(self) -> builtins.list[LdapSource]:
        """Every enabled source, of every organisation (the scheduled rounds)."""
        t = ldap_sources
        with self.db.read() as conn:
            rows = conn.execute(select(t).where(t.c.enabled.is_(True)).order_by(t.c.id)).all()
        return [_source(r) for r in rows]

    def create(self, org_id: str, **values: Any) -> LdapSource:
        now = utcnow()
        row = {
            "id": str(uuid.uuid4()),
            "org_id": org_id,
            "state": {},
            "created": now,
            "updated": now,
            **values,
        }
        with self.db.write() as conn:
            if conn.execute(
                select(ldap_sources.c.id).where(ldap_sources.c.org_id == org_id)
            ).first():
                raise SourceExists(org_id)
            conn.execute(ldap_sources.insert().values(**row))
        found = self.get(org_id, row["id"])
        assert found is not None
        return found

    def update(self, source: LdapSource, **values: Any) -> LdapSource:
        t = ldap_sources
        with self.db.write() as conn:
            conn.execute(update(t).where(t.c.id == source.id).values(**values, updated=utcnow()))
        found = self.get(source.org_id, source.id)
        assert found is not None
        return found

    def finish_round(self, source: LdapSource, counts: dict[str, Any]) -> LdapSource:
        """Save a finished round's counts and record its `sync.completed` event, in one
        transaction (the event has the shape an Entra pull round's has)."""
        t = ldap_sources
        with self.db.write() as conn:
            conn.execute(
                update(t).where(t.c.id == source.id).values(last_round=counts, updated=utcnow())
            )
            data = {"instance_id": source.id, "name": source.name, "counts": counts}
            record(conn, source.org_id, [NewEvent(EventType.SYNC_COMPLETED, data)])
        found = self.get(source.org_id, source.id)
        assert found is not None
        return found

    def delete(self, source: LdapSource) -> None:
        """Forget the source with its entries, links and removals; the users and groups it
        brought stay in the hub."""
        with self.db.write() as conn:
            conn.execute(delete(entra_links).where(entra_links.c.instance_id == source.id))
            conn.execute(delete(removals).where(removals.c.instance_id == source.id))
            conn.execute(delete(ldap_entries).where(ldap_entries.c.source_id == source.id))
            conn.execute(delete(ldap_sources).where(ldap_sources.c.id == source.id))

    # -- where the entries are ----------------------------------------------------------

    def save_entries(self, source_id: str, entries: Iterable[tuple[str, str, str]]) -> None:
        """(object id, DN, kind) of entries written: a renamed or moved entry gets its new
        DN."""
        rows = {oid: (dn.lower(), kind) for oid, dn, kind in entries}
        if not rows:
            return
        t = ldap_entries
        ids = list(rows)
        dns = sorted({dn for dn, _ in rows.values()})
        with self.db.write() as conn:
            for i in range(0, len(ids), _CHUNK):
                conn.execute(
                    delete(t).where(
                        t.c.source_id == source_id, t.c.object_id.in_(ids[i : i + _CHUNK])
                    )
                )
            # A DN names one entry: an entry deleted and another made in its place
            for i in range(0, len(dns), _CHUNK):
                conn.execute(
                    delete(t).where(t.c.source_id == source_id, t.c.dn_ci.in_(dns[i : i + _CHUNK]))
                )
            insert_ignoring_duplicates(
                conn,
                t,
                [
                    {"source_id": source_id, "object_id": oid, "dn_ci": dn, "kind": kind}
                    for oid, (dn, kind) in rows.items()
                ],
            )

    def ids_of(self, source_id: str, dns: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Lower-cased DN → (object id, kind), for the DNs this source has seen."""
        wanted = sorted({d.lower() for d in dns})
        t = ldap_entries
        found: dict[str, tuple[str, str]] = {}
        with self.db.read() as conn:
            for i in range(0, len(wanted), _CHUNK):
                for r in conn.execute(
                    select(t.c.dn_ci, t.c.object_id, t.c.kind).where(
                        t.c.source_id == source_id, t.c.dn_ci.in_(wanted[i : i + _CHUNK])
                    )
                ):
                    found[r.dn_ci] = (r.object_id, r.kind)
        return found

    def forget_entries(self, source_id: str, object_ids: Iterable[str]) -> None:
        ids = list(object_ids)
        t = ldap_entries
        with self.db.write() as conn:
            for i in range(0, len(ids), _CHUNK):
                conn.execute(
                    delete(t).where(
                        t.c.source_id == source_id, t.c.object_id.in_(ids[i : i + _CHUNK])
                    )
                )
