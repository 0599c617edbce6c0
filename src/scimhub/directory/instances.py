"""The hub's record of its Entra ID connections ("instances"): the saved configuration
that "Allow Azure AD sync" restores, the pending admin-consent round trips, and the
integration failures the troubleshooter explains. What happens to an instance that apps
may follow is recorded as change events here, beside the rows: `integration.error` with
each failure, `integration.restored`, and `sync.completed` at the end of a pull round."""

from __future__ import annotations

import builtins
import hashlib
import threading
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select, update

from ..store.engine import Database, as_utc, event_time, utcnow
from ..store.locks import try_lock
from ..store.tables import (
    consent_states,
    entra_instances,
    entra_links,
    integration_errors,
    removals,
)
from .events import EventType, NewEvent, record

CONSENT_STATE_TTL = timedelta(minutes=15)


class Mode(StrEnum):
    """How an instance's users reach the hub (the stored value)."""

    PUSH = "push"  # Entra's provisioning job sends them over SCIM
    PULL = "pull"  # the hub reads Graph delta queries itself


# Which Entra users an instance provisions: those assigned to the app, or everyone.
SCOPES = ("assigned", "all")


class Dialect(StrEnum):
    """The SCIM dialect Entra's job is asked to speak; the non-default one is selected by
    its name as a flag on the job's tenant URL (BaseAddress)."""

    DEFAULT = "default"
    AAD_OPT_SCIM_062020 = "aadOptscim062020"


@dataclass(frozen=True, slots=True)
class Instance:
    id: str
    org_id: str
    tenant_id: str
    tenant_domain: str | None
    name: str
    mode: Mode
    dialect: Dialect
    provisioning_app_id: str | None
    provisioning_sp_id: str | None
    job_id: str | None
    template_id: str | None
    scope: str
    mappings: list[dict[str, Any]]
    auto_sync: bool
    scim_token_id: str | None
    hub_url: str | None
    users_delta_link: str | None
    groups_delta_link: str | None
    last_status: dict[str, Any] | None
    last_pull: dict[str, Any] | None
    created: datetime
    updated: datetime
    deletion_threshold: dict[str, Any] | None = None  # deletion_brake.Threshold; None: the org's


@dataclass(frozen=True, slots=True)
class ConsentState:
    org_id: str
    actor: str
    session_hash: str | None
    options: dict[str, Any]
    flow: dict[str, Any]  # the OpenID Connect sign-in (nonce, PKCE verifier): server-side


class ConsentSessionMismatch(Exception):
    """A consent state came back in another browser session than the one that began it."""


@dataclass(frozen=True, slots=True)
class IntegrationFailure:
    id: int
    org_id: str
    instance_id: str | None
    time: datetime
    tracking_id: str
    operation: str
    status: int
    code: str
    upstream_code: str | None
    upstream_message: str | None
    correlation_id: str | None
    client_request_id: str | None


def _instance(r: Any) -> Instance:
    return Instance(
        r.id,
        r.org_id,
        r.tenant_id,
        r.tenant_domain,
        r.name,
        Mode(r.mode),
        Dialect(r.dialect),
        r.provisioning_app_id,
        r.provisioning_sp_id,
        r.job_id,
        r.template_id,
        r.scope,
        list(r.mappings),
        r.auto_sync,
        r.scim_token_id,
        r.hub_url,
        r.users_delta_link,
        r.groups_delta_link,
        r.last_status,
        r.last_pull,
        as_utc(r.created),
        as_utc(r.updated),
        r.deletion_threshold,
    )


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Instances:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._round_locks: dict[str, threading.Lock] = {}
        self._round_locks_guard = threading.Lock()

    # -- saved configuration ------------------------------------------------------------

    def list(self, org_id: str) -> list[Instance]:
        t = entra_instances
        with self.db.read() as conn:
            rows = conn.execute(
                select(t).where(t.c.org_id == org_id).order_by(t.c.created, t.c.id)
            ).all()
        return [_instance(r) for r in rows]

    def get(self, org_id: str, instance_id: str) -> Instance | None:
        t = entra_instances
        with self.db.read() as conn:
            row = conn.execute(select(t).where(t.c.org_id == org_id, t.c.id == instance_id)).first()
        return _instance(row) if row else None

    def by_tenant(self, org_id: str, tenant_id: str) -> Instance | None:
        t = entra_instances
        with self.db.read() as conn:
            row = conn.execute(
                select(t).where(t.c.org_id == org_id, t.c.tenant_id == tenant_id)
            ).first()
        return _instance(row) if row else None

    def orgs_with_tenant(self, tenant_id: str) -> set[str]:
        """The organisations an Entra tenant is connected to (normally at most one)."""
        t = entra_instances
        with self.db.read() as conn:
            return set(conn.execute(select(t.c.org_id).where(t.c.tenant_id == tenant_id)).scalars())

    def all_in_mode(self, mode: Mode) -> builtins.list[Instance]:
        t = entra_instances
        with self.db.read() as conn:
            rows = conn.execute(select(t).where(t.c.mode == mode)).all()
        return [_instance(r) for r in rows]

    def create(self, org_id: str, tenant_id: str, **values: Any) -> Instance:
        now = utcnow()
        row = {
            "id": str(uuid.uuid4()),
            "org_id": org_id,
            "tenant_id": tenant_id,
            "created": now,
            "updated": now,
            **values,
        }
        with self.db.write() as conn:
            conn.execute(entra_instances.insert().values(**row))
        found = self.get(org_id, row["id"])
        assert found is not None
        return found

    def update(self, instance: Instance, **values: Any) -> Instance:
        t = entra_instances
        with self.db.write() as conn:
            conn.execute(update(t).where(t.c.id == instance.id).values(**values, updated=utcnow()))
        found = self.get(instance.org_id, instance.id)
        assert found is not None
        return found

    def finish_pull(self, instance: Instance, counts: dict[str, Any]) -> Instance:
        """Save a finished pull round's counts and record its `sync.completed` event, in
        one transaction."""
        t = entra_instances
        with self.db.write() as conn:
            conn.execute(
                update(t).where(t.c.id == instance.id).values(last_pull=counts, updated=utcnow())
            )
            data = {"instance_id": instance.id, "name": instance.name, "counts": counts}
            record(conn, instance.org_id, [NewEvent(EventType.SYNC_COMPLETED, data)])
        found = self.get(instance.org_id, instance.id)
        assert found is not None
        return found

    def record_restored(self, instance: Instance, restored: str) -> None:
        """An `integration.restored` event: the tenant was brought back to the saved
        configuration (`restored`: "app" recreated with its job, "job" recreated, or
        "configuration" re-applied to what still existed)."""
        data = {"instance_id": instance.id, "name": instance.name, "restored": restored}
        with self.db.write() as conn:
            record(conn, instance.org_id, [NewEvent(EventType.INTEGRATION_RESTORED, data)])

    def delete(self, instance: Instance) -> None:
        """Forget the instance with its links and removals (no foreign key ties those to
        it: they may belong to an LDAP source too)."""
        with self.db.write() as conn:
            conn.execute(delete(entra_links).where(entra_links.c.instance_id == instance.id))
            conn.execute(delete(removals).where(removals.c.instance_id == instance.id))
            conn.execute(delete(entra_instances).where(entra_instances.c.id == instance.id))

    def prune_consent_states(self, now: datetime) -> int:
        """Forget consent round trips that expired unanswered or were answered."""
        with self.db.write() as conn:
            return conn.execute(
                delete(consent_states).where(consent_states.c.expires_at < now)
            ).rowcount

    def prune_failures(self, before: datetime) -> int:
        with self.db.write() as conn:
            return conn.execute(
                delete(integration_errors).where(integration_errors.c.time < before)
            ).rowcount

    @contextmanager
    def round_lock(self, instance_id: str, *, wait: bool = True) -> Iterator[bool]:
        """Held while a sync round (or a decision on its held removals) runs for the
        instance; False: busy. In this process a second caller waits for the first
        (`wait`) or is told at once; in another (PostgreSQL), it is told."""
        with self._round_locks_guard:
            local = self._round_locks.setdefault(instance_id, threading.Lock())
        if not local.acquire(blocking=wait):
            yield False
            return
        try:
            with try_lock(self.db, f"sync-round:{instance_id}") as mine:
                yield mine
        finally:
            local.release()

    # -- admin consent round trips ------------------------------------------------------

    def new_consent_state(
        self,
        state: str,
        org_id: str,
        actor: str,
        session_hash: str | None,
        options: dict[str, Any],
        flow: dict[str, Any],
    ) -> None:
        """Remember a setup sign-in until the admin comes back with `state`."""
        now = utcnow()
        with self.db.write() as conn:
            conn.execute(delete(consent_states).where(consent_states.c.expires_at < now))
            conn.execute(
                consent_states.insert().values(
                    state_hash=_hash(state),
                    org_id=org_id,
                    actor=actor,
                    session_hash=session_hash,
                    options=options,
                    flow=flow,
                    created=now,
                    expires_at=now + CONSENT_STATE_TTL,
                )
            )

    def consume_consent_state(
        self, state: str, session_hashes: Collection[str]
    ) -> ConsentState | None:
        """The pending setup this state belongs to, once: a replayed state finds nothing.
        `session_hashes`: the sessions the browser presents (a console session, a setup
        link's restricted one). Presented without the one that began it, it raises
        `ConsentSessionMismatch` and stays usable, so a stolen link cannot spend the real
        admin's."""
        t = consent_states
        now = utcnow()
        with self.db.write() as conn:
            row = conn.execute(
                select(t).where(t.c.state_hash == _hash(state)).with_for_update()
            ).first()
            if row is None or row.used_at is not None or as_utc(row.expires_at) < now:
                return None
            if row.session_hash and row.session_hash not in session_hashes:
                raise ConsentSessionMismatch
            conn.execute(update(t).where(t.c.state_hash == row.state_hash).values(used_at=now))
        return ConsentState(
            row.org_id, row.actor, row.session_hash, dict(row.options), dict(row.flow or {})
        )

    # -- failures for the troubleshooter --------------------------------------------------

    def record_failure(
        self,
        org_id: str,
        instance_id: str | None,
        *,
        tracking_id: str,
        operation: str,
        status: int,
        code: str,
        upstream_code: str | None,
        upstream_message: str | None,
        correlation_id: str | None,
        client_request_id: str | None,
        description: str | None = None,
    ) -> None:
        """Keep a failure for the troubleshooter and record its `integration.error` event
        in the same transaction. The event carries the hub's own account of it (status,
        code, the description the admin saw, the tracking id), never what Entra said."""
        event = {
            "instance_id": instance_id,
            "status": status,
            "code": code,
            "description": description,
            "tracking_id": tracking_id,
            "operation": operation,
        }
        with self.db.write() as conn:
            conn.execute(
                integration_errors.insert().values(
                    org_id=org_id,
                    instance_id=instance_id,
                    time=event_time(),
                    tracking_id=tracking_id,
                    operation=operation,
                    status=status,
                    code=code,
                    upstream_code=upstream_code,
                    upstream_message=(upstream_message or "")[:2000] or None,
                    correlation_id=correlation_id,
                    client_request_id=client_request_id,
                )
            )
            record(conn, org_id, [NewEvent(EventType.INTEGRATION_ERROR, event)])

    def failures(
        self,
        org_id: str,
        *,
        tracking_id: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
    ) -> tuple[builtins.list[IntegrationFailure], int]:
        t = integration_errors
        where = [t.c.org_id == org_id]
        if tracking_id:
            where.append(t.c.tracking_id == tracking_id)
        if since:
            where.append(t.c.time >= since)
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one()
            rows = conn.execute(select(t).where(*where).order_by(t.c.id.desc()).limit(limit)).all()
        return [
            IntegrationFailure(
                r.id,
                r.org_id,
                r.instance_id,
                as_utc(r.time),
                r.tracking_id,
                r.operation,
                r.status,
                r.code,
                r.upstream_code,
                r.upstream_message,
                r.correlation_id,
                r.client_request_id,
            )
            for r in rows
        ], total
