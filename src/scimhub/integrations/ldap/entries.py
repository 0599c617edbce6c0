"""LDAP entries as the pull engine's `Incoming`: users through the source's mapping (each
mapping a SCIM PATCH `add` at its target, as Entra's pull mappings are applied), groups as
their name and members. Pure: no I/O.

A link's digest covers the entry's DN as well as its document (and a group's member DNs),
so a renamed or moved entry, or a group whose members changed, is written again."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from ...directory.deletion_brake import Action
from ...scim.errors import ScimError
from ...scim.filter import parse_path
from ...scim.patch import PatchOp, apply_patch
from ...scim.schemas import USER, USER_URN, ResourceType
from ..pull.engine import GROUP_SCHEMA, Incoming, document_digest
from .client import Entry
from .config import LdapConfig

ACCOUNTDISABLE = 0x2  # userAccountControl bit 2
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def user_attributes(cfg: LdapConfig) -> list[str]:
    """What a users search asks for."""
    wanted = [m["source"] for m in cfg.mapping] + [cfg.id_attribute, cfg.change_attribute]
    if cfg.disabled_flag:
        wanted.append("userAccountControl")
    return list(dict.fromkeys(wanted))


def group_attributes(cfg: LdapConfig) -> list[str]:
    return list(
        dict.fromkeys(
            [cfg.id_attribute, cfg.change_attribute, cfg.group_name_attribute, cfg.member_attribute]
        )
    )


@functools.lru_cache(maxsize=1024)
def _path(target: str) -> Any:
    """A mapping target parsed once per process, not once per entry (parsing was a fifth
    of a full round's CPU)."""
    return parse_path(target)


def _value(target: str, raw: str) -> Any:
    """Text as the target wants it: `active` is a boolean (TRUE/FALSE in LDAP)."""
    if target == "active":
        folded = raw.strip().lower()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
    return raw


def user_document(entry: Entry, cfg: LdapConfig, rt: ResourceType = USER) -> dict[str, Any]:
    """A SCIM user from an entry. Multi-valued LDAP attributes give their first value.
    Raises ScimError when a value is refused, as a write would be."""
    ops = []
    for m in cfg.mapping:
        value = entry.first(m["source"])
        if value not in (None, ""):
            ops.append(PatchOp("add", _path(m["target"]), _value(m["target"], value)))
    doc = dict(apply_patch(rt, {"schemas": [USER_URN]}, ops).doc)
    if cfg.disabled_flag and "active" not in {m["target"] for m in cfg.mapping}:
        flags = entry.first("userAccountControl")
        doc["active"] = not (flags is not None and flags.isdigit() and int(flags) & ACCOUNTDISABLE)
    if "userName" not in doc:
        raise ScimError("the entry has no value for the attribute mapped to userName")
    return doc


def incoming_user(entry: Entry, cfg: LdapConfig, rt: ResourceType) -> Incoming | None:
    """None: no stable id, or outside the source's population (not this source's user)."""
    oid = entry.first(cfg.id_attribute)
    if not oid:
        return None
    try:
        doc = user_document(entry, cfg, rt)
    except ScimError as error:
        return Incoming(oid, error=f"{entry.dn}: {error.detail}")
    if not cfg.user_in_population(str(doc["userName"])):
        return None
    return Incoming(oid, doc, digest=document_digest({"doc": doc, "dn": entry.dn.lower()}))


def members(entry: Entry, cfg: LdapConfig) -> list[str]:
    """A group's member DNs, lower-cased (LDAP compares DNs case-insensitively)."""
    return [dn.lower() for dn in entry.values(cfg.member_attribute) if dn]


def incoming_group(
    entry: Entry, cfg: LdapConfig, member_dns: Iterable[str] | None = None
) -> Incoming | None:
    oid = entry.first(cfg.id_attribute)
    if not oid:
        return None
    name = entry.first(cfg.group_name_attribute)
    if not name:
        return Incoming(oid, error=f"{entry.dn}: no {cfg.group_name_attribute}")
    doc = {"schemas": [GROUP_SCHEMA], "displayName": name, "externalId": oid}
    listed = sorted(set(member_dns if member_dns is not None else members(entry, cfg)))
    return Incoming(
        oid, doc, digest=document_digest({"doc": doc, "dn": entry.dn.lower(), "members": listed})
    )


def removed(object_id: str) -> Incoming:
    return Incoming(object_id, removed=Action.DELETE)


def flattened(direct: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each group's members with nested groups resolved: every user reachable through its
    member groups (DN → member DNs), cycles tolerated."""
    out: dict[str, list[str]] = {}
    for group in direct:
        found: set[str] = set()
        stack, visited = [group], {group}
        while stack:
            for member in direct.get(stack.pop(), []):
                if member in direct:
                    if member not in visited:
                        visited.add(member)
                        stack.append(member)
                else:
                    found.add(member)
        out[group] = sorted(found)
    return out
