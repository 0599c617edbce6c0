"""The recycle bin: a deleted user or group is gone for SCIM (404, its name free) and comes
back on restore with the same id, attributes, `created` and memberships; a name taken
meanwhile refuses the restore (409 naming the holder); other organisations cannot see or
restore it; the clean-up purges it after the retention; a rolled-back delete keeps nothing."""

from __future__ import annotations

import itertools
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from scimhub.api.services import Hub
from scimhub.asgi import background_work
from scimhub.config import ConfigError, Settings
from scimhub.directory.actor import Actor
from scimhub.directory.events import Events
from scimhub.directory.locator import Locator
from scimhub.directory.recycle_bin import NameTaken, RecycleBin
from scimhub.scim.custom import Definition
from scimhub.scim.errors import NotFound
from scimhub.store.engine import utcnow
from scimhub.store.tables import orgs, recycle_bin
from tests.conftest import OrgClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ACTOR = Actor("Ada Admin", "TEST_1")


def _user(org: OrgClient, name: str, **extra: Any) -> dict[str, Any]:
    r = org.post("/Users", {"schemas": [USER], "userName": name, **extra})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _group(org: OrgClient, name: str, members: list[str]) -> dict[str, Any]:
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
    r = org.post("/Groups", body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def _loc(org: OrgClient) -> Locator:
    return Locator("https://hub.test", org.org_id)


def test_a_deleted_user_is_404_its_name_reusable_and_restored_whole(
    hub: Hub, org: OrgClient
) -> None:
    user = _user(org, "Ann@Example.com", displayName="Ann", title="Engineer", externalId="ext-ann")
    group = _group(org, "Engineers", [user["id"]])
    assert org.delete(f"/Users/{user['id']}").status_code == 204

    assert org.get(f"/Users/{user['id']}").status_code == 404
    found = org.get("/Users", params={"filter": 'userName eq "ann@example.com"'}).json()
    assert found["totalResults"] == 0
    listed, total = hub.recycle_bin.entries(org.org_id, "User")
    assert total == 1 and listed[0].id == user["id"] and listed[0].name == "Ann@Example.com"
    assert listed[0].deleted_by["kind"] == "scim"
    group_version = org.get(f"/Groups/{group['id']}").json()["meta"]["version"]

    restored = hub.recycle_bin.restore_user(org.org_id, user["id"], _loc(org), actor=ACTOR)

    assert (restored.memberships_restored, restored.memberships_skipped) == (1, 0)
    again = org.get(f"/Users/{user['id']}").json()
    assert again == restored.resource
    for key in ("userName", "displayName", "title", "externalId", "active"):
        assert again[key] == user[key]
    assert again["meta"]["created"] == user["meta"]["created"]
    assert again["meta"]["version"] != user["meta"]["version"]  # its ETag changed
    assert [g["value"] for g in again["groups"]] == [group["id"]]
    members = org.get(f"/Groups/{group['id']}").json()
    assert [m["value"] for m in members["members"]] == [user["id"]]
    assert members["meta"]["version"] != group_version
    assert hub.recycle_bin.entries(org.org_id, "User") == ([], 0)
    audit, _ = hub.audit.events(org.org_id, action="Restore user")
    assert audit[0].actor == "Ada Admin" and audit[0].detail["id"] == user["id"]
    events = Events(hub.db).page(org.org_id, after=None, limit=100).events
    assert [e.type for e in events[-2:]] == ["user.restored", "group.member_added"]
    assert events[-2].source["kind"] == "admin" and "groups" not in events[-2].data


def test_a_restored_user_leaves_behind_an_attribute_removed_meanwhile(
    hub: Hub, org: OrgClient
) -> None:
    ext = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
    badge = hub.attributes.add(org.org_id, Definition("User", ext, "badge"))
    hub.attributes.add(org.org_id, Definition("User", ext, "costCenter"))
    user = _user(org, "ann", schemas=[USER, ext], **{ext: {"badge": "B-1", "costCenter": "C"}})
    assert org.delete(f"/Users/{user['id']}").status_code == 204
    hub.attributes.remove(org.org_id, badge.id, actor=ACTOR)  # nobody live holds it

    restored = hub.recycle_bin.restore_user(org.org_id, user["id"], _loc(org), actor=ACTOR)
    assert restored.resource[ext] == {"costCenter": "C"}
    again = org.get(f"/Users/{user['id']}").json()
    assert again[ext] == {"costCenter": "C"} and ext in again["schemas"]
    # and it stays writable: a PUT of what was read back is valid
    r = org.put(f"/Users/{user['id']}", {k: v for k, v in again.items() if k != "meta"})
    assert r.status_code == 200, r.text


def test_a_restored_group_gets_its_members_and_its_parents_back(hub: Hub, org: OrgClient) -> None:
    ann, bob = _user(org, "ann"), _user(org, "bob")
    inner = _group(org, "Inner", [ann["id"], bob["id"]])
    outer = _group(org, "Outer", [inner["id"]])
    assert org.delete(f"/Groups/{inner['id']}").status_code == 204
    assert org.delete(f"/Users/{bob['id']}").status_code == 204  # gone meanwhile: skipped
    assert org.get(f"/Groups/{outer['id']}").json().get("members", []) == []

    restored = hub.recycle_bin.restore_group(org.org_id, inner["id"], _loc(org), actor=ACTOR)

    assert (restored.memberships_restored, restored.memberships_skipped) == (2, 1)
    again = org.get(f"/Groups/{inner['id']}").json()
    assert again["displayName"] == "Inner" and again["meta"]["created"] == inner["meta"]["created"]
    assert [m["value"] for m in again["members"]] == [ann["id"]]
    assert [m["value"] for m in org.get(f"/Groups/{outer['id']}").json()["members"]] == [
        inner["id"]
    ]
    # Bob left Inner when Inner was deleted: his own restore has no membership to put back.
    back = hub.recycle_bin.restore_user(org.org_id, bob["id"], _loc(org), actor=ACTOR)
    assert (back.memberships_restored, back.memberships_skipped) == (0, 0)


def test_a_group_restored_after_its_member_takes_the_member_back(hub: Hub, org: OrgClient) -> None:
    ann = _user(org, "ann")
    group = _group(org, "Team", [ann["id"]])
    assert org.delete(f"/Groups/{group['id']}").status_code == 204  # kept with Ann
    assert org.delete(f"/Users/{ann['id']}").status_code == 204  # in no group by then

    first = hub.recycle_bin.restore_user(org.org_id, ann["id"], _loc(org), actor=ACTOR)
    assert (first.memberships_restored, first.memberships_skipped) == (0, 0)
    second = hub.recycle_bin.restore_group(org.org_id, group["id"], _loc(org), actor=ACTOR)

    assert second.memberships_restored == 1
    assert [g["value"] for g in org.get(f"/Users/{ann['id']}").json()["groups"]] == [group["id"]]


def test_a_name_taken_meanwhile_refuses_the_restore_naming_the_holder(
    hub: Hub, org: OrgClient
) -> None:
    old = _user(org, "carol@example.com")
    assert org.delete(f"/Users/{old['id']}").status_code == 204
    new = _user(org, "Carol@example.com")  # the IdP created it again: a new resource
    assert new["id"] != old["id"]

    with pytest.raises(NameTaken) as refused:
        hub.recycle_bin.restore_user(org.org_id, old["id"], _loc(org), actor=ACTOR)

    assert refused.value.status == 409 and refused.value.holder_id == new["id"]
    assert new["id"] in refused.value.detail and "carol@example.com" in refused.value.detail
    assert hub.recycle_bin.get(org.org_id, "User", old["id"]).id == old["id"]  # still there

    group = _group(org, "Sales", [])
    assert org.delete(f"/Groups/{group['id']}").status_code == 204
    holder = _group(org, "sales", [])
    with pytest.raises(NameTaken, match=holder["id"]):
        hub.recycle_bin.restore_group(org.org_id, group["id"], _loc(org), actor=ACTOR)


def test_two_restores_of_one_name_at_once_leave_one_user(
    hub: Hub, org: OrgClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two deleted "ann"s restored at the same instant (PostgreSQL: concurrent writers) both
    find the name free; the database's unique index lets one in, and the other is refused
    naming it, as if it had come second."""
    if hub.db.is_sqlite:
        pytest.skip("SQLite runs one writer at a time: the check alone decides")
    ids = []
    for _ in range(2):
        ann = _user(org, "ann")
        assert org.delete(f"/Users/{ann['id']}").status_code == 204
        ids.append(ann["id"])
    both_checked = threading.Barrier(2, timeout=10)
    check, calls = RecycleBin._holder, itertools.count()

    def check_together(*args: Any) -> str | None:
        found = check(*args)
        if next(calls) < 2:  # the two restores' checks; not the refusal naming the holder
            both_checked.wait()
        return found

    monkeypatch.setattr(RecycleBin, "_holder", staticmethod(check_together))
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(hub.recycle_bin.restore_user, org.org_id, i, _loc(org), actor=ACTOR)
            for i in ids
        ]
    outcomes = [f.exception() or f.result() for f in futures]
    refused = [o for o in outcomes if isinstance(o, NameTaken)]
    assert len(refused) == 1, outcomes
    [winner] = [i for i, o in zip(ids, outcomes, strict=True) if not isinstance(o, BaseException)]
    assert refused[0].holder_id == winner
    found = org.get("/Users", params={"filter": 'userName eq "ann"'}).json()
    assert [u["id"] for u in found["Resources"]] == [winner]


def test_another_org_can_neither_see_nor_restore(
    hub: Hub, org: OrgClient, other_org: OrgClient
) -> None:
    user = _user(org, "dave")
    assert org.delete(f"/Users/{user['id']}").status_code == 204

    assert hub.recycle_bin.entries(other_org.org_id, "User") == ([], 0)
    with pytest.raises(NotFound):
        hub.recycle_bin.restore_user(other_org.org_id, user["id"], _loc(other_org), actor=ACTOR)
    with pytest.raises(NotFound):  # nor as the wrong kind, nor an id never deleted
        hub.recycle_bin.restore_group(org.org_id, user["id"], _loc(org), actor=ACTOR)
    with pytest.raises(NotFound):
        hub.recycle_bin.restore_user(org.org_id, str(uuid.uuid4()), _loc(org), actor=ACTOR)
    assert hub.recycle_bin.get(org.org_id, "User", user["id"]).name == "dave"


def test_the_clean_up_purges_what_is_past_the_retention(hub: Hub, org: OrgClient) -> None:
    old, recent = _user(org, "old-one"), _user(org, "recent-one")
    for u in (old, recent):
        assert org.delete(f"/Users/{u['id']}").status_code == 204
    with hub.db.write() as conn:
        conn.execute(
            update(recycle_bin)
            .where(recycle_bin.c.id == old["id"])
            .values(deleted_at=utcnow() - timedelta(days=31))
        )
    work = background_work(hub)
    assert work.retention.recycle_bin == timedelta(days=hub.settings.recycle_days)

    assert work.clean_up().recycled >= 1

    assert [d.id for d in hub.recycle_bin.entries(org.org_id, "User")[0]] == [recent["id"]]
    with pytest.raises(NotFound):
        hub.recycle_bin.restore_user(org.org_id, old["id"], _loc(org), actor=ACTOR)


def test_the_retention_is_a_setting_of_at_least_a_day() -> None:
    assert Settings.from_env({}).recycle_days == 30
    assert Settings.from_env({"SCIMHUB_RECYCLE_DAYS": "7"}).recycle_days == 7
    with pytest.raises(ConfigError, match="SCIMHUB_RECYCLE_DAYS must be >= 1"):
        Settings.from_env({"SCIMHUB_RECYCLE_DAYS": "0"})


def test_a_rolled_back_delete_keeps_nothing_in_the_bin(
    hub: Hub, org: OrgClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _user(org, "erin")

    def fail(*_args: Any) -> None:
        raise RuntimeError("the write fails after the bin row")

    monkeypatch.setattr("scimhub.directory.users.record", fail)
    with pytest.raises(RuntimeError):
        hub.users.delete(org.org_id, user["id"])

    assert org.get(f"/Users/{user['id']}").status_code == 200
    assert hub.recycle_bin.entries(org.org_id, "User") == ([], 0)


def test_deleting_the_organisation_empties_its_bin(hub: Hub, org: OrgClient) -> None:
    user = _user(org, "frank")
    assert org.delete(f"/Users/{user['id']}").status_code == 204
    with hub.db.write() as conn:
        conn.execute(orgs.delete().where(orgs.c.id == org.org_id))

    assert hub.recycle_bin.entries(org.org_id, "User") == ([], 0)
