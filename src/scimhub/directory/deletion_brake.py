"""The brake on mass removal for pull sync: an admin who scopes or unassigns the wrong group
in Entra removes thousands of users at once; the hub holds such a burst for approval, as
Entra's "accidental deletions" setting does for its own job.

A pull round notes the removals Graph reports (`note`) instead of applying them, and at its
end `settle`s them: applied, when they and the removals the instance applied within the
window stay within its threshold; otherwise all of them held, until an admin approves
(applied then, with the admin as their source) or discards them (the hub keeps the
resources). Other changes of the round apply as usual. An object that comes back into scope
drops its removal (`came_back`). Held removals also hold the ones later rounds note, so an
admin decides on one list.

Removals are rows (`store.tables.removals`): a round that crashes after saving its delta link
still settles what it noted at the next round's end.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from sqlalchemy import Connection, func, select, update

from ..scim.errors import Conflict, NotFound
from ..store.engine import Database, as_utc, utcnow
from ..store.tables import groups, removals, users
from .actor import Actor
from .audit import Audit
from .events import Source, SourceKind, caused_by
from .groups import Groups
from .instances import Instance, Instances
from .ldap_sources import LdapSources
from .links import Links
from .locator import Locator
from .orgs import Orgs
from .sync_source import SyncSource
from .users import Users

_CHUNK = 500  # ids per IN (...) list
_BACK = "back in scope"  # decided_by of a removal dropped because its object came back
_DEACTIVATE = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "path": "active", "value": False}],
}


class Action(StrEnum):
    DELETE = "delete"  # Graph's @removed reason "deleted": gone for good in Entra
    DEACTIVATE = "deactivate"  # reason "changed": soft-deleted or out of scope


class State(StrEnum):
    PENDING = "pending"  # noted by a round, not settled yet
    HELD = "held"  # past the threshold: waiting for an admin
    APPLIED = "applied"  # applied by a round: counts toward the window
    APPROVED = "approved"  # applied by an admin's approval: does not count
    DISCARDED = "discarded"  # not applied: an admin discarded it, or the object came back


class Audited(StrEnum):
    HELD = "Azure AD removals held"
    APPROVED = "Azure AD held removals approved"
    DISCARDED = "Azure AD held removals discarded"
    THRESHOLD = "Azure AD deletion threshold changed"


class InvalidThreshold(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Threshold:
    """At most `count` removals within `window_minutes`, and at most `percent` of the
    organisation's active users (counted from MIN_FOR_PERCENT removals: in a small org a
    handful of leavers is a large share, not an accident)."""

    enabled: bool = True
    count: int = 500
    percent: int | None = 20
    window_minutes: int = 60

    MIN_FOR_PERCENT: ClassVar[int] = 10

    def limit(self, active_users: int) -> int | None:
        """The removals allowed within the window; None when the brake is off."""
        if not self.enabled:
            return None
        if self.percent is None:
            return self.count
        share = math.floor(active_users * self.percent / 100)
        return min(self.count, max(self.MIN_FOR_PERCENT, share))

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)

    def as_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "count": self.count,
            "percent": self.percent,
            "windowMinutes": self.window_minutes,
        }

    @classmethod
    def parse(cls, value: Any) -> Threshold:
        """From its JSON (`as_json`; missing members take the defaults). Raises
        InvalidThreshold naming what is wrong."""
        if not isinstance(value, Mapping):
            raise InvalidThreshold("a deletion threshold is an object")
        unknown = set(value) - {"enabled", "count", "percent", "windowMinutes"}
        if unknown:
            raise InvalidThreshold(f"unknown member(s) {sorted(unknown)}")
        default = cls()
        enabled = value.get("enabled", default.enabled)
        count = value.get("count", default.count)
        percent = value.get("percent", default.percent)
        window = value.get("windowMinutes", default.window_minutes)
        if not isinstance(enabled, bool):
            raise InvalidThreshold("'enabled' must be true or false")
        if not _whole(count) or not 1 <= count <= 1_000_000:
            raise InvalidThreshold("'count' must be a whole number from 1 to 1000000")
        if percent is not None and (not _whole(percent) or not 1 <= percent <= 100):
            raise InvalidThreshold("'percent' must be a whole number from 1 to 100, or null")
        if not _whole(window) or not 1 <= window <= 7 * 24 * 60:
            raise InvalidThreshold("'windowMinutes' must be a whole number from 1 to 10080")
        return cls(enabled, count, percent, window)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Noted:
    """A removal a round found: the Entra object, the hub resource linked to it."""

    object_id: str
    resource_type: str  # "User" | "Group"
    resource_id: str
    action: Action


@dataclass(frozen=True, slots=True)
class Removal:
    id: str
    instance_id: str
    object_id: str
    resource_type: str
    resource_id: str
    name: str
    action: Action
    state: State
    noted: datetime
    decided: datetime | None
    decided_by: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "objectId": self.object_id,
            "resourceType": self.resource_type,
            "resourceId": self.resource_id,
            "name": self.name,
            "action": self.action.value,
            "state": self.state.value,
            "noted": _iso(self.noted),
            "decided": _iso(self.decided) if self.decided else None,
            "decidedBy": self.decided_by,
        }


@dataclass(frozen=True, slots=True)
class Settled:
    """How a round's removals ended: `applied`, or `held` (all of them) because
    `in_window` + the round's would pass `limit` or removals were held already."""

    applied: tuple[Removal, ...] = ()
    held: int = 0
    limit: int | None = None
    in_window: int = 0

    def count(self, resource_type: str, action: Action) -> int:
        return sum(
            1 for r in self.applied if r.resource_type == resource_type and r.action is action
        )


class RoundRunning(Conflict):
    """A sync round of the instance is running: deciding on held removals waits for it."""

    def __init__(self) -> None:
        super().__init__("a sync round of this instance is running; try again when it ends")


@dataclass(frozen=True, slots=True)
class Forecast:
    """What the brake would decide about a number of removals: the limit (None: off), the
    removals already applied within the window and held, and whether it would hold."""

    limit: int | None
    applied_in_window: int
    held: int
    crosses: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "appliedInWindow": self.applied_in_window,
            "held": self.held,
            "crosses": self.crosses,
        }


class DeletionBrake:
    def __init__(
        self,
        db: Database,
        orgs: Orgs,
        instances: Instances,
        users: Users,
        groups: Groups,
        links: Links,
        audit: Audit,
        ldap_sources: LdapSources | None = None,
    ) -> None:
        self.db = db
        self.orgs = orgs
        self.instances = instances
        self.ldap_sources = ldap_sources  # the other kind of source the brake serves
        self.users = users
        self.groups = groups
        self.links = links
        self.audit = audit

    # -- the threshold ------------------------------------------------------------------

    def threshold(self, instance: SyncSource) -> Threshold:
        """The instance's own threshold, else its organisation's."""
        if instance.deletion_threshold is not None:
            return Threshold.parse(instance.deletion_threshold)
        return self.org_threshold(instance.org_id)

    def org_threshold(self, org_id: str) -> Threshold:
        saved = self.orgs.get(org_id).settings.get("deletion_threshold")
        return Threshold() if saved is None else Threshold.parse(saved)

    def set_threshold(
        self,
        org_id: str,
        threshold: Threshold | None,
        *,
        instance: SyncSource | None = None,
        actor: Actor,
    ) -> None:
        """Set the organisation's threshold, or one source's (None: back to the org's)."""
        value = threshold.as_json() if threshold is not None else None
        if instance is None:
            self.orgs.update_setting(org_id, "deletion_threshold", value)
        elif isinstance(instance, Instance):
            self.instances.update(instance, deletion_threshold=value)
        else:
            assert self.ldap_sources is not None
            found = self.ldap_sources.get(instance.org_id, instance.id)
            if found is None:
                raise NotFound(f"source {instance.id[:64]} not found")
            self.ldap_sources.update(found, deletion_threshold=value)
        self.audit.record(
            org_id,
            actor.name,
            Audited.THRESHOLD,
            target=instance.name if instance else None,
            detail={"threshold": value, "instance_id": instance.id if instance else None},
            tracking_id=actor.tracking_id,
        )

    # -- a round ------------------------------------------------------------------------

    def note(self, instance: SyncSource, found: Sequence[Noted]) -> None:
        """Record a page's removals as pending; one already pending or held is not noted
        twice."""
        if not found:
            return
        r = removals
        with self.db.write() as conn:
            open_ = self._open(conn, instance.id, [n.object_id for n in found])
            fresh = {n.object_id: n for n in found if n.object_id not in open_}
            names = _names(conn, instance.org_id, list(fresh.values()))
            now = utcnow()
            rows = [
                {
                    "id": str(uuid.uuid4()),
                    "org_id": instance.org_id,
                    "instance_id": instance.id,
                    "object_id": n.object_id,
                    "resource_type": n.resource_type,
                    "resource_id": n.resource_id,
                    "name": names.get(n.resource_id, "")[:512],
                    "action": n.action.value,
                    "state": State.PENDING.value,
                    "noted": now,
                }
                for n in fresh.values()
            ]
            if rows:
                conn.execute(r.insert(), rows)

    def came_back(self, instance: SyncSource, object_ids: Sequence[str]) -> None:
        """Objects Graph reports as present again: their removals are dropped."""
        r = removals
        with self.db.read() as conn:
            back = sorted(self._open(conn, instance.id, list(object_ids)))
        if not back:  # the usual case: a read, no write
            return
        with self.db.write() as conn:
            for chunk in _chunks(back):
                conn.execute(
                    update(r)
                    .where(
                        r.c.instance_id == instance.id,
                        r.c.object_id.in_(chunk),
                        r.c.state.in_([State.PENDING.value, State.HELD.value]),
                    )
                    .values(
                        state=State.DISCARDED.value, decided=utcnow(), decided_by="back in scope"
                    )
                )

    def would_hold(self, instance: SyncSource, removals: int) -> Forecast:
        """Whether a round with this many removals would cross the threshold now (what a
        preview warns about); push instances are measured against the same threshold."""
        threshold = self.threshold(instance)
        limit = threshold.limit(self.active_users(instance.org_id))
        in_window = self._applied_since(instance.id, utcnow() - threshold.window)
        held = self._count(instance.id, State.HELD)
        crosses = bool(removals) and (
            held > 0 or (limit is not None and in_window + removals > limit)
        )
        return Forecast(limit, in_window, held, crosses)

    def settle(self, instance: SyncSource, loc: Locator) -> Settled:
        """At a round's end (its round lock held, its change source set): apply the noted
        removals, or hold them all when they would cross the threshold or removals are held
        already."""
        pending = self._listed(instance.id, State.PENDING)
        if not pending:
            return Settled()
        threshold = self.threshold(instance)
        limit = threshold.limit(self.active_users(instance.org_id))
        in_window = self._applied_since(instance.id, utcnow() - threshold.window)
        already_held = self._count(instance.id, State.HELD)
        if already_held or (limit is not None and in_window + len(pending) > limit):
            self._decide(pending, State.HELD, None)
            self.audit.record(
                instance.org_id,
                "scimhub deletion brake",
                Audited.HELD,
                target=instance.name,
                detail={
                    "instance_id": instance.id,
                    "held": len(pending),
                    "held_in_all": already_held + len(pending),
                    "limit": limit,
                    "applied_in_window": in_window,
                    "window_minutes": threshold.window_minutes,
                },
            )
            return Settled((), len(pending), limit, in_window)
        self._apply(instance, pending, loc, State.APPLIED, None)
        return Settled(tuple(pending), 0, limit, in_window)

    # -- an admin's decision --------------------------------------------------------------

    def held(
        self, org_id: str, instance_id: str, *, limit: int = 100, offset: int = 0
    ) -> tuple[list[Removal], int]:
        """The instance's held removals, oldest first, and how many there are."""
        instance = self._instance(org_id, instance_id)
        r = removals
        where = (r.c.instance_id == instance.id, r.c.state == State.HELD.value)
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(r).where(*where)).scalar_one()
            rows = conn.execute(
                select(r).where(*where).order_by(r.c.noted, r.c.id).offset(offset).limit(limit)
            ).all()
        return [_removal(row) for row in rows], int(total)

    def held_count(self, instance_id: str) -> int:
        return self._count(instance_id, State.HELD)

    def held_counts(self, org_id: str) -> dict[str, int]:
        """Held removals by instance, for every instance of the org that has any (one
        query: the console asks on every page)."""
        r = removals
        with self.db.read() as conn:
            rows = conn.execute(
                select(r.c.instance_id, func.count())
                .where(r.c.org_id == org_id, r.c.state == State.HELD.value)
                .group_by(r.c.instance_id)
            ).all()
        return {instance_id: int(n) for instance_id, n in rows}

    def approve(self, org_id: str, instance_id: str, loc: Locator, *, actor: Actor) -> int:
        """Apply every held removal, as the admin's change. Raises NotFound, RoundRunning."""
        instance = self._instance(org_id, instance_id)
        source = Source(SourceKind.ADMIN, actor.name, tracking_id=actor.tracking_id)
        with self.instances.round_lock(instance.id, wait=False) as mine:
            if not mine:
                raise RoundRunning()
            held = self._listed(instance.id, State.HELD)
            with caused_by(source):
                self._apply(instance, held, loc, State.APPROVED, actor.name)
        self._audit_decision(instance, Audited.APPROVED, len(held), actor)
        return len(held)

    def discard(self, org_id: str, instance_id: str, *, actor: Actor) -> int:
        """Drop every held removal: the hub keeps those users and groups. Raises NotFound,
        RoundRunning."""
        instance = self._instance(org_id, instance_id)
        with self.instances.round_lock(instance.id, wait=False) as mine:
            if not mine:
                raise RoundRunning()
            held = self._listed(instance.id, State.HELD)
            self._decide(held, State.DISCARDED, actor.name)
        self._audit_decision(instance, Audited.DISCARDED, len(held), actor)
        return len(held)

    def purge(self, before: datetime) -> int:
        """Forget decisions older than `before` (the clean-up work; longer than any window)."""
        r = removals
        with self.db.write() as conn:
            result = conn.execute(r.delete().where(r.c.decided.is_not(None), r.c.decided < before))
        return int(result.rowcount or 0)

    # -- internals --------------------------------------------------------------------

    def _instance(self, org_id: str, instance_id: str) -> SyncSource:
        """The org's Entra instance or LDAP source with this id."""
        instance: SyncSource | None = self.instances.get(org_id, instance_id)
        if instance is None and self.ldap_sources is not None:
            instance = self.ldap_sources.get(org_id, instance_id)
        if instance is None:
            raise NotFound(f"instance {instance_id[:64]} not found")
        return instance

    def _apply(
        self,
        instance: SyncSource,
        chosen: list[Removal],
        loc: Locator,
        state: State,
        by: str | None,
    ) -> None:
        """Apply removals in order, each its own write as any deletion is; a resource gone
        meanwhile is nothing to do. Marked a chunk at a time, so a crash repeats at most a
        chunk, harmlessly (deleting a deleted resource is a NotFound)."""
        for chunk in _chunks(chosen):
            for removal in chunk:
                self._remove(instance, removal, loc)
            deleted = [r.object_id for r in chunk if r.action is Action.DELETE]
            if deleted:
                self.links.forget(instance.id, deleted)
            self._decide(chunk, state, by)

    def _remove(self, instance: SyncSource, removal: Removal, loc: Locator) -> None:
        org_id, rid = instance.org_id, removal.resource_id
        try:
            if removal.resource_type == "Group":
                self.groups.delete(org_id, rid, loc=loc)
            elif removal.action is Action.DELETE:
                self.users.delete(org_id, rid, loc=loc)
            else:
                self.users.patch(org_id, rid, _DEACTIVATE, loc)
        except NotFound:
            pass

    def _decide(self, chosen: Sequence[Removal], state: State, by: str | None) -> None:
        r = removals
        decided = None if state is State.HELD else utcnow()
        with self.db.write() as conn:
            for chunk in _chunks([c.id for c in chosen]):
                conn.execute(
                    update(r)
                    .where(r.c.id.in_(chunk))
                    .values(state=state.value, decided=decided, decided_by=by)
                )

    def _audit_decision(
        self, instance: SyncSource, action: Audited, count: int, actor: Actor
    ) -> None:
        self.audit.record(
            instance.org_id,
            actor.name,
            action,
            target=instance.name,
            detail={"instance_id": instance.id, "count": count},
            tracking_id=actor.tracking_id,
        )

    @staticmethod
    def _open(conn: Connection, instance_id: str, object_ids: list[str]) -> set[str]:
        r = removals
        found: set[str] = set()
        for chunk in _chunks(object_ids):
            found.update(
                conn.execute(
                    select(r.c.object_id).where(
                        r.c.instance_id == instance_id,
                        r.c.object_id.in_(chunk),
                        r.c.state.in_([State.PENDING.value, State.HELD.value]),
                    )
                ).scalars()
            )
        return found

    def _listed(self, instance_id: str, state: State) -> list[Removal]:
        r = removals
        with self.db.read() as conn:
            rows = conn.execute(
                select(r)
                .where(r.c.instance_id == instance_id, r.c.state == state.value)
                .order_by(r.c.noted, r.c.id)
            ).all()
        return [_removal(row) for row in rows]

    def _count(self, instance_id: str, state: State) -> int:
        r = removals
        with self.db.read() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(r)
                    .where(r.c.instance_id == instance_id, r.c.state == state.value)
                ).scalar_one()
            )

    def _applied_since(self, instance_id: str, since: datetime) -> int:
        r = removals
        with self.db.read() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(r)
                    .where(
                        r.c.instance_id == instance_id,
                        r.c.state == State.APPLIED.value,
                        r.c.decided >= since,
                    )
                ).scalar_one()
            )

    def active_users(self, org_id: str) -> int:
        with self.db.read() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(users)
                    .where(users.c.org_id == org_id, users.c.active.is_(True))
                ).scalar_one()
            )


def _names(conn: Connection, org_id: str, found: list[Noted]) -> dict[str, str]:
    """userName or displayName by resource id, for the held list."""
    names: dict[str, str] = {}
    for table, column, kind in (
        (users, users.c.user_name, "User"),
        (groups, groups.c.display_name, "Group"),
    ):
        ids = [n.resource_id for n in found if n.resource_type == kind]
        for chunk in _chunks(ids):
            rows = conn.execute(
                select(table.c.id, column).where(table.c.org_id == org_id, table.c.id.in_(chunk))
            )
            names.update({rid: name for rid, name in rows})
    return names


def _removal(r: Any) -> Removal:
    return Removal(
        r.id,
        r.instance_id,
        r.object_id,
        r.resource_type,
        r.resource_id,
        r.name,
        Action(r.action),
        State(r.state),
        as_utc(r.noted),
        as_utc(r.decided) if r.decided else None,
        r.decided_by,
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


T = TypeVar("T")


def _chunks(items: list[T]) -> list[list[T]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
