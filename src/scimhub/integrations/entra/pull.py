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

import contextvars
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from ... import metrics
from ...directory.current import Current
from ...directory.deletion_brake import Action, DeletionBrake
from ...directory.events import Source, SourceKind, caused_by
from ...directory.groups import Groups
from ...directory.imports import Imports
from ...directory.instances import Instance, Instances, Mode
from ...directory.links import Links
from ...directory.locator import Locator
from ...directory.users import Users
from ...scim.ast import PatchPath
from ...scim.errors import ScimError
from ...scim.filter import parse_path
from ...scim.patch import PatchOp, apply_patch
from ...scim.schemas import USER, USER_URN, ResourceType
from ...store.engine import utcnow
from ..pull.engine import GROUP_SCHEMA, Incoming, PullCounts, PullEngine, document_digest
from .connection import EntraConnection
from .errors import AlreadyRunning, Conflict
from .graph import GraphClient
from .mappings import extension_sources

__all__ = [
    "PullCounts",
    "PullSync",
    "UserMapper",
    "document_digest",
    "user_document",
    "user_select",
]

# Graph user properties the default mappings read; `manager` needs $expand and is not
# pulled (push covers it).
USER_SELECT = (
    "id,userPrincipalName,displayName,givenName,surname,mail,accountEnabled,"
    "jobTitle,department,employeeId,mailNickname"
)
PAGE_SIZE = 999  # Graph's largest page for users and groups
# A groups page carries every member of each of its groups (members@delta): 999 groups of
# a 100k-user tenant are ~200k member objects parsed at once, ~110 MB of the hub's peak.
GROUP_PAGE_SIZE = 100
Progress = Callable[[str, int], None]
T = TypeVar("T")


def user_select(mappings: list[dict[str, str]]) -> str:
    """The users round's $select: the standard properties and every mapped directory
    extension (Graph returns those only when $select names them)."""
    return ",".join([USER_SELECT, *extension_sources(mappings)])


@dataclass(frozen=True, slots=True)
class UserMapper:
    """An instance's mappings with their target paths parsed once, for a round: parsing
    them again for every user was ~40% of turning a Graph user into a document. A target
    that does not parse fails the users it applies to, as it did when parsed per user."""

    paths: tuple[tuple[str, str, PatchPath | None], ...]  # source, target, parsed target

    @classmethod
    def of(cls, mappings: list[dict[str, str]]) -> UserMapper:
        return cls(tuple((m["source"], m["target"], _parsed(m["target"])) for m in mappings))

    def document(self, item: dict[str, Any], rt: ResourceType = USER) -> dict[str, Any]:
        """A SCIM user from a Graph user: each mapping is applied as a SCIM PATCH `add` on
        its target path, so any path the SCIM layer accepts (`emails[type eq
        "work"].value`, extension urns, the organisation's own attributes in `rt`) works
        as a target, and a value its attribute refuses fails as a write would."""
        ops = []
        for source, target, path in self.paths:
            if item.get(source) in (None, "", []):
                continue
            # Parsed again to raise its error afresh (not one instance raised every time).
            ops.append(PatchOp("add", path or parse_path(target), item[source]))
        return dict(apply_patch(rt, {"schemas": [USER_URN]}, ops).doc)


def _parsed(target: str) -> PatchPath | None:
    try:
        return parse_path(target)
    except ScimError:
        return None


def user_document(
    item: dict[str, Any], mappings: list[dict[str, str]], rt: ResourceType = USER
) -> dict[str, Any]:
    """A SCIM user from a Graph user, through the instance's mappings (`UserMapper`)."""
    return UserMapper.of(mappings).document(item, rt)


class PullSync:
    """Graph delta queries, read a page at a time and handed to the shared pull engine
    (`integrations.pull.engine`), which applies them as it applies every source's."""

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
        self.engine = PullEngine(
            instances=instances,
            groups=groups,
            links=links,
            imports=imports,
            brake=brake,
            current=current,
        )
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
            with self.engine.locked(instance_id) as mine:
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
            self.engine.settle(instance, self._locator(instance), counts, started)
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
        mapper, org_id = UserMapper.of(instance.mappings), instance.org_id
        if not link:
            select = user_select(instance.mappings) if kind == "users" else "id,displayName,members"
            top = self.page_size if kind == "users" else min(self.page_size, GROUP_PAGE_SIZE)
            link = f"/{kind}/delta?$select={select}&$top={top}"

        def read(link: str) -> tuple[Any, list[dict[str, Any]], list[Incoming]]:
            page = graph.get(link)
            items = page.get("value", []) if isinstance(page, dict) else []
            return page, items, self._incoming(org_id, mapper, items) if kind == "users" else []

        for page, items, incoming in _read_ahead(read, link, lambda got: _next_link(got[0])):
            if seen is not None:
                seen.update(i["id"] for i in items if isinstance(i.get("id"), str))
            if kind == "users":
                self.engine.users(instance, incoming, counts, self._locator(instance))
            else:
                self._groups(instance, items, counts)
            counts.pages += 1
            if progress:
                progress(kind, len(items))
            # Saved after the page is applied: a crash resumes here, not at the start.
            link = _next_link(page) or page.get("@odata.deltaLink")
            instance = self.instances.update(instance, **{column: link})
        if seen is not None:
            self.engine.unseen(instance, "User" if kind == "users" else "Group", seen)
        return instance

    def _incoming(
        self, org_id: str, mapper: UserMapper, items: list[dict[str, Any]]
    ) -> list[Incoming]:
        """A page of Graph users as the engine takes them."""
        rt = self.imports.attributes.types(org_id).of("User")
        page: list[Incoming] = []
        for item in items:
            oid = item.get("id")
            if not oid:
                continue
            removed = item.get("@removed")
            if removed is not None:
                page.append(Incoming(oid, removed=_action(removed)))
                continue
            try:
                page.append(Incoming(oid, mapper.document(item, rt)))
            except ScimError as error:
                page.append(Incoming(oid, error=error.detail))
        return page

    def _groups(self, instance: Instance, items: list[dict[str, Any]], counts: PullCounts) -> None:
        page: list[Incoming] = []
        for item in items:
            oid = item.get("id")
            if not oid:
                continue
            if item.get("@removed") is not None:
                page.append(Incoming(oid, removed=Action.DELETE))
            elif not item.get("displayName"):
                page.append(Incoming(oid))  # a membership-only change; members below
            else:
                doc = {
                    "schemas": [GROUP_SCHEMA],
                    "displayName": item["displayName"],
                    "externalId": oid,
                }
                page.append(Incoming(oid, doc))
        done = self.engine.groups_page(instance, page, counts, self._locator(instance))
        changes = []
        for item in items:
            gid = done.ids.get(item.get("id", ""))
            delta = item.get("members@delta")
            if gid is None or not delta:
                continue
            ids = [m for m in delta if isinstance(m.get("id"), str)]
            changes.append(
                (
                    gid,
                    [m["id"] for m in ids if "@removed" not in m],
                    [m["id"] for m in ids if "@removed" in m],
                )
            )
        self.engine.member_changes(instance, changes)


def _next_link(page: Any) -> str | None:
    link = page.get("@odata.nextLink") if isinstance(page, dict) else None
    return link if isinstance(link, str) and link else None


def _read_ahead(
    read: Callable[[str], T], first: str, next_of: Callable[[T], str | None]
) -> Iterator[T]:
    """What `read` makes of `first` and of each link after it, the next one read (in a
    thread of its own, in a copy of this context) while the caller applies the one before:
    applying a page mostly waits on the database, which leaves the interpreter free to
    fetch the next page and map its users."""
    context = contextvars.copy_context()
    with ThreadPoolExecutor(1, thread_name_prefix="pull-read-ahead") as pool:
        pending: Future[T] | None = pool.submit(context.run, read, first)
        while pending is not None:
            got = pending.result()
            link = next_of(got)
            pending = pool.submit(context.run, read, link) if link else None
            yield got


def _action(removed: Any) -> Action:
    """Graph's @removed reason: "deleted" is permanent (delete); "changed" is a soft delete
    or the object leaving the scope (deactivate, as Entra's push does)."""
    reason = removed.get("reason") if isinstance(removed, dict) else None
    return Action.DELETE if reason == "deleted" else Action.DEACTIVATE
