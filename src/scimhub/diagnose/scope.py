"""Evidence for scope problems: which Entra users the hub does not have (or has inactive),
and why, read from Graph and the hub's own directory.

Entra provisions assigned users and direct members of assigned groups; members of nested
groups are not expanded, and disabled users arrive inactive. The groups the hub holds are
the assigned ones (only those are provisioned with scope "assigned"), so their Graph
members tell direct from nested entitlement without a Graph call the real service lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Literal

from ..directory.groups import Groups
from ..directory.instances import Instance
from ..directory.locator import Locator
from ..directory.search import Query
from ..directory.users import Users
from ..integrations.entra.errors import IntegrationError
from ..integrations.entra.reader import TenantProbe
from ..scim.filter import parse_filter

MAX_USERS = 5000  # a diagnosis, not a sync: beyond this the comparison says it is partial
MAX_GROUPS = 500
NESTING_DEPTH = 3
_BATCH = 50
# Why a user in Entra's scope is not in the hub (yet).
Reason = Literal["unassigned", "nested", "pending", "disabled"]


@dataclass(frozen=True, slots=True)
class SourceUser:
    id: str
    upn: str
    enabled: bool


@dataclass(slots=True)
class ScopeEvidence:
    scope: str
    checked: int = 0
    truncated: bool = False
    not_provisioned: list[tuple[SourceUser, Reason]] = field(default_factory=list)


def gather_scope(
    probe: TenantProbe,
    users: Users,
    groups: Groups,
    instance: Instance,
    *,
    sp_id: str | None,
    skipped: list[dict[str, Any]],
) -> ScopeEvidence:
    evidence = ScopeEvidence(instance.scope)
    source = next(
        (m["source"] for m in instance.mappings if m["target"] == "userName"), "userPrincipalName"
    )
    entra_users: list[tuple[SourceUser, str]] = []
    for value in islice(probe.users(f"id,userPrincipalName,accountEnabled,{source}"), MAX_USERS):
        user = SourceUser(
            str(value["id"]),
            str(value.get("userPrincipalName") or ""),
            value.get("accountEnabled") is not False,
        )
        entra_users.append((user, str(value.get(source) or "")))
    evidence.checked = len(entra_users)
    evidence.truncated = len(entra_users) >= MAX_USERS
    active = _hub_users(users, instance.org_id, [name for _, name in entra_users])
    missing = [u for u, name in entra_users if not active.get(name.lower(), False)]
    if not missing:
        return evidence
    skipped_ids = {str((e.get("sourceIdentity") or {}).get("id")) for e in skipped}
    direct, nested = (
        (set(), set())
        if instance.scope == "all"
        else _entitled(probe, groups, instance.org_id, sp_id)
    )
    for user in missing:
        evidence.not_provisioned.append(
            (user, _reason(user, instance.scope, skipped_ids, direct, nested))
        )
    return evidence


def _reason(
    user: SourceUser, scope: str, skipped: set[str], direct: set[str], nested: set[str]
) -> Reason:
    if not user.enabled:
        return "disabled"
    if scope == "all" or user.id in direct:
        return "pending"  # entitled, yet not provisioned: the job has not read the change
    if user.id in skipped:
        return "unassigned"
    return "nested" if user.id in nested else "unassigned"


def _hub_users(users: Users, org_id: str, names: list[str]) -> dict[str, bool]:
    """userName (lower case) → active, for the names the hub holds."""
    found: dict[str, bool] = {}
    wanted = [n for n in names if n]
    for start in range(0, len(wanted), _BATCH):
        batch = wanted[start : start + _BATCH]
        query = Query(
            filter=parse_filter(" or ".join(f'userName eq "{_quote(n)}"' for n in batch)),
            count=len(batch),
        )
        docs, _ = users.search(org_id, query, Locator("", org_id), with_groups=False)
        for doc in docs:
            found[str(doc["userName"]).lower()] = doc.get("active", True) is not False
    return found


def _entitled(
    probe: TenantProbe, groups: Groups, org_id: str, sp_id: str | None
) -> tuple[set[str], set[str]]:
    """Ids of users entitled directly (assigned, or direct members of an assigned group)
    and of users reachable only through nested groups."""
    direct: set[str] = set()
    if sp_id:
        try:  # real Graph lists direct assignments; a Graph without it just tells us less
            for a in islice(probe.assigned_to(sp_id), MAX_USERS):
                if a.get("principalType") == "User":
                    direct.add(str(a.get("principalId")))
        except IntegrationError:
            pass
    assigned = _assigned_groups(probe, groups, org_id)
    nested: set[str] = set()
    level, seen = assigned, set(assigned)
    for depth in range(NESTING_DEPTH + 1):
        children: list[str] = []
        for group_id in level:
            for member in islice(probe.members(group_id), MAX_USERS):
                if member.get("@odata.type") == "#microsoft.graph.group":
                    if member["id"] not in seen:
                        seen.add(member["id"])
                        children.append(str(member["id"]))
                else:
                    (direct if depth == 0 else nested).add(str(member["id"]))
        level = children
    return direct, nested - direct


def _assigned_groups(probe: TenantProbe, groups: Groups, org_id: str) -> list[str]:
    """Graph ids of the Entra groups the hub received (by display name)."""
    by_name = {
        str(g.get("displayName") or "").lower(): str(g["id"])
        for g in islice(probe.groups(), MAX_GROUPS)
    }
    names = [n for n in by_name if n]
    held: list[str] = []
    for start in range(0, len(names), _BATCH):
        batch = names[start : start + _BATCH]
        query = Query(
            filter=parse_filter(" or ".join(f'displayName eq "{_quote(n)}"' for n in batch)),
            count=len(batch),
        )
        docs, _ = groups.search(org_id, query, Locator("", org_id), with_members=False)
        held += [
            by_name[str(d["displayName"]).lower()]
            for d in docs
            if str(d["displayName"]).lower() in by_name
        ]
    return held


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
