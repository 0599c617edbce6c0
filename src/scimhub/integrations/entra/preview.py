"""What a scope or mapping change would do, before it is made: how many users and groups
the next full cycle would create, update (which attributes), deactivate or delete, with
samples. Nothing is written, in the hub or in Entra.

A change restarts the instance's cycle (Entra's new initial cycle; a pull round from
scratch), so the preview reads every user and group of the tenant a page at a time and
compares each with the hub as that cycle would:

- pull: each Graph user through the proposed mappings, against the instance's links and
  their digests (unchanged when the digest is the same, as a round decides); linked users
  Graph no longer lists are deactivated, linked groups it no longer lists deleted. Pull
  reads the whole tenant, so its scope changes nothing.
- push: the users the proposed scope entitles (all, or those assigned to the provisioning
  app directly or through an assigned group, direct members only, as Entra does), matched
  with hub users on userName; mapped values compared with the hub's; hub users Entra would
  take out of scope deactivated, hub groups out of scope deleted, group members compared.

The hub stands in for Entra's own memory of what it provisioned: a hub user with the
userName of an entitled user is taken to be that user. `manager` is not compared (Graph
lists it only through $expand).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ...directory.current import Current, StoredGroup, StoredUser
from ...directory.custom_attributes import CustomAttributes
from ...directory.deletion_brake import DeletionBrake, Forecast
from ...directory.instances import SCOPES, Instance, Instances, Mode
from ...directory.links import Links
from ...scim.ast import PatchPath
from ...scim.errors import ScimError
from ...scim.evaluate import value_at
from ...scim.filter import parse_path
from ...scim.schemas import GROUP_URN, ResourceType
from ..pull.forecast import Change, Tally
from . import mappings as mapping_rules
from .connection import EntraConnection
from .errors import BadRequest, Conflict
from .graph import GraphClient
from .lookup import saved_instance
from .pull import document_digest, user_document, user_select

PAGE = "999"  # Graph's largest page
GRAPH_USER = "#microsoft.graph.user"
UNREAD_SOURCES = frozenset({"manager"})  # not in a /users listing


@dataclass
class Preview:
    instance: Instance
    scope: str
    mappings: list[dict[str, str]]
    users: Tally = field(default_factory=Tally)
    groups: Tally = field(default_factory=Tally)
    examined_users: int = 0
    examined_groups: int = 0
    pages: int = 0
    threshold: Forecast | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def removals(self) -> int:
        return self.users.removals + self.groups.removals

    def as_json(self) -> dict[str, Any]:
        i = self.instance
        return {
            "instanceId": i.id,
            "mode": i.mode.value,
            "scope": self.scope,
            "scopeChanged": self.scope != i.scope,
            "mappingsChanged": self.mappings != i.mappings,
            "examined": {
                "users": self.examined_users,
                "groups": self.examined_groups,
                "pages": self.pages,
            },
            "users": self.users.as_json(),
            "groups": self.groups.as_json(),
            "removals": self.removals,
            "threshold": self.threshold.as_json() if self.threshold else None,
            "seconds": self.seconds,
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True)
class _Compared:
    """The mapping targets a preview compares, parsed once."""

    paths: list[tuple[str, PatchPath]]

    @classmethod
    def of(cls, *mapping_lists: list[dict[str, str]]) -> _Compared:
        targets = dict.fromkeys(
            m["target"] for ms in mapping_lists for m in ms if m["source"] not in UNREAD_SOURCES
        )
        return cls([(t, parse_path(t)) for t in targets])

    def changed(
        self, rt: ResourceType, stored: dict[str, Any], desired: dict[str, Any]
    ) -> list[str]:
        return [
            target
            for target, path in self.paths
            if not _same(_read(rt, stored, path), _read(rt, desired, path))
        ]


class Previewer:
    def __init__(
        self,
        connection: EntraConnection,
        *,
        instances: Instances,
        links: Links,
        current: Current,
        attributes: CustomAttributes,
        brake: DeletionBrake,
    ) -> None:
        self.connection = connection
        self.instances = instances
        self.links = links
        self.current = current
        self.attributes = attributes
        self.brake = brake
        self._lock = threading.Lock()
        self._running: set[str] = set()

    def preview(self, org_id: str, instance_id: str, proposed: Any) -> Preview:
        """`proposed`: `{"scope"?, "mappings"?}`; what is left out stays as saved. One
        preview per instance at a time: a large tenant's takes a while, and repeating it
        must not take every worker thread."""
        with self._lock:
            if instance_id in self._running:
                raise Conflict("A preview of this instance is running: try again when it ends.")
            self._running.add(instance_id)
        try:
            return self._preview(org_id, instance_id, proposed)
        finally:
            with self._lock:
                self._running.discard(instance_id)

    def _preview(self, org_id: str, instance_id: str, proposed: Any) -> Preview:
        if not isinstance(proposed, dict):
            raise BadRequest("the body must be an object with 'scope' and/or 'mappings'")
        instance = saved_instance(self.instances, org_id, instance_id)
        scope = proposed.get("scope", instance.scope)
        if scope not in SCOPES:
            raise BadRequest(f"scope must be one of {', '.join(SCOPES)}")
        chosen = (
            mapping_rules.validate(proposed["mappings"])
            if "mappings" in proposed
            else instance.mappings
        )
        started = time.monotonic()
        result = Preview(instance, scope, chosen)
        graph = self.connection.graph(instance.tenant_id, max_wait=60)
        rt = self.attributes.types(org_id).of("User")
        compared = _Compared.of(instance.mappings, chosen)
        if instance.mode == Mode.PULL:
            if scope != instance.scope:
                result.notes.append(
                    "Pull sync reads the whole tenant: the scope does not change what it syncs."
                )
            self._pull(graph, instance, result, rt, compared)
        else:
            self._push(graph, instance, result, rt, compared)
        if any(m["source"] in UNREAD_SOURCES for m in chosen):
            result.notes.append("manager is not compared (Graph lists it only through $expand).")
        result.threshold = self.brake.would_hold(instance, result.removals)
        result.seconds = round(time.monotonic() - started, 3)
        return result

    # -- pull -------------------------------------------------------------------------

    def _pull(
        self,
        graph: GraphClient,
        instance: Instance,
        result: Preview,
        rt: ResourceType,
        compared: _Compared,
    ) -> None:
        org_id = instance.org_id
        seen: set[str] = set()
        for items in self._pages(graph, "/users", result, select=user_select(result.mappings)):
            result.examined_users += len(items)
            known = self.links.get_many(instance.id, [i["id"] for i in items])
            linked: dict[str, tuple[str, dict[str, Any]]] = {}  # resource id -> (name, doc)
            unlinked: dict[str, dict[str, Any]] = {}  # userName -> doc
            for item in items:
                seen.add(item["id"])
                desired = self._document(item, result, rt)
                if desired is None:
                    continue
                name = str(desired.get("userName", ""))
                link = known.get(item["id"])
                if link is None:
                    unlinked[name] = desired
                elif link.digest == document_digest(desired):
                    result.users.add(Change.UNCHANGED, name)
                else:
                    linked[link.resource_id] = (name, desired)
            for rid, stored in self.current.users_by_id(org_id, linked).items():
                name, desired = linked.pop(rid)
                result.users.updated(name, compared.changed(rt, stored.doc, desired))
            for name, _ in linked.values():  # its resource is gone: created again
                result.users.add(Change.CREATE, name)
            self._match_by_name(org_id, unlinked, result, rt, compared)
        gone = {
            oid: rid
            for oid, rid in self.current.linked_present(instance.id, "User").items()
            if oid not in seen
        }
        for user in self.current.users_by_id(org_id, gone.values()).values():
            result.users.add(Change.DEACTIVATE, user.user_name)

        seen_groups: set[str] = set()
        for items in self._pages(graph, "/groups", result, select="id,displayName"):
            result.examined_groups += len(items)
            known = self.links.get_many(instance.id, [i["id"] for i in items])
            for item in items:
                seen_groups.add(item["id"])
                name = str(item.get("displayName") or "")
                doc = {"schemas": [GROUP_URN], "displayName": name, "externalId": item["id"]}
                link = known.get(item["id"])
                if link is None:
                    result.groups.add(Change.CREATE, name)
                elif link.digest == document_digest(doc):
                    result.groups.add(Change.UNCHANGED, name)
                else:
                    result.groups.updated(name, ["displayName"])
        for oid in self.current.linked_present(instance.id, "Group"):
            if oid not in seen_groups:
                result.groups.add(Change.DELETE, oid)

    def _match_by_name(
        self,
        org_id: str,
        wanted: dict[str, dict[str, Any]],
        result: Preview,
        rt: ResourceType,
        compared: _Compared,
    ) -> dict[str, StoredUser]:
        """Users matched on userName: updated when a mapped value differs, else created."""
        stored = self.current.users_by_name(org_id, wanted)
        for name, desired in wanted.items():
            found = stored.get(name.lower())
            if found is None:
                result.users.add(Change.CREATE, name)
                continue
            changed = compared.changed(rt, found.doc, desired)
            if changed:
                result.users.updated(name, changed)
            else:
                result.users.add(Change.UNCHANGED, name)
        return stored

    # -- push -------------------------------------------------------------------------

    def _push(
        self,
        graph: GraphClient,
        instance: Instance,
        result: Preview,
        rt: ResourceType,
        compared: _Compared,
    ) -> None:
        org_id = instance.org_id
        members: dict[str, list[str]] = {}  # group -> direct user members, read once
        entitled_groups: set[str] | None = None  # None: every group (scope all)
        entitled_users: set[str] | None = None
        if result.scope == "assigned":
            entitled_users, entitled_groups = self._assigned(graph, instance, result)
            for gid in entitled_groups:
                members[gid] = self._members(graph, gid, result)
                entitled_users.update(members[gid])
        names: dict[str, str] = {}  # entitled user's object id -> its userName, lower-cased
        for items in self._pages(graph, "/users", result, select=user_select(result.mappings)):
            result.examined_users += len(items)
            wanted: dict[str, dict[str, Any]] = {}
            outside: list[str] = []
            for item in items:
                desired = self._document(item, result, rt)
                if desired is None:
                    continue
                name = str(desired.get("userName", ""))
                if entitled_users is None or item["id"] in entitled_users:
                    wanted[name] = desired
                    names[item["id"]] = name.lower()
                else:
                    outside.append(name)
            self._match_by_name(org_id, wanted, result, rt, compared)
            for user in self.current.users_by_name(org_id, outside).values():
                if user.active:
                    result.users.add(Change.DEACTIVATE, user.user_name)

        for items in self._pages(graph, "/groups", result, select="id,displayName"):
            result.examined_groups += len(items)
            by_name = {str(i.get("displayName") or ""): i["id"] for i in items}
            stored_groups = self.current.groups_by_name(org_id, by_name)
            for name, gid in by_name.items():
                stored = stored_groups.get(name.lower())
                if entitled_groups is not None and gid not in entitled_groups:
                    if stored is not None:
                        result.groups.add(Change.DELETE, name)
                    continue
                if stored is None:
                    result.groups.add(Change.CREATE, name)
                    continue
                if gid not in members:
                    members[gid] = self._members(graph, gid, result)
                self._compare_members(result, name, stored, members[gid], names)

    @staticmethod
    def _compare_members(
        result: Preview,
        name: str,
        stored: StoredGroup,
        member_ids: list[str],
        names: dict[str, str],
    ) -> None:
        """Entra adds the group's entitled, provisioned direct members and removes the rest."""
        desired = frozenset(names[m] for m in member_ids if m in names)
        if desired == stored.members:
            result.groups.add(Change.UNCHANGED, name)
        else:
            result.groups.updated(name, ["members"])

    def _assigned(
        self, graph: GraphClient, instance: Instance, result: Preview
    ) -> tuple[set[str], set[str]]:
        """The users and groups assigned to the provisioning app."""
        if not instance.provisioning_sp_id:
            raise BadRequest("the instance has no provisioning app yet: finish its setup first")
        users: set[str] = set()
        groups: set[str] = set()
        path = f"/servicePrincipals/{instance.provisioning_sp_id}/appRoleAssignedTo"
        for items in self._pages(graph, path, result):
            for a in items:
                kind = {"User": users, "Group": groups}.get(str(a.get("principalType")))
                if kind is not None and a.get("principalId"):
                    kind.add(str(a["principalId"]))
        return users, groups

    def _members(self, graph: GraphClient, group_id: str, result: Preview) -> list[str]:
        found: list[str] = []
        for items in self._pages(graph, f"/groups/{group_id}/members", result):
            found.extend(m["id"] for m in items if m.get("@odata.type", GRAPH_USER) == GRAPH_USER)
        return found

    # -- shared -----------------------------------------------------------------------

    @staticmethod
    def _pages(
        graph: GraphClient, path: str, result: Preview, *, select: str | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page's objects that have an id, reading the next page only when asked."""
        params = {"$top": PAGE, **({"$select": select} if select else {})}
        for page in graph.pages(path, **params):
            result.pages += 1
            yield [i for i in page.get("value", []) if isinstance(i.get("id"), str)]

    @staticmethod
    def _document(item: dict[str, Any], result: Preview, rt: ResourceType) -> dict[str, Any] | None:
        try:
            return user_document(item, result.mappings, rt)
        except ScimError as error:
            name = str(item.get("userPrincipalName") or item["id"])
            result.users.add(Change.ERROR, name, {"detail": error.detail})
            return None


def _read(rt: ResourceType, doc: dict[str, Any], path: PatchPath) -> Any:
    try:
        return value_at(rt, doc, path)
    except ScimError:  # a target the organisation no longer defines reads as absent
        return None


def _same(a: Any, b: Any) -> bool:
    """Values compared as Entra compares them: text case-insensitively."""
    return bool(_folded(a) == _folded(b))


def _folded(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, list):
        return [_folded(v) for v in value]
    return value
