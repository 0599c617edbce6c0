"""Pull sync: the hub reads Graph delta queries itself and applies the changes to the org,
an alternative to Entra's 40-minute push for one instance.

A round starts from the saved deltaLink (or from scratch), and after each page is applied
the next link is saved, so a crash resumes at the page it was on; links and digests make
re-applying a page harmless (nothing duplicated, unchanged objects not written).

A round's writes record their change events as the instance's (`Source` ENTRA, with the
round's tracking id when its caller has one), and a finished round records
`sync.completed` with its counts. Documents in those events are located under the hub's
public URL, else the instance's saved hub URL, else the hub-relative path.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from ... import metrics
from ...directory.current import Current
from ...directory.deletion_brake import Action, DeletionBrake, Noted
from ...directory.events import Source, SourceKind, caused_by
from ...directory.groups import Groups
from ...directory.imports import ImportItem, Imports
from ...directory.instances import Instance, Instances, Mode
from ...directory.links import Link, Links
from ...directory.locator import Locator
from ...directory.users import Users
from ...scim.errors import NotFound, ScimError
from ...scim.filter import parse_path
from ...scim.patch import PatchOp, apply_patch
from ...scim.schemas import USER, USER_URN, ResourceType
from ...store.engine import utcnow
from .connection import EntraConnection
from .errors import AlreadyRunning, Conflict
from .graph import GraphClient
from .mappings import extension_sources

# Graph user properties the default mappings read; `manager` needs $expand and is not
# pulled (push covers it).
USER_SELECT = (
    "id,userPrincipalName,displayName,givenName,surname,mail,accountEnabled,"
    "jobTitle,department,employeeId,mailNickname"
)
PAGE_SIZE = 999  # Graph's largest page for users and groups
Progress = Callable[[str, int], None]


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


def user_select(mappings: list[dict[str, str]]) -> str:
    """The users round's $select: the standard properties and every mapped directory
    extension (Graph returns those only when $select names them)."""
    return ",".join([USER_SELECT, *extension_sources(mappings)])


def user_document(
    item: dict[str, Any], mappings: list[dict[str, str]], rt: ResourceType = USER
) -> dict[str, Any]:
    """A SCIM user from a Graph user, through the instance's mappings: each mapping is
    applied as a SCIM PATCH `add` on its target path, so any path the SCIM layer accepts
    (`emails[type eq "work"].value`, extension urns, the organisation's own attributes in
    `rt`) works as a target, and a value its attribute refuses fails as a write would."""
    ops = [
        PatchOp("add", parse_path(m["target"]), item[m["source"]])
        for m in mappings
        if item.get(m["source"]) not in (None, "", [])
    ]
    doc = apply_patch(rt, {"schemas": [USER_URN]}, ops).doc
    return dict(doc)


class PullSync:
    def __init__(
        self,
        connection: EntraConnection,
        *,
        instances: Instances,
        users: Users,
        groups: Groups,
        links: Links,
        imports: Imports,
        brake: DeletionBrake,
        current: Current,
        page_size: int = PAGE_SIZE,
        base_url: str = "",
    ) -> None:
        self.connection = connection
        self.instances = instances
        self.users = users
        self.groups = groups
        self.links = links
        self.imports = imports
        self.brake = brake
        self.current = current
        self.page_size = page_size
        self.base_url = base_url  # the hub's public URL, for `meta.location` in events

    def run(
        self,
        org_id: str,
        instance_id: str,
        progress: Progress | None = None,
        *,
        tracking_id: str | None = None,
    ) -> PullCounts:
        """One round. A second caller in this process waits for the first to end; one in
        another process (several API processes on PostgreSQL) is told it is running.
        `tracking_id`: the request or scheduled run the round belongs to, for its events.
        Every round is counted, however it was started (`scimhub_sync_rounds_total`)."""
        started, outcome = time.perf_counter(), "failed"
        try:
            with self.instances.round_lock(instance_id) as mine:
                if not mine:
                    outcome = "busy"
                    raise AlreadyRunning()
                counts = self._run(org_id, instance_id, progress, tracking_id)
                outcome = "ok"
                return counts
        finally:
            counted = metrics.current()
            if counted is not None:
                seconds = None if outcome == "busy" else time.perf_counter() - started
                counted.sync_round(outcome, seconds, org_id)

    def _run(
        self,
        org_id: str,
        instance_id: str,
        progress: Progress | None,
        tracking_id: str | None,
    ) -> PullCounts:
        instance = self.instances.get(org_id, instance_id)
        if instance is None or instance.mode != Mode.PULL:
            raise Conflict("This instance does not use pull sync.")
        started = time.monotonic()
        counts = PullCounts()
        graph = self.connection.graph(instance.tenant_id, max_wait=300)
        with caused_by(Source(SourceKind.ENTRA, instance.name, instance.id, tracking_id)):
            instance = self._round(graph, instance, "users", counts, progress)
            instance = self._round(graph, instance, "groups", counts, progress)
            settled = self.brake.settle(instance, self._locator(instance))
            counts.users_deleted = settled.count("User", Action.DELETE)
            counts.users_deactivated = settled.count("User", Action.DEACTIVATE)
            counts.groups_deleted = settled.count("Group", Action.DELETE)
            counts.removals_held = settled.held
            counts.seconds = round(time.monotonic() - started, 3)
            self.instances.finish_pull(
                instance, {**asdict(counts), "finished": utcnow().isoformat()}
            )
        return counts

    def _locator(self, instance: Instance) -> Locator:
        return Locator(self.base_url or instance.hub_url or "", instance.org_id)

    def _round(
        self,
        graph: GraphClient,
        instance: Instance,
        kind: str,
        counts: PullCounts,
        progress: Progress | None,
    ) -> Instance:
        column = f"{kind}_delta_link"
        link = getattr(instance, column)
        # A round from scratch sees every object there is: linked ones it did not see are
        # gone from Entra (deleted while a mapping change restarted the round, say).
        seen: set[str] | None = None if link else set()
        if not link:
            select = user_select(instance.mappings) if kind == "users" else "id,displayName,members"
            link = f"/{kind}/delta?$select={select}&$top={self.page_size}"
        while True:
            page = graph.get(link)
            items = page.get("value", []) if isinstance(page, dict) else []
            if seen is not None:
                seen.update(i["id"] for i in items if isinstance(i.get("id"), str))
            if kind == "users":
                self._users(instance, items, counts)
            else:
                self._groups(instance, items, counts)
            counts.pages += 1
            if progress:
                progress(kind, len(items))
            next_link = page.get("@odata.nextLink")
            delta_link = page.get("@odata.deltaLink")
            # Saved after the page is applied: a crash resumes here, not at the start.
            instance = self.instances.update(instance, **{column: next_link or delta_link})
            if not next_link:
                if seen is not None:
                    self._unseen(instance, "User" if kind == "users" else "Group", seen)
                return instance
            link = next_link

    def _unseen(self, instance: Instance, kind: str, seen: set[str]) -> None:
        """Linked objects a round from scratch did not see leave as Graph's soft deletes do
        (users deactivated, groups deleted), through the brake like every removal."""
        action = Action.DEACTIVATE if kind == "User" else Action.DELETE
        gone = [
            Noted(oid, kind, rid, action)
            for oid, rid in self.current.linked_present(instance.id, kind).items()
            if oid not in seen
        ]
        if gone:
            self.brake.note(instance, gone)

    def _users(self, instance: Instance, items: list[dict[str, Any]], counts: PullCounts) -> None:
        org_id = instance.org_id
        known = self.links.get_many(instance.id, [i["id"] for i in items if "id" in i])
        batch: list[ImportItem] = []
        digests: dict[str, str] = {}
        noted: list[Noted] = []
        rt = self.imports.attributes.types(org_id).of("User")
        for item in items:
            oid = item.get("id")
            if not oid:
                continue
            link = known.get(oid)
            removed = item.get("@removed")
            if removed is not None:
                if link is not None:
                    noted.append(Noted(oid, "User", link.resource_id, _action(removed)))
                continue
            try:
                doc = user_document(item, instance.mappings, rt)
            except ScimError:
                counts.skipped += 1
                continue
            digest = document_digest(doc)
            if link is not None and link.digest == digest:
                counts.users_unchanged += 1
                continue
            batch.append(ImportItem(oid, link.resource_id if link else None, doc))
            digests[oid] = digest
        if batch:
            result = self.imports.users(org_id, batch, self._locator(instance))
            counts.users_created += result.created
            counts.users_updated += result.updated
            counts.skipped += len(result.errors)
            self.links.save(
                instance.id,
                [Link(oid, "User", rid, digests[oid]) for oid, rid in result.ids.items()],
            )
        self._removals(instance, noted, _present(items))

    def _removals(self, instance: Instance, noted: list[Noted], present: list[str]) -> None:
        """A page's removals are noted, for the brake to settle at the round's end; what it
        reports present again drops a removal noted or held before."""
        self.brake.note(instance, noted)
        if present:
            self.brake.came_back(instance, present)

    def _groups(self, instance: Instance, items: list[dict[str, Any]], counts: PullCounts) -> None:
        org_id = instance.org_id
        known = self.links.get_many(instance.id, [i["id"] for i in items if "id" in i])
        batch: list[ImportItem] = []
        digests: dict[str, str] = {}
        noted: list[Noted] = []
        for item in items:
            oid = item.get("id")
            if not oid:
                continue
            link = known.get(oid)
            if item.get("@removed") is not None:
                if link is not None:
                    noted.append(Noted(oid, "Group", link.resource_id, Action.DELETE))
                continue
            if not item.get("displayName"):
                continue  # a membership-only change; members are applied below
            doc = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": item["displayName"],
                "externalId": oid,
            }
            digest = document_digest(doc)
            if link is None or link.digest != digest:
                batch.append(ImportItem(oid, link.resource_id if link else None, doc))
                digests[oid] = digest
        ids = {oid: link.resource_id for oid, link in known.items()}
        if batch:
            result = self.imports.groups(org_id, batch, self._locator(instance))
            counts.groups_created += result.created
            counts.groups_updated += result.updated
            counts.skipped += len(result.errors)
            self.links.save(
                instance.id,
                [Link(oid, "Group", rid, digests[oid]) for oid, rid in result.ids.items()],
            )
            ids.update(result.ids)
        self._removals(instance, noted, _present(items))
        self._members(instance, items, ids)

    def _members(
        self, instance: Instance, items: list[dict[str, Any]], ids: dict[str, str]
    ) -> None:
        member_oids = {m["id"] for i in items for m in i.get("members@delta", []) if "id" in m}
        members = {
            oid: link.resource_id
            for oid, link in self.links.get_many(instance.id, sorted(member_oids)).items()
        }
        for item in items:
            gid = ids.get(item.get("id", ""))
            delta = item.get("members@delta")
            if gid is None or not delta:
                continue
            add = [
                members[m["id"]] for m in delta if "@removed" not in m and m.get("id") in members
            ]
            remove = [members[m["id"]] for m in delta if "@removed" in m and m.get("id") in members]
            try:
                self.groups.change_members(instance.org_id, gid, add=add, remove=remove)
            except NotFound:
                continue


def _action(removed: Any) -> Action:
    """Graph's @removed reason: "deleted" is permanent (delete); "changed" is a soft delete
    or the object leaving the scope (deactivate, as Entra's push does)."""
    reason = removed.get("reason") if isinstance(removed, dict) else None
    return Action.DELETE if reason == "deleted" else Action.DEACTIVATE


def _present(items: list[dict[str, Any]]) -> list[str]:
    """The ids of a page's objects that are not removed."""
    return [i["id"] for i in items if i.get("id") and i.get("@removed") is None]
