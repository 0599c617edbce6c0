"""One provisioning cycle: users first (match on the matching attribute, create or
update, disable when out of scope or soft-deleted, DELETE when hard-deleted), then
manager references, then groups (created empty, members added by PATCH). Per-object
failures are escrowed and retried next cycle; a 401 stops the cycle for quarantine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row

from ..directory import user_attributes
from . import dialects, logs
from .dialects import Dialect
from .logs import JobRef
from .mappings import Mapping, evaluate, in_filter_scope, mappings, matching_target, object_mapping
from .persist import Outcome, persist
from .scim_client import ScimClient, TargetError
from .snapshot import Link, Snapshot

MEMBER_BATCH = 50
FLUSH_EVERY = 2000


@dataclass
class _Attempt:
    """What an object's sync was doing, so a failure is logged with the right action."""

    action: str = "other"
    target_id: str | None = None


@dataclass
class Counters:
    imported: int = 0
    exported: int = 0
    escrowed: int = 0
    attempted: int = 0


def _quote(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"')


def _same(a: Any, b: Any) -> bool:
    """Target values come back typed differently ("True" vs true): compare loosely."""
    return str(a).lower() == str(b).lower() if a is not None and b is not None else a == b


def _diff(applied: dict[str, Any], desired: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    changes = {p: v for p, v in desired.items() if applied.get(p) != v}
    removed = [p for p in applied if p not in desired and p != "members"]
    return changes, removed


def _modified(applied: dict[str, Any], changes: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {p: (applied.get(p), v) for p, v in changes.items()}


class Cycle:
    def __init__(
        self,
        engine: Engine,
        ref: JobRef,
        client: ScimClient,
        dialect: Dialect,
        schema: dict[str, Any],
        snap: Snapshot,
        *,
        initial: bool,
    ):
        self.engine = engine
        self.ref = ref
        self.client = client
        self.dialect = dialect
        self.snap = snap
        self.links = snap.links
        self.initial = initial
        self.user_om = object_mapping(schema, "User")
        self.group_om = object_mapping(schema, "Group")
        self.user_maps: list[Mapping] = mappings(self.user_om) if self.user_om else []
        self.group_maps: list[Mapping] = mappings(self.group_om) if self.group_om else []
        self.manager_path = next((m.target for m in self.user_maps if m.source == "manager"), None)
        self.active_path = next(
            (m.target for m in self.user_maps if m.source == "accountEnabled"), "active"
        )
        self.match = matching_target(self.user_om) if self.user_om else None
        self.unauthorized: TargetError | None = None
        self.counters = Counters()
        self.pending: list[Outcome] = []
        self.log_entries: list[dict[str, Any]] = []
        self.unresolved: list[Row[Any]] = []

    # -- driving -------------------------------------------------------------------

    async def run(self) -> None:
        if self.user_om is not None:
            await self._each(self.snap.users, self.sync_user)
            await self._each(list(self.unresolved), self.resolve_manager)
        if self.group_om is not None:
            await self._each(self.snap.groups, self.sync_group)
        await self.flush()

    async def _each(
        self, items: Iterable[Row[Any]], fn: Callable[[Row[Any]], Awaitable[Outcome | None]]
    ) -> None:
        it = iter(items)

        async def worker() -> None:
            for item in it:
                if self.unauthorized is not None:
                    return
                try:
                    outcome = await fn(item)
                except TargetError as err:  # only 401s get here: the cycle stops
                    self.unauthorized = err
                    return
                if outcome is not None:
                    self.record(outcome)
                if len(self.pending) >= FLUSH_EVERY:
                    await self.flush()

        workers = max(1, self.client.concurrency)
        await asyncio.gather(*(worker() for _ in range(workers)))

    def record(self, outcome: Outcome) -> None:
        self.pending.append(outcome)
        if outcome.log is not None:
            self.log_entries.append(outcome.log)
        if outcome.status == "failure":
            self.counters.escrowed += 1
        elif outcome.action in ("create", "update", "delete", "disable"):
            self.counters.exported += 1
        if outcome.status != "skipped":
            self.counters.attempted += 1

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        if batch:
            await asyncio.to_thread(persist, self.engine, self.ref, batch)

    def _outcome(
        self,
        kind: str,
        row: Row[Any],
        name: str,
        action: str,
        *,
        status: str = "success",
        link: Link | None = None,
        drop: bool = False,
        modified: dict[str, tuple[Any, Any]] | None = None,
        error: TargetError | None = None,
        reason: str | None = None,
        began: float,
        log: bool = True,
    ) -> Outcome:
        target_id = link.target_id if link else None
        entry = (
            logs.entry(
                self.ref,
                object_type=kind,
                source_id=row.id,
                source_name=name,
                action=action,
                status=status,
                target_id=target_id,
                modified=modified,
                error=error,
                reason=reason,
                duration_ms=int((time.monotonic() - began) * 1000),
            )
            if log
            else None
        )
        return Outcome(kind, row.id, action, status, link, drop, error, entry)

    # -- users -----------------------------------------------------------------------

    def _user_scoped(self, row: Row[Any], attrs: dict[str, Any]) -> bool:
        assert self.user_om is not None
        return (
            not row.purged
            and row.deleted_at is None
            and row.id in self.snap.scope_users
            and in_filter_scope(self.user_om, attrs)
        )

    def _desired_user(self, row: Row[Any], attrs: dict[str, Any]) -> dict[str, Any]:
        manager = self.links.get(("User", row.manager_id)) if row.manager_id else None
        values = evaluate(
            self.user_maps, {**attrs, "manager": manager.target_id if manager else None}
        )
        if row.manager_id and manager is None and self.manager_path:
            self.unresolved.append(row)
        return values

    async def sync_user(self, row: Row[Any]) -> Outcome | None:
        began, attempt = time.monotonic(), _Attempt()
        name = row.user_principal_name
        try:
            return await self._sync_user(row, attempt, began)
        except TargetError as err:
            if err.unauthorized:
                raise
            return self._outcome(
                "User", row, name, attempt.action, status="failure", error=err, began=began
            )

    async def _sync_user(self, row: Row[Any], attempt: _Attempt, began: float) -> Outcome | None:
        key, name = ("User", row.id), row.user_principal_name
        attrs = {**user_attributes(row), **self.snap.extensions.get(row.id, {})}
        link = self.links.get(key)
        scoped = self._user_scoped(row, attrs)
        if link is None:
            if not scoped:
                return (
                    None
                    if self.initial
                    else self._outcome(
                        "User",
                        row,
                        name,
                        "other",
                        status="skipped",
                        began=began,
                        reason="NotEffectivelyEntitled: the user is not assigned to the "
                        "application or is out of the scoping filter.",
                    )
                )
            return await self._match_or_create(row, self._desired_user(row, attrs), attempt, began)
        attempt.target_id = link.target_id
        if row.purged:
            attempt.action = "delete"
            await self.client.call("DELETE", f"/Users/{link.target_id}", ok404=True)
            del self.links[key]
            return self._outcome("User", row, name, "delete", link=link, drop=True, began=began)
        if not scoped:
            if link.applied.get(self.active_path) is False:
                return None
            attempt.action = "disable"
            changes = {self.active_path: False}
            await self.client.call(
                "PATCH", f"/Users/{link.target_id}", dialects.patch(self.dialect, changes, [])
            )
            new = Link(link.target_id, {**link.applied, **changes})
            self.links[key] = new
            return self._outcome(
                "User",
                row,
                name,
                "disable",
                link=new,
                began=began,
                modified=_modified(link.applied, changes),
            )
        desired = self._desired_user(row, attrs)
        changes, removed = _diff(link.applied, desired)
        if not changes and not removed:
            return None
        attempt.action = "update"
        reply = await self.client.call(
            "PATCH",
            f"/Users/{link.target_id}",
            dialects.patch(self.dialect, changes, removed),
            ok404=True,
        )
        if reply.status == 404:  # deleted in the target behind our back: provision again
            del self.links[key]
            return await self._match_or_create(row, desired, attempt, began)
        new = Link(link.target_id, desired)
        self.links[key] = new
        return self._outcome(
            "User",
            row,
            name,
            "update",
            link=new,
            began=began,
            modified=_modified(link.applied, changes),
        )

    async def _match_or_create(
        self, row: Row[Any], desired: dict[str, Any], attempt: _Attempt, began: float
    ) -> Outcome:
        match = self.match
        assert match is not None
        name = row.user_principal_name
        attempt.action = "create"
        reply = await self.client.call(
            "GET",
            "/Users",
            params={"filter": f'{match.target} eq "{_quote(desired.get(match.target, ""))}"'},
        )
        found = reply.body.get("Resources") or []
        if found and isinstance(found[0], dict) and found[0].get("id"):
            attempt.action, attempt.target_id = "update", str(found[0]["id"])
            changes = {
                p: v for p, v in desired.items() if not _same(dialects.read_target(found[0], p), v)
            }
            if changes:
                await self.client.call(
                    "PATCH",
                    f"/Users/{attempt.target_id}",
                    dialects.patch(self.dialect, changes, []),
                )
            action = "update" if changes else "other"
        else:
            created = await self.client.call("POST", "/Users", dialects.create_user(desired))
            if not created.body.get("id"):
                raise TargetError(created.status, "The target's create response had no id.")
            attempt.target_id, action = str(created.body["id"]), "create"
        link = Link(attempt.target_id, desired)
        self.links[("User", row.id)] = link
        return self._outcome(
            "User",
            row,
            name,
            action,
            link=link,
            began=began,
            modified={p: (None, v) for p, v in desired.items()},
        )

    async def resolve_manager(self, row: Row[Any]) -> Outcome | None:
        """Second pass: managers provisioned after their reports in this cycle."""
        began = time.monotonic()
        link = self.links.get(("User", row.id))
        manager = self.links.get(("User", row.manager_id))
        if link is None or manager is None or self.manager_path is None:
            return None
        if link.applied.get(self.manager_path) == manager.target_id:
            return None
        changes = {self.manager_path: manager.target_id}
        try:
            await self.client.call(
                "PATCH", f"/Users/{link.target_id}", dialects.patch(self.dialect, changes, [])
            )
        except TargetError as err:
            if err.unauthorized:
                raise
            return self._outcome(
                "User",
                row,
                row.user_principal_name,
                "update",
                status="failure",
                error=err,
                began=began,
            )
        new = Link(link.target_id, {**link.applied, **changes})
        self.links[("User", row.id)] = new
        return self._outcome(
            "User",
            row,
            row.user_principal_name,
            "update",
            link=new,
            began=began,
            modified=_modified(link.applied, changes),
        )

    # -- groups ----------------------------------------------------------------------

    async def sync_group(self, row: Row[Any]) -> Outcome | None:
        began, attempt = time.monotonic(), _Attempt()
        try:
            return await self._sync_group(row, attempt, began)
        except TargetError as err:
            if err.unauthorized:
                raise
            return self._outcome(
                "Group",
                row,
                row.display_name,
                attempt.action,
                status="failure",
                error=err,
                began=began,
            )

    def _members(self, row: Row[Any]) -> list[str]:
        """Target ids of the direct user members that are entitled and provisioned."""
        out = []
        for uid in self.snap.group_members.get(row.id, []):
            link = self.links.get(("User", uid))
            if link is not None and uid in self.snap.scope_users:
                out.append(link.target_id)
        return sorted(out)

    async def _sync_group(self, row: Row[Any], attempt: _Attempt, began: float) -> Outcome | None:
        assert self.group_om is not None
        key, name = ("Group", row.id), row.display_name
        attrs = {
            "objectId": row.id,
            "displayName": row.display_name,
            "description": row.description,
            "mailNickname": row.mail_nickname,
        }
        link = self.links.get(key)
        scoped = (
            not row.purged
            and row.deleted_at is None
            and row.id in self.snap.scope_groups
            and in_filter_scope(self.group_om, attrs)
        )
        if not scoped:
            if link is None:
                return None
            attempt.action = "delete"
            await self.client.call("DELETE", f"/Groups/{link.target_id}", ok404=True)
            del self.links[key]
            return self._outcome("Group", row, name, "delete", link=link, drop=True, began=began)
        desired = evaluate(self.group_maps, attrs)
        action = "update"
        if link is None:
            link, action = await self._match_or_create_group(desired, attempt)
        else:
            attempt.target_id = link.target_id
            changes, removed = _diff(link.applied, desired)
            if changes or removed:
                attempt.action = "update"
                await self.client.call(
                    "PATCH",
                    f"/Groups/{link.target_id}",
                    dialects.patch(self.dialect, changes, removed),
                )
        old_members = set(link.applied.get("members", []))
        members = self._members(row)
        added = [m for m in members if m not in old_members]
        gone = sorted(old_members - set(members))
        attempt.action = action
        for i in range(0, len(added), MEMBER_BATCH):
            await self.client.call(
                "PATCH",
                f"/Groups/{link.target_id}",
                dialects.add_members(self.dialect, added[i : i + MEMBER_BATCH]),
            )
        for i in range(0, len(gone), MEMBER_BATCH):
            await self.client.call(
                "PATCH",
                f"/Groups/{link.target_id}",
                dialects.remove_members(self.dialect, gone[i : i + MEMBER_BATCH]),
            )
        new = Link(link.target_id, {**desired, "members": members})
        self.links[key] = new
        changed = _modified(link.applied, _diff(link.applied, desired)[0])
        if added or gone:
            changed["members"] = (len(old_members), len(members))
        if action == "update" and not changed:
            return None
        return self._outcome("Group", row, name, action, link=new, began=began, modified=changed)

    async def _match_or_create_group(
        self, desired: dict[str, Any], attempt: _Attempt
    ) -> tuple[Link, str]:
        attempt.action = "create"
        reply = await self.client.call(
            "GET",
            "/Groups",
            params={
                "filter": f'displayName eq "{_quote(desired.get("displayName", ""))}"',
                "excludedAttributes": "members",
            },
        )
        found = reply.body.get("Resources") or []
        if found and isinstance(found[0], dict) and found[0].get("id"):
            attempt.target_id = str(found[0]["id"])
            changes = {
                p: v for p, v in desired.items() if not _same(dialects.read_target(found[0], p), v)
            }
            if changes:
                await self.client.call(
                    "PATCH",
                    f"/Groups/{attempt.target_id}",
                    dialects.patch(self.dialect, changes, []),
                )
            return Link(attempt.target_id, {**desired, "members": []}), "update"
        created = await self.client.call("POST", "/Groups", dialects.create_group(desired))
        if not created.body.get("id"):
            raise TargetError(created.status, "The target's create response had no id.")
        attempt.target_id = str(created.body["id"])
        return Link(attempt.target_id, {**desired, "members": []}), "create"
