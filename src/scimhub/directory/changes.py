"""What a write changed, as the events it records (docs/events-catalogue.md): an update's
`changed` (each top-level attribute that differs, with its previous value), the lifecycle
events of a user whose `active` flips, and the net membership change of a transaction.

Pure functions over documents the write already holds: computing them reads nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .events import EventType, NewEvent

# `schemas` follows from the extensions present, whose URN keys are compared themselves.
_NOT_COMPARED = frozenset({"schemas"})
_MISSING = object()


def changed_attributes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """{attribute: previous value} for every top-level attribute of the stored document
    whose value changed: a removed attribute has its old value, an added one None.
    Extensions are compared whole, under their schema URN."""
    changed = {
        k: v for k, v in before.items() if k not in _NOT_COMPARED and after.get(k, _MISSING) != v
    }
    changed.update((k, None) for k in after if k not in before and k not in _NOT_COMPARED)
    return changed


def user_updated(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    data: dict[str, Any],
    *,
    password_set: bool = False,
) -> list[NewEvent]:
    """The events of a user update, [] when nothing changed.

    `active` going true -> false records `user.deactivated` (false -> true:
    `user.reactivated`), with `changed` {"active": previous}; `user.updated` comes first,
    with every changed attribute, only when something else changed too. A new password
    is a change that shows no value: `changed` names `password` with None."""
    changed = changed_attributes(before, after)
    if password_set:
        changed["password"] = None
    if not changed:
        return []
    was, now = bool(before.get("active", True)), bool(after.get("active", True))
    out = []
    if was == now or len(changed) > 1:
        out.append(NewEvent(EventType.USER_UPDATED, data, changed))
    if was != now:
        flip = EventType.USER_DEACTIVATED if was else EventType.USER_REACTIVATED
        out.append(NewEvent(flip, data, {"active": was}))
    return out


def group_updated(
    before: Mapping[str, Any], after: Mapping[str, Any], data: dict[str, Any]
) -> list[NewEvent]:
    """`group.updated` when an attribute other than `members` changed (members are rows,
    never in the document: their changes are member events)."""
    changed = changed_attributes(before, after)
    return [NewEvent(EventType.GROUP_UPDATED, data, changed)] if changed else []


def without(doc: dict[str, Any], derived: str) -> dict[str, Any]:
    """A rendered resource without a derived attribute (a user's `groups`, a group's
    `members`), which events never carry: membership changes are events of their own."""
    return {k: v for k, v in doc.items() if k != derived} if derived in doc else doc


class MemberDelta:
    """The net change to one group's members in a transaction, from the rows actually
    inserted and deleted: adding back a member removed earlier in the same transaction
    (a PUT rewrites every row, a PATCH may remove then add) is no change, and so is
    removing one added earlier."""

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        self.added: dict[str, str] = {}  # member id -> "User" | "Group"
        self.removed: dict[str, str] = {}

    def add(self, rows: Iterable[tuple[str, str]]) -> None:
        for member_id, member_type in rows:
            if self.removed.pop(member_id, None) is None:
                self.added[member_id] = member_type

    def remove(self, rows: Iterable[tuple[str, str]]) -> None:
        for member_id, member_type in rows:
            if self.added.pop(member_id, None) is None:
                self.removed[member_id] = member_type

    def events(self) -> list[NewEvent]:
        """One event per member: removals first, then additions."""
        return [
            member_event(EventType.GROUP_MEMBER_REMOVED, self.group_id, mid, kind)
            for mid, kind in self.removed.items()
        ] + [
            member_event(EventType.GROUP_MEMBER_ADDED, self.group_id, mid, kind)
            for mid, kind in self.added.items()
        ]


def member_event(type_: EventType, group_id: str, member_id: str, member_type: str) -> NewEvent:
    return NewEvent(
        type_, {"group_id": group_id, "member_id": member_id, "member_type": member_type}
    )
