"""Group member adds, whichever path writes them (on PostgreSQL a PATCH that only adds
members is one statement, `directory.member_adds`): the rows, the version, the events and
the refusals are the same on both databases."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from scimhub.api.services import Hub
from scimhub.directory.events import Events, Source, SourceKind, caused_by
from scimhub.directory.locator import Locator
from scimhub.scim.errors import InvalidValue, PreconditionFailed
from scimhub.store.tables import entra_links, groups
from scimhub.store.upsert import inserted_keys

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _setup(hub: Hub, name: str, users: int) -> tuple[str, Locator, list[str], str]:
    org = hub.orgs.create(name).id
    loc = Locator("", org)
    ids = [
        hub.users.create(org, {"schemas": [USER], "userName": f"u{i}@{name}.example"}, loc)["id"]
        for i in range(users)
    ]
    gid = hub.groups.create(org, {"schemas": [GROUP], "displayName": "G"}, loc)["id"]
    return org, loc, ids, gid


def _add(*ids: str) -> dict[str, Any]:
    return {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}],
    }


def _member_events(hub: Hub, org: str) -> list[tuple[str, str]]:
    page = Events(hub.db).page(org, after=None, limit=1000)
    return [(e.type, e.data["member_id"]) for e in page.events if "member_id" in e.data]


def _members(hub: Hub, org: str, gid: str, loc: Locator) -> set[str]:
    return {m["value"] for m in hub.groups.get(org, gid, loc).get("members", [])}


def test_an_add_bumps_the_version_once_and_records_an_event_per_new_member(hub: Hub) -> None:
    org, loc, ids, gid = _setup(hub, "adds", 3)
    doc = hub.groups.patch(org, gid, _add(ids[0], ids[1]), loc, with_members=False)
    assert doc["meta"]["version"] == 'W/"2"'
    # one already a member, one new, one named twice: one row added, one version step
    doc = hub.groups.patch(
        org, gid, _add(ids[0], ids[2], ids[2]), loc, if_match='W/"2"', with_members=False
    )
    assert doc["meta"]["version"] == 'W/"3"'
    assert _members(hub, org, gid, loc) == set(ids)
    assert _member_events(hub, org) == [("group.member_added", i) for i in ids]
    # only existing members: no change, no version step, no event
    doc = hub.groups.patch(org, gid, _add(ids[1]), loc, with_members=False)
    assert doc["meta"]["version"] == 'W/"3"'
    assert len(_member_events(hub, org)) == 3
    assert hub.groups.version(org, gid) == 3


def test_a_refused_add_writes_nothing(hub: Hub) -> None:
    org, loc, ids, gid = _setup(hub, "refused", 2)
    with pytest.raises(InvalidValue, match="no user or group with id 'nobody'"):
        hub.groups.patch(org, gid, _add(ids[0], "nobody"), loc)
    with pytest.raises(InvalidValue, match="member of itself"):
        hub.groups.patch(org, gid, _add(ids[0], gid), loc)
    with pytest.raises(PreconditionFailed):
        hub.groups.patch(org, gid, _add(ids[0]), loc, if_match='W/"7"')
    assert _members(hub, org, gid, loc) == set()
    assert hub.groups.version(org, gid) == 1
    assert _member_events(hub, org) == []


def test_an_add_records_who_provisioned_the_group_and_groups_join_as_groups(hub: Hub) -> None:
    org, loc, ids, gid = _setup(hub, "provisioner", 1)
    inner = hub.groups.create(org, {"schemas": [GROUP], "displayName": "Inner"}, loc)["id"]
    with caused_by(Source(SourceKind.SCIM, "token A", "t-1")):
        hub.groups.patch(org, gid, _add(inner, ids[0]), loc)
    with hub.db.read() as conn:
        row = conn.execute(groups.select().where(groups.c.id == gid)).one()
    assert row.provisioned_by == {"kind": "scim", "name": "token A", "id": "t-1"}
    members = hub.groups.get(org, gid, loc)["members"]
    assert sorted((m["value"], m["type"]) for m in members) == sorted(
        [(inner, "Group"), (ids[0], "User")]
    )


def test_concurrent_adds_to_one_group_lose_nothing(hub: Hub) -> None:
    org, loc, ids, gid = _setup(hub, "parallel", 12)
    errors: list[BaseException] = []

    def add(uid: str) -> None:
        try:
            hub.groups.patch(org, gid, _add(uid), loc, with_members=False)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(uid,)) for uid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _members(hub, org, gid, loc) == set(ids)
    assert hub.groups.version(org, gid) == 1 + len(ids)
    assert sorted(m for _, m in _member_events(hub, org)) == sorted(ids)


def test_many_rows_at_once_skip_the_existing_ones(hub: Hub) -> None:
    """`inserted_keys` with many rows (one array statement on PostgreSQL)."""
    rows = [
        {"instance_id": "i-bulk", "object_id": f"o{n}", "kind": "User", "resource_id": "r"}
        | {"digest": f"d{n}"}
        for n in range(1200)
    ]
    with hub.db.write() as conn:
        first = inserted_keys(conn, entra_links, rows[:700])
        again = inserted_keys(conn, entra_links, rows)
    assert sorted(k.object_id for k in first) == sorted(r["object_id"] for r in rows[:700])
    assert sorted(k.object_id for k in again) == sorted(r["object_id"] for r in rows[700:])
    with hub.db.read() as conn:
        stored = conn.execute(
            entra_links.select().where(entra_links.c.instance_id == "i-bulk")
        ).all()
    assert {(r.object_id, r.digest) for r in stored} == {
        (r["object_id"], r["digest"]) for r in rows
    }
