"""One pull engine for every sync source. A source (Entra's pull sync, an LDAP source)
reads its own protocol and hands the engine pages of what it saw, each object as an
`Incoming`: its stable id and the SCIM document it maps to, or that the source reports it
removed, or that it could not be mapped. The engine does the rest, the same way for all:

- links and digests: an object whose document has the digest its link remembers costs a
  lookup and no write; the others are applied a page per transaction (`Imports`: created,
  updated, adopted by userName/displayName, never duplicated), and their links saved;
- removals are noted for the deletion brake, never applied page by page; what a page
  reports present again drops a removal noted or held before (`came_back`); at the
  round's end `settle` applies them or holds them all;
- a round that saw every object there is (from scratch) notes the linked objects it did
  not see (`unseen`);
- group members, as the source gives them: changes (Graph's `members@delta`) or the whole
  list (LDAP's `member`), by the source's ids, resolved through the links;
- the round's counts, and one round at a time per source (`locked`), across processes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import orjson

from ...directory.current import Current
from ...directory.deletion_brake import Action, DeletionBrake, Noted
from ...directory.groups import Groups
from ...directory.imports import ImportItem, Imports
from ...directory.instances import Instances
from ...directory.links import Link, Links
from ...directory.locator import Locator
from ...directory.sync_source import SyncSource
from ...scim.errors import NotFound
from ...store.engine import custom_plans

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


@dataclass
class PullCounts:
    users_created: int = 0
    users_updated: int = 0
    users_unchanged: int = 0
    users_deactivated: int = 0
    users_deleted: int = 0
    groups_created: int = 0
    groups_updated: int = 0
    groups_deleted: int = 0
    removals_held: int = 0  # removals past the deletion threshold, waiting for an admin
    skipped: int = 0
    pages: int = 0
    seconds: float = 0.0


def document_digest(doc: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class Incoming:
    """One object of a page, as its source saw it. Exactly one of: `doc` (present, with
    the document it maps to), `removed` (the source reports it gone), `error` (present,
    but its values cannot be mapped: skipped); none of them: present, nothing to write
    (a membership-only change)."""

    object_id: str
    doc: dict[str, Any] | None = None
    removed: Action | None = None
    error: str | None = None
    # What the link remembers; by default the document's digest. A source that keeps more
    # than the document per object (an LDAP entry's DN) digests that too.
    digest: str | None = None

    def digest_of(self) -> str:
        assert self.doc is not None
        return self.digest or document_digest(self.doc)


@dataclass
class Page:
    """What the engine did with a page: the hub resources of its objects (linked before
    or written now) and the ids of the objects it wrote."""

    ids: dict[str, str] = field(default_factory=dict)  # object id -> resource id
    written: list[str] = field(default_factory=list)


class PullEngine:
    def __init__(
        self,
        *,
        instances: Instances,
        groups: Groups,
        links: Links,
        imports: Imports,
        brake: DeletionBrake,
        current: Current,
    ) -> None:
        self.instances = instances  # holds the round locks, for every kind of source
        self.groups = groups
        self.links = links
        self.imports = imports
        self.brake = brake
        self.current = current

    @contextmanager
    def locked(self, source_id: str) -> Iterator[bool]:
        """Held while a round of the source runs (and while an admin decides on its held
        removals); False: another process runs one. A second caller in this process
        waits for the first. Its transactions plan each statement for its values
        (`custom_plans`): the round grows the tables it looks up."""
        with self.instances.round_lock(source_id) as mine, custom_plans():
            yield mine

    # -- pages ----------------------------------------------------------------------------

    def users(
        self, source: SyncSource, page: Sequence[Incoming], counts: PullCounts, loc: Locator
    ) -> Page:
        return self._page(source, "User", page, counts, loc)

    def groups_page(
        self, source: SyncSource, page: Sequence[Incoming], counts: PullCounts, loc: Locator
    ) -> Page:
        return self._page(source, "Group", page, counts, loc)

    def _page(
        self,
        source: SyncSource,
        kind: str,
        page: Sequence[Incoming],
        counts: PullCounts,
        loc: Locator,
    ) -> Page:
        known = self.links.get_many(source.id, [i.object_id for i in page])
        batch: list[ImportItem] = []
        digests: dict[str, str] = {}
        noted: list[Noted] = []
        for item in page:
            link = known.get(item.object_id)
            if item.removed is not None:
                if link is not None:
                    noted.append(Noted(item.object_id, kind, link.resource_id, item.removed))
                continue
            if item.error is not None:
                counts.skipped += 1
                continue
            if item.doc is None:
                continue
            digest = item.digest_of()
            if link is not None and link.digest == digest:
                if kind == "User":
                    counts.users_unchanged += 1
                continue
            batch.append(ImportItem(item.object_id, link.resource_id if link else None, item.doc))
            digests[item.object_id] = digest
        out = Page({oid: link.resource_id for oid, link in known.items()})
        if batch:
            write = self.imports.users if kind == "User" else self.imports.groups
            result = write(source.org_id, batch, loc)
            if kind == "User":
                counts.users_created += result.created
                counts.users_updated += result.updated
            else:
                counts.groups_created += result.created
                counts.groups_updated += result.updated
            counts.skipped += len(result.errors)
            self.links.save(
                source.id,
                [Link(oid, kind, rid, digests[oid]) for oid, rid in result.ids.items()],
            )
            out.ids.update(result.ids)
            out.written = list(result.ids)
        self.brake.note(source, noted)
        present = [i.object_id for i in page if i.removed is None]
        if present:
            self.brake.came_back(source, present)
        return out

    # -- members --------------------------------------------------------------------------

    def resolve(self, source: SyncSource, object_ids: Sequence[str]) -> dict[str, str]:
        """The hub resources linked to these source objects (those the hub has)."""
        found = self.links.get_many(source.id, sorted(set(object_ids)))
        return {oid: link.resource_id for oid, link in found.items()}

    def member_changes(
        self,
        source: SyncSource,
        changes: Sequence[tuple[str, Sequence[str], Sequence[str]]],
    ) -> None:
        """(group resource id, member object ids added, removed) per group: the members
        the hub has links for are added or removed; others are out of scope here."""
        wanted = [oid for _, add, remove in changes for oid in (*add, *remove)]
        members = self.resolve(source, wanted)
        for gid, add, remove in changes:
            self._change(
                source.org_id,
                gid,
                [members[o] for o in add if o in members],
                [members[o] for o in remove if o in members],
            )

    def member_lists(self, source: SyncSource, lists: Mapping[str, Sequence[str]]) -> None:
        """Group resource id → every member's object id (a source that lists all of a
        group's members): the hub's members become those (the ones it has links for)."""
        members = self.resolve(source, [oid for oids in lists.values() for oid in oids])
        now = self.current.members_of(list(lists))
        for gid, oids in lists.items():
            desired = list(dict.fromkeys(members[o] for o in oids if o in members))
            have = now.get(gid, set())
            add = [rid for rid in desired if rid not in have]
            remove = sorted(have - set(desired))
            if add or remove:
                self._change(source.org_id, gid, add, remove)

    def _change(self, org_id: str, gid: str, add: list[str], remove: list[str]) -> None:
        with suppress(NotFound):  # the group was deleted meanwhile
            self.groups.change_members(org_id, gid, add=add, remove=remove)

    # -- the round's end --------------------------------------------------------------------

    def unseen(
        self, source: SyncSource, kind: str, seen: set[str], action: Action | None = None
    ) -> int:
        """Linked objects a round that saw everything did not see leave, through the brake
        like every removal: users deactivated, groups deleted (unless `action` says).
        Returns how many were noted."""
        action = action or (Action.DEACTIVATE if kind == "User" else Action.DELETE)
        gone = [
            Noted(oid, kind, rid, action)
            for oid, rid in self.current.linked_present(source.id, kind).items()
            if oid not in seen
        ]
        if gone:
            self.brake.note(source, gone)
        return len(gone)

    def settle(
        self, source: SyncSource, loc: Locator, counts: PullCounts, started: float
    ) -> PullCounts:
        """Apply the round's noted removals, or hold them all; the counts say which."""
        settled = self.brake.settle(source, loc)
        counts.users_deleted = settled.count("User", Action.DELETE)
        counts.users_deactivated = settled.count("User", Action.DEACTIVATE)
        counts.groups_deleted = settled.count("Group", Action.DELETE)
        counts.removals_held = settled.held
        counts.seconds = round(time.monotonic() - started, 3)
        return counts
