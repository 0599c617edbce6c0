"""The directory's writers record their events in their own transactions: page imports (pull
sync), membership deltas, the integration's failures, restores and finished rounds; and who
caused them follows the work into threads. (SCIM writes: tests/api/test_events_written.py.)"""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import pytest

from scimhub.api.offload import Offload
from scimhub.api.services import Hub
from scimhub.directory.changes import MemberDelta, changed_attributes, user_updated
from scimhub.directory.events import (
    Event,
    Events,
    EventType,
    NewEvent,
    Source,
    SourceKind,
    caused_by,
    record,
)
from scimhub.directory.imports import ImportItem
from scimhub.directory.instances import Instance, Mode
from scimhub.directory.locator import Locator
from scimhub.integrations.entra.errors import Unauthorized, Upstream
from scimhub.integrations.entra.failures import recording_failures

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTRA = Source(SourceKind.ENTRA, "Contoso", "instance-1", "PULL_1")


def _org(hub: Hub) -> str:
    return hub.orgs.create(f"writers {uuid.uuid4().hex[:6]}").id


def _all(hub: Hub, org_id: str) -> list[Event]:
    return Events(hub.db).page(org_id, after=None, limit=1000).events


def _user(name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER], "userName": name, **extra}


def _instance(hub: Hub, org_id: str) -> Instance:
    return hub.instances.create(
        org_id,
        str(uuid.uuid4()),
        name="Contoso",
        mode=Mode.PULL,
        scope="all",
        mappings=[],
        auto_sync=False,
    )


# -- what changed ---------------------------------------------------------------------------


def test_changed_names_each_top_level_attribute_with_its_previous_value() -> None:
    before = {"schemas": [USER], "userName": "a", "title": "x", "name": {"givenName": "A"}}
    after = {
        "schemas": [USER, "urn:ext"],
        "userName": "a",
        "name": {"givenName": "B"},
        "urn:ext": {},
    }
    assert changed_attributes(before, after) == {
        "title": "x",  # removed: its old value
        "name": {"givenName": "A"},  # compared whole
        "urn:ext": None,  # added: it had none; `schemas` follows from it
    }
    assert changed_attributes(before, dict(before)) == {}


@pytest.mark.parametrize(
    ("before", "after", "types"),
    [
        ({"active": True}, {"active": False}, ["user.deactivated"]),
        ({"active": False}, {"active": True}, ["user.reactivated"]),
        ({}, {"active": False}, ["user.deactivated"]),  # no `active`: active
        ({"active": True}, {"active": False, "title": "t"}, ["user.updated", "user.deactivated"]),
        ({"active": True}, {"active": True, "title": "t"}, ["user.updated"]),
        ({"active": True}, {"active": True}, []),
    ],
)
def test_user_lifecycle_events(
    before: dict[str, Any], after: dict[str, Any], types: list[str]
) -> None:
    assert [e.type for e in user_updated(before, after, {})] == types


def test_a_member_delta_is_net() -> None:
    delta = MemberDelta("g")
    delta.remove([("a", "User"), ("b", "User")])  # a PUT removes every row ...
    delta.add([("b", "User"), ("c", "Group")])  # ... and adds back the ones it keeps
    delta.add([("d", "User")])
    delta.remove([("d", "User")])
    assert [(e.type, e.data["member_id"], e.data["member_type"]) for e in delta.events()] == [
        ("group.member_removed", "a", "User"),
        ("group.member_added", "c", "Group"),
    ]


# -- page imports (pull sync) ---------------------------------------------------------------


def test_an_imported_page_records_creates_and_what_its_updates_changed(hub: Hub) -> None:
    org = _org(hub)
    loc = Locator("https://hub.example.com", org)
    with caused_by(ENTRA):
        first = hub.pull.imports.users(
            org,
            [
                ImportItem("o1", None, _user("a@example.com", title="Engineer")),
                ImportItem("o2", None, _user("b@example.com")),
            ],
            loc,
        )
    created = _all(hub, org)
    assert [e.type for e in created] == ["user.created", "user.created"]
    assert [e.data["id"] for e in created] == [first.ids["o1"], first.ids["o2"]]
    assert created[0].data["meta"]["location"] == loc.location("User", first.ids["o1"])
    assert created[0].data["meta"]["version"] == 'W/"1"' and created[0].data["active"] is True
    assert {e.source["kind"] for e in created} == {"entra"}
    assert created[0].source == {
        "kind": "entra",
        "name": "Contoso",
        "id": "instance-1",
        "tracking_id": "PULL_1",
    }
    # next page: o1 changes title and is disabled, o2 comes again unchanged, o3 is new
    hub.pull.imports.users(
        org,
        [
            ImportItem("o1", first.ids["o1"], _user("a@example.com", title="Lead", active=False)),
            ImportItem("o2", first.ids["o2"], _user("b@example.com")),
            ImportItem("o3", None, _user("c@example.com")),
        ],
    )
    later = _all(hub, org)[2:]
    assert [e.type for e in later] == ["user.updated", "user.deactivated", "user.created"]
    assert later[0].changed == {"title": "Engineer", "active": True}
    assert later[0].data["meta"]["version"] == 'W/"2"'
    assert later[0].data["title"] == "Lead"
    # no Locator: the hub-relative path
    assert later[2].data["meta"]["location"].startswith(f"/identity/scim/{org}/v2/Users/")
    assert later[2].source["kind"] == "system"


def test_imported_groups_and_membership_deltas(hub: Hub) -> None:
    org = _org(hub)
    users = hub.pull.imports.users(
        org, [ImportItem(f"u{i}", None, _user(f"u{i}@example.com")) for i in range(3)]
    ).ids
    made = hub.pull.imports.groups(
        org, [ImportItem("g", None, {"schemas": [GROUP], "displayName": "Team"})]
    )
    gid = made.ids["g"]
    start = len(_all(hub, org))
    hub.groups.change_members(org, gid, add=[users["u0"], users["u1"], "unknown"], remove=[])
    hub.groups.change_members(org, gid, add=[users["u1"], users["u2"]], remove=[users["u0"]])
    hub.groups.change_members(org, gid, add=[users["u2"]], remove=["not-a-member"])  # nothing
    hub.pull.imports.groups(
        org, [ImportItem("g", gid, {"schemas": [GROUP], "displayName": "Crew"})]
    )
    events = _all(hub, org)[start:]
    assert [(e.type, e.data.get("member_id")) for e in events] == [
        ("group.member_added", users["u0"]),
        ("group.member_added", users["u1"]),
        ("group.member_removed", users["u0"]),
        ("group.member_added", users["u2"]),
        ("group.updated", None),
    ]
    assert events[-1].changed == {"displayName": "Team"}
    assert "members" not in events[-1].data


# -- the integration ------------------------------------------------------------------------


def test_a_recorded_failure_is_an_integration_error_event(hub: Hub) -> None:
    org = _org(hub)
    instance = _instance(hub, org)
    tid = f"TEST_{uuid.uuid4()}_1"
    crid = str(uuid.uuid4())
    admin = Source(SourceKind.ADMIN, "ada@example.com", tracking_id=tid)
    with (
        caused_by(admin),
        pytest.raises(Unauthorized),
        recording_failures(hub.instances, org, instance.id, tracking_id=tid, operation="status"),
    ):
        raise Unauthorized(crid, Upstream("AADSTS700016", "the app secret xyz is wrong", "c-1"))
    [event] = _all(hub, org)
    assert event.type == "integration.error"
    assert event.data == {
        "instance_id": instance.id,
        "status": 401,
        "code": "701018",
        "description": f"Request unauthorized. client-request-id: {crid}",
        "tracking_id": tid,
        "operation": "status",
    }
    assert "AADSTS" not in str(event.data) and "secret" not in str(event.data)
    assert event.source == admin.as_json()
    assert hub.instances.failures(org, tracking_id=tid)[1] == 1  # the row, same transaction


def test_restores_and_finished_rounds_are_events(hub: Hub) -> None:
    org = _org(hub)
    instance = _instance(hub, org)
    hub.instances.record_restored(instance, "job")
    saved = hub.instances.finish_pull(instance, {"users_created": 2, "pages": 1})
    assert saved.last_pull == {"users_created": 2, "pages": 1}
    restored, completed = _all(hub, org)
    assert restored.type == "integration.restored"
    assert restored.data == {"instance_id": instance.id, "name": "Contoso", "restored": "job"}
    assert completed.type == "sync.completed"
    assert completed.data == {
        "instance_id": instance.id,
        "name": "Contoso",
        "counts": {"users_created": 2, "pages": 1},
    }


# -- sources --------------------------------------------------------------------------------


def test_the_source_follows_work_into_the_offload_threads(hub: Hub) -> None:
    org = _org(hub)
    source = Source(SourceKind.SCIM, "Okta", "token-1", "SCIMHUB_x_1")

    def write(name: str) -> None:
        with hub.db.write() as conn:
            record(conn, org, [NewEvent(EventType.USER_CREATED, {"id": name})])

    async def main() -> None:
        offload = Offload(2)
        with caused_by(source):
            await offload.run(org, True, lambda: write("threaded"))  # to_thread.run_sync
            await offload.run(org, False, lambda: write("inline"))
        await offload.run(org, True, lambda: write("after"))

    anyio.run(main)
    events = {e.data["id"]: e.source for e in _all(hub, org)}
    assert events["threaded"] == events["inline"] == source.as_json()
    assert events["after"]["kind"] == "system"  # the block ended: the background default
