"""What a round would change, counted without writing: per resource type, how many objects
would be created, updated (which attributes), left unchanged, deactivated or deleted, with
the first few names of each. Entra's preview of a scope or mapping change and an LDAP
source's dry run both answer in this shape."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ...directory.deletion_brake import Action
from ...directory.locator import Locator
from ...directory.sync_source import SyncSource
from .engine import Incoming, Page, PullCounts, PullEngine

SAMPLES = 5  # names shown per kind of change


class Change(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    DEACTIVATE = "deactivate"
    DELETE = "delete"
    ERROR = "error"  # the values would be refused (Entra escrows the user; pull skips it)


REMOVALS = (Change.DEACTIVATE, Change.DELETE)


@dataclass
class Tally:
    """One resource type's forecast: counts per change, the attributes updates change, and
    the first few names of each change."""

    counts: Counter[Change] = field(default_factory=Counter)
    attributes: Counter[str] = field(default_factory=Counter)
    samples: dict[Change, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, change: Change, name: str, detail: dict[str, Any] | None = None) -> None:
        self.counts[change] += 1
        if change is Change.UNCHANGED:
            return
        shown = self.samples.setdefault(change, [])
        if len(shown) < SAMPLES:
            shown.append({"name": name, **(detail or {})})

    def updated(self, name: str, changed: list[str]) -> None:
        self.attributes.update(changed)
        self.add(Change.UPDATE, name, {"attributes": changed})

    @property
    def removals(self) -> int:
        return sum(self.counts[c] for c in REMOVALS)

    def as_json(self) -> dict[str, Any]:
        return {
            **{c.value: self.counts[c] for c in Change},
            "attributes": dict(self.attributes.most_common()),
            "samples": {c.value: self.samples.get(c, []) for c in Change if c != Change.UNCHANGED},
        }


class ForecastEngine(PullEngine):
    """The pull engine, writing nothing: a source's round run through it counts what the
    round would do (a dry run). Decisions are the engine's own: a link's digest says
    unchanged; an unlinked object whose userName/displayName the hub has would be adopted
    (an update), others created; removals and unseen linked objects would leave."""

    def __init__(self, engine: PullEngine) -> None:
        super().__init__(
            instances=engine.instances,
            groups=engine.groups,
            links=engine.links,
            imports=engine.imports,
            brake=engine.brake,
            current=engine.current,
        )
        self.users_tally = Tally()
        self.groups_tally = Tally()
        self._removed: set[str] = set()
        self._group_names: dict[str, str] = {}  # resource id -> displayName
        self._unchanged_groups: set[str] = set()  # resource ids counted unchanged

    @contextmanager
    def locked(self, source_id: str) -> Iterator[bool]:
        yield True  # a dry run takes no lock: it writes nothing

    @property
    def removals(self) -> int:
        return self.users_tally.removals + self.groups_tally.removals

    def _page(
        self,
        source: SyncSource,
        kind: str,
        page: Sequence[Incoming],
        counts: PullCounts,
        loc: Locator,
    ) -> Page:
        tally = self.users_tally if kind == "User" else self.groups_tally
        known = self.links.get_many(source.id, [i.object_id for i in page])
        by_id = self._stored(source.org_id, kind, [link.resource_id for link in known.values()])
        unlinked: dict[str, dict[str, Any]] = {}
        for item in page:
            link = known.get(item.object_id)
            if item.removed is not None:
                if link is not None and item.object_id not in self._removed:
                    self._removed.add(item.object_id)
                    change = Change.DELETE if item.removed.value == "delete" else Change.DEACTIVATE
                    tally.add(change, by_id.get(link.resource_id, (item.object_id, {}))[0])
                continue
            if item.error is not None:
                tally.add(Change.ERROR, item.object_id, {"detail": item.error})
                continue
            if item.doc is None:
                continue
            name = _name(kind, item.doc)
            if link is None:
                unlinked[name] = item.doc
            elif link.digest == item.digest_of():
                tally.add(Change.UNCHANGED, name)
                if kind == "Group":
                    self._group_names[link.resource_id] = name
                    self._unchanged_groups.add(link.resource_id)
            else:
                stored = by_id.get(link.resource_id, (name, {}))[1]
                tally.updated(name, _changed(stored, item.doc))
                if kind == "Group":
                    self._group_names[link.resource_id] = name
        existing = self._by_name(source.org_id, kind, list(unlinked))
        for name, doc in unlinked.items():
            found = existing.get(name.lower())
            if found is None:
                tally.add(Change.CREATE, name)
            else:
                tally.updated(name, _changed(found, doc))
        return Page({oid: link.resource_id for oid, link in known.items()})

    def _stored(
        self, org_id: str, kind: str, ids: list[str]
    ) -> dict[str, tuple[str, dict[str, Any]]]:
        if kind == "User":
            return {
                rid: (u.user_name, u.doc)
                for rid, u in self.current.users_by_id(org_id, ids).items()
            }
        return {rid: (rid, {}) for rid in ids}

    def _by_name(self, org_id: str, kind: str, names: list[str]) -> dict[str, dict[str, Any]]:
        if kind == "User":
            return {k: u.doc for k, u in self.current.users_by_name(org_id, names).items()}
        return {
            k: {"displayName": g.display_name}
            for k, g in self.current.groups_by_name(org_id, names).items()
        }

    def member_lists(self, source: SyncSource, lists: Mapping[str, Sequence[str]]) -> None:
        members = self.resolve(source, [oid for oids in lists.values() for oid in oids])
        now = self.current.members_of(list(lists))
        for gid, oids in lists.items():
            desired = {members[o] for o in oids if o in members}
            if desired != now.get(gid, set()) and gid in self._unchanged_groups:
                self.groups_tally.counts[Change.UNCHANGED] -= 1
                self.groups_tally.updated(self._group_names.get(gid, gid), ["members"])

    def member_changes(
        self, source: SyncSource, changes: Sequence[tuple[str, Sequence[str], Sequence[str]]]
    ) -> None:
        return None

    def unseen(
        self, source: SyncSource, kind: str, seen: set[str], action: Action | None = None
    ) -> int:
        gone = {
            oid: rid
            for oid, rid in self.current.linked_present(source.id, kind).items()
            if oid not in seen and oid not in self._removed
        }
        self._removed.update(gone)
        if kind == "User":
            for user in self.current.users_by_id(source.org_id, gone.values()).values():
                self.users_tally.add(Change.DEACTIVATE, user.user_name)
        else:
            for rid in gone.values():
                self.groups_tally.add(Change.DELETE, self._group_names.get(rid, rid))
        return len(gone)

    def settle(
        self, source: SyncSource, loc: Locator, counts: PullCounts, started: float
    ) -> PullCounts:
        counts.seconds = round(time.monotonic() - started, 3)
        return counts


def _name(kind: str, doc: dict[str, Any]) -> str:
    return str(doc.get("userName" if kind == "User" else "displayName", ""))


def _changed(stored: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """The attributes whose values would change (top level; `meta`, `id` and `schemas`
    are the hub's)."""
    keys = (set(stored) | set(desired)) - {"id", "meta", "schemas", "groups", "members"}
    return sorted(k for k in keys if stored.get(k) != desired.get(k) and k in desired)
