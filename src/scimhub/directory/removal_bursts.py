"""Bursts of removals pushed by Entra's provisioning job. The hub cannot refuse the job's
requests without sending it into quarantine, so it applies them (deleted users go to the
recycle bin) and, afterwards, notices when one job removed more users within the window
than its deletion threshold allows: the burst is recorded, shown to the admins, and can be
undone in one step (`restore`) or acknowledged (`dismiss`).

The scan follows the organisation's event stream from where it stopped (`burst_scans`),
counting the `user.deleted` and `user.deactivated` events whose source is the instance's
SCIM token, in windows that start at the first removal after the last window ended. The
status check of each push instance runs it, so a burst is seen within that interval.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, select, update

from ..scim.errors import Conflict, NotFound
from ..store.engine import Database, as_utc, utcnow
from ..store.tables import burst_scans, events, removal_bursts
from .actor import Actor
from .audit import Audit
from .deletion_brake import DeletionBrake
from .events import EventType, Source, SourceKind, caused_by
from .instances import Instance, Mode
from .locator import Locator
from .recycle_bin import NameTaken, RecycleBin
from .users import Users

_REMOVALS = (EventType.USER_DELETED.value, EventType.USER_DEACTIVATED.value)
_SAMPLE = 20  # tracking ids kept as evidence
_BATCH = 5000  # events read per statement
_REACTIVATE = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "path": "active", "value": True}],
}


class BurstState(StrEnum):
    OPEN = "open"  # waiting for an admin
    RESTORED = "restored"
    DISMISSED = "dismissed"


class Audited(StrEnum):
    DETECTED = "Azure AD removal burst detected"
    RESTORED = "Azure AD removal burst restored"
    DISMISSED = "Azure AD removal burst dismissed"


@dataclass(frozen=True, slots=True)
class Burst:
    id: str
    org_id: str
    instance_id: str
    source: dict[str, Any]
    started: datetime
    ended: datetime
    removals: int
    first_seq: int
    last_seq: int
    tracking_ids: list[str]
    state: BurstState
    decided: datetime | None
    decided_by: str | None
    outcome: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "instanceId": self.instance_id,
            "source": self.source,
            "started": _iso(self.started),
            "ended": _iso(self.ended),
            "removals": self.removals,
            "trackingIds": self.tracking_ids,
            "state": self.state.value,
            "decided": _iso(self.decided) if self.decided else None,
            "decidedBy": self.decided_by,
            "outcome": self.outcome,
        }


@dataclass(frozen=True, slots=True)
class Restored:
    """What undoing a burst did: users brought back from the recycle bin, users made
    active again, and those left as they are (restored or purged meanwhile, their name
    taken, or active already)."""

    users_restored: int = 0
    users_reactivated: int = 0
    skipped: int = 0

    def as_json(self) -> dict[str, int]:
        return {
            "usersRestored": self.users_restored,
            "usersReactivated": self.users_reactivated,
            "skipped": self.skipped,
        }


class BurstDecided(Conflict):
    def __init__(self, state: BurstState) -> None:
        super().__init__(f"this burst was {state.value} already")


class RemovalBursts:
    def __init__(
        self,
        db: Database,
        brake: DeletionBrake,
        users: Users,
        recycle_bin: RecycleBin,
        audit: Audit,
    ) -> None:
        self.db = db
        self.brake = brake
        self.users = users
        self.recycle_bin = recycle_bin
        self.audit = audit

    # -- finding them ---------------------------------------------------------------------

    def scan(self, instance: Instance) -> Burst | None:
        """Read the stream since the last scan; the burst opened or grown, if any."""
        if instance.mode != Mode.PUSH or not instance.scim_token_id:
            return None
        threshold = self.brake.threshold(instance)
        limit = threshold.limit(self.brake.active_users(instance.org_id))
        burst_id: str | None = None
        created = False
        with self.db.write() as conn:
            scan = conn.execute(
                select(burst_scans)
                .where(burst_scans.c.instance_id == instance.id)
                .with_for_update()
            ).first()
            if scan is None:  # from now on: history is not rescanned
                conn.execute(
                    burst_scans.insert().values(
                        instance_id=instance.id,
                        last_seq=_head(conn, instance.org_id),
                        window_removals=0,
                    )
                )
                return None
            state = _Window(
                scan.last_seq,
                as_utc(scan.window_started) if scan.window_started else None,
                scan.window_first_seq,
                scan.window_removals,
                scan.burst_id,
            )
            while True:
                rows = conn.execute(
                    select(events.c.seq, events.c.type, events.c.occurred_at, events.c.source)
                    .where(events.c.org_id == instance.org_id, events.c.seq > state.last_seq)
                    .order_by(events.c.seq)
                    .limit(_BATCH)
                ).all()
                for row in rows:
                    state.last_seq = row.seq
                    source = row.source or {}
                    if row.type not in _REMOVALS or source.get("kind") != SourceKind.SCIM.value:
                        continue
                    if source.get("id") != instance.scim_token_id:
                        continue
                    at = as_utc(row.occurred_at)
                    if state.started is None or at - state.started > threshold.window:
                        _grow(conn, instance, state)  # the window before ends here
                        state.start(at, row.seq)
                    state.removals += 1
                    state.last_at, state.last_removal = at, row.seq
                    if limit is not None and state.removals > limit and state.burst_id is None:
                        state.burst_id = self._open_burst(conn, instance, state, source)
                        created = True
                if len(rows) < _BATCH:
                    break
            _grow(conn, instance, state)
            conn.execute(
                update(burst_scans)
                .where(burst_scans.c.instance_id == instance.id)
                .values(
                    last_seq=state.last_seq,
                    window_started=state.started,
                    window_first_seq=state.first_seq,
                    window_removals=state.removals,
                    burst_id=state.burst_id,
                )
            )
            burst_id = state.burst_id
        if burst_id is None:
            return None
        burst = self.get(instance.org_id, burst_id)
        if created:
            self.audit.record(
                instance.org_id,
                "scimhub deletion brake",
                Audited.DETECTED,
                target=instance.name,
                detail={"burst_id": burst.id, "removals": burst.removals, "limit": limit},
            )
        return burst

    @staticmethod
    def _open_burst(
        conn: Connection, instance: Instance, state: _Window, source: dict[str, Any]
    ) -> str:
        """The window crossed the threshold: record its burst (grown by the scan after)."""
        b = removal_bursts
        assert state.started is not None and state.first_seq is not None
        assert state.last_at is not None and state.last_removal is not None
        at, seq = state.last_at, state.last_removal
        burst_id = str(uuid.uuid4())
        sample = _tracking_ids(conn, instance.org_id, state.first_seq, seq, source)
        conn.execute(
            b.insert().values(
                id=burst_id,
                org_id=instance.org_id,
                instance_id=instance.id,
                source={k: v for k, v in source.items() if k != "tracking_id"},
                started=state.started,
                ended=at,
                removals=state.removals,
                first_seq=state.first_seq,
                last_seq=seq,
                tracking_ids=sample,
                state=BurstState.OPEN.value,
            )
        )
        return burst_id

    # -- reading and deciding ---------------------------------------------------------------

    def get(self, org_id: str, burst_id: str) -> Burst:
        b = removal_bursts
        with self.db.read() as conn:
            row = conn.execute(
                select(b).where(b.c.org_id == org_id, b.c.id == burst_id[:64])
            ).first()
        if row is None:
            raise NotFound(f"burst {burst_id[:64]} not found")
        return _burst(row)

    def listed(self, org_id: str, state: BurstState | None = None, limit: int = 50) -> list[Burst]:
        """The org's bursts, newest first."""
        b = removal_bursts
        query = select(b).where(b.c.org_id == org_id)
        if state is not None:
            query = query.where(b.c.state == state.value)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(b.c.started.desc(), b.c.id).limit(limit)).all()
        return [_burst(r) for r in rows]

    def restore(self, org_id: str, burst_id: str, loc: Locator, *, actor: Actor) -> Restored:
        """Undo the burst: its deleted users back from the recycle bin (with their
        memberships), its deactivated users active again, as the admin's change. Raises
        NotFound, BurstDecided."""
        burst = self._open(org_id, burst_id)
        deleted, deactivated = self._removed(burst)
        restored = reactivated = skipped = 0
        source = Source(SourceKind.ADMIN, actor.name, tracking_id=actor.tracking_id)
        with caused_by(source):
            for user_id in deleted:  # first: a restored user comes back as it was deleted
                try:
                    self.recycle_bin.restore_user(org_id, user_id, loc, actor=actor)
                    restored += 1
                except (NotFound, NameTaken):
                    skipped += 1
            for user_id in deactivated:
                try:
                    if self.users.get(org_id, user_id, loc, with_groups=False)["active"]:
                        skipped += 1
                        continue
                    self.users.patch(org_id, user_id, _REACTIVATE, loc)
                    reactivated += 1
                except NotFound:
                    skipped += 1
        outcome = Restored(restored, reactivated, skipped)
        self._decide(burst, BurstState.RESTORED, actor, outcome.as_json())
        return outcome

    def dismiss(self, org_id: str, burst_id: str, *, actor: Actor) -> None:
        """The removals were meant: acknowledge the burst. Raises NotFound, BurstDecided."""
        self._decide(self._open(org_id, burst_id), BurstState.DISMISSED, actor, None)

    def _open(self, org_id: str, burst_id: str) -> Burst:
        burst = self.get(org_id, burst_id)
        if burst.state is not BurstState.OPEN:
            raise BurstDecided(burst.state)
        return burst

    def _removed(self, burst: Burst) -> tuple[list[str], list[str]]:
        """The users the burst deleted and deactivated, once each, in order."""
        deleted: dict[str, None] = {}
        deactivated: dict[str, None] = {}
        with self.db.read() as conn:
            rows = conn.execute(
                select(events.c.type, events.c.data, events.c.source)
                .where(
                    events.c.org_id == burst.org_id,
                    events.c.seq.between(burst.first_seq, burst.last_seq),
                    events.c.type.in_(_REMOVALS),
                )
                .order_by(events.c.seq)
            ).all()
        for row in rows:
            if (row.source or {}).get("id") != burst.source.get("id"):
                continue
            user_id = (row.data or {}).get("id")
            if not isinstance(user_id, str):
                continue
            target = deleted if row.type == EventType.USER_DELETED.value else deactivated
            target[user_id] = None
        return list(deleted), [u for u in deactivated if u not in deleted]

    def _decide(
        self, burst: Burst, state: BurstState, actor: Actor, outcome: dict[str, Any] | None
    ) -> None:
        b = removal_bursts
        with self.db.write() as conn:
            done = conn.execute(
                update(b)
                .where(b.c.id == burst.id, b.c.state == BurstState.OPEN.value)
                .values(state=state.value, decided=utcnow(), decided_by=actor.name, outcome=outcome)
            )
            if not done.rowcount:  # another admin decided meanwhile
                raise BurstDecided(self.get(burst.org_id, burst.id).state)
            self.audit.record(
                burst.org_id,
                actor.name,
                Audited.RESTORED if state is BurstState.RESTORED else Audited.DISMISSED,
                detail={"burst_id": burst.id, "removals": burst.removals, "outcome": outcome},
                tracking_id=actor.tracking_id,
                conn=conn,
            )


@dataclass(slots=True)
class _Window:
    """The scan's place in the stream and the window it is counting."""

    last_seq: int
    started: datetime | None
    first_seq: int | None
    removals: int
    burst_id: str | None
    last_at: datetime | None = None  # the last removal counted by this scan
    last_removal: int | None = None

    def start(self, at: datetime, seq: int) -> None:
        self.started, self.first_seq, self.removals, self.burst_id = at, seq, 0, None
        self.last_at = self.last_removal = None


def _grow(conn: Connection, instance: Instance, state: _Window) -> None:
    """The window's burst, if it became one, as far as this scan counted it."""
    if state.burst_id is None or state.last_at is None or state.first_seq is None:
        return
    assert state.last_removal is not None
    b = removal_bursts
    source = conn.execute(select(b.c.source).where(b.c.id == state.burst_id)).scalar_one()
    sample = _tracking_ids(conn, instance.org_id, state.first_seq, state.last_removal, source)
    conn.execute(
        update(b)
        .where(b.c.id == state.burst_id)
        .values(
            removals=state.removals,
            ended=state.last_at,
            last_seq=state.last_removal,
            tracking_ids=sample,
        )
    )


def _head(conn: Connection, org_id: str) -> int:
    found = conn.execute(select(func.max(events.c.seq)).where(events.c.org_id == org_id))
    return int(found.scalar() or 0)


def _tracking_ids(
    conn: Connection, org_id: str, first: int, last: int, source: dict[str, Any]
) -> list[str]:
    rows = conn.execute(
        select(events.c.source)
        .where(
            events.c.org_id == org_id,
            events.c.seq.between(first, last),
            events.c.type.in_(_REMOVALS),
        )
        .order_by(events.c.seq)
    ).scalars()
    sample: dict[str, None] = {}
    for found in rows:
        tid = (found or {}).get("tracking_id")
        if (found or {}).get("id") == source.get("id") and isinstance(tid, str):
            sample[tid] = None
            if len(sample) == _SAMPLE:
                break
    return list(sample)


def _burst(r: Any) -> Burst:
    return Burst(
        r.id,
        r.org_id,
        r.instance_id,
        r.source,
        as_utc(r.started),
        as_utc(r.ended),
        r.removals,
        r.first_seq,
        r.last_seq,
        list(r.tracking_ids),
        BurstState(r.state),
        as_utc(r.decided) if r.decided else None,
        r.decided_by,
        r.outcome,
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
