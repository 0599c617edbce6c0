"""Every SCIM write records its change events in its own transaction: exactly the expected
events, with data, changed and the SCIM client as their source; a write that fails or
changes nothing records none (docs/events-catalogue.md)."""

from __future__ import annotations

from typing import Any

import pytest

from scimhub.api.services import Hub
from scimhub.directory.events import Event, Events
from tests.api.test_users import ENTERPRISE, USER, new_user
from tests.conftest import OrgClient

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


class Stream:
    """The org's events, read in order with Events.page as an app would."""

    def __init__(self, hub: Hub, org: OrgClient) -> None:
        self.events = Events(hub.db)
        self.org_id = org.org_id
        self.cursor: str | None = None
        self.seen: list[Event] = []

    def new(self) -> list[Event]:
        """The events since the last call."""
        page = self.events.page(self.org_id, after=self.cursor, limit=1000)
        self.cursor = page.next_cursor
        self.seen += page.events
        return page.events

    def types(self) -> list[str]:
        return [e.type for e in self.new()]


@pytest.fixture
def stream(hub: Hub, org: OrgClient) -> Stream:
    return Stream(hub, org)


def patch(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(ops)}


def created_user(org: OrgClient, stream: Stream, name: str = "bjensen@example.com") -> str:
    uid: str = org.post("/Users", new_user(name)).json()["id"]
    stream.new()
    return uid


def created_group(org: OrgClient, stream: Stream, name: str, *members: str) -> str:
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
    gid: str = org.post("/Groups", body).json()["id"]
    stream.new()
    return gid


# -- users ----------------------------------------------------------------------------------


def test_post_records_user_created_with_the_resource_and_its_source(
    hub: Hub, org: OrgClient, stream: Stream
) -> None:
    r = org.post("/Users", new_user(externalId="ext-1"))
    assert r.status_code == 201
    [event] = stream.new()
    assert event.type == "user.created"
    assert event.data == r.json()  # the SCIM resource as the POST answered it
    assert event.data["id"] == r.json()["id"]
    assert event.data["meta"]["location"] == r.headers["Location"]
    assert event.changed is None
    token = hub.tokens.authenticate(org.token)
    assert token is not None
    assert event.source == {
        "kind": "scim",
        "name": token.name,
        "id": token.id,
        "tracking_id": r.headers["TrackingID"],
    }
    assert event.org_id == org.org_id


def test_put_records_what_changed_with_previous_values(org: OrgClient, stream: Stream) -> None:
    uid = org.post("/Users", new_user(title="Engineer", nickName="Babs")).json()["id"]
    stream.new()
    r = org.put(f"/Users/{uid}", new_user(title="Lead", displayName="Barbara Jensen"))
    assert r.status_code == 200
    [event] = stream.new()
    assert event.type == "user.updated"
    # changed: title (was Engineer), displayName (added: was absent), nickName (removed)
    assert event.changed == {"title": "Engineer", "displayName": None, "nickName": "Babs"}
    assert event.data == r.json()
    assert event.data["meta"]["version"] == 'W/"2"'


def test_patch_of_an_extension_names_its_schema_urn(org: OrgClient, stream: Stream) -> None:
    uid = created_user(org, stream)
    r = org.patch(
        f"/Users/{uid}",
        patch({"op": "add", "path": f"{ENTERPRISE}:department", "value": "Legal"}),
    )
    assert r.status_code == 200, r.text
    [event] = stream.new()
    assert event.type == "user.updated"
    assert event.changed == {ENTERPRISE: None}
    assert event.data[ENTERPRISE] == {"department": "Legal"}


def test_deactivation_alone_is_user_deactivated_only(org: OrgClient, stream: Stream) -> None:
    uid = created_user(org, stream)
    org.patch(f"/Users/{uid}", patch({"op": "replace", "path": "active", "value": False}))
    [event] = stream.new()
    assert event.type == "user.deactivated"
    assert event.changed == {"active": True}
    assert event.data["active"] is False
    org.patch(f"/Users/{uid}", patch({"op": "replace", "path": "active", "value": True}))
    [back] = stream.new()
    assert (back.type, back.changed) == ("user.reactivated", {"active": False})


def test_deactivation_with_other_changes_is_updated_then_deactivated(
    org: OrgClient, stream: Stream
) -> None:
    uid = created_user(org, stream)
    org.patch(
        f"/Users/{uid}",
        patch(
            {"op": "replace", "path": "active", "value": False},
            {"op": "replace", "path": "title", "value": "Former"},
        ),
    )
    updated, deactivated = stream.new()
    assert updated.type == "user.updated"
    assert updated.changed == {"active": True, "title": None}
    assert deactivated.type == "user.deactivated"
    assert deactivated.changed == {"active": True}
    assert updated.data == deactivated.data


def test_a_new_password_is_an_update_that_shows_no_value(org: OrgClient, stream: Stream) -> None:
    uid = created_user(org, stream)
    r = org.patch(f"/Users/{uid}", patch({"op": "replace", "path": "password", "value": "S3cr3t!"}))
    assert r.status_code == 200
    [event] = stream.new()
    assert event.type == "user.updated"
    assert event.changed == {"password": None}
    assert "password" not in event.data and "S3cr3t" not in str(event.data)


def test_writes_that_change_nothing_record_nothing(org: OrgClient, stream: Stream) -> None:
    uid = created_user(org, stream)
    same = org.patch(
        f"/Users/{uid}",
        patch({"op": "replace", "path": "userName", "value": "bjensen@example.com"}),
    )
    assert same.status_code == 200
    assert stream.new() == []
    again = org.put(f"/Users/{uid}", new_user())
    assert again.status_code == 200, again.text
    assert stream.new() == []  # a PUT of the same resource


def test_failed_writes_record_nothing_and_leave_no_gap(
    org: OrgClient, stream: Stream, hub: Hub
) -> None:
    uid = created_user(org, stream, "a@example.com")
    created_user(org, stream, "b@example.com")
    before = Events(hub.db).last_position(org.org_id)
    assert org.post("/Users", new_user("A@example.com")).status_code == 409
    taken = org.patch(
        f"/Users/{uid}", patch({"op": "replace", "path": "userName", "value": "B@example.com"})
    )
    assert taken.status_code == 409
    bad = org.patch(f"/Users/{uid}", patch({"op": "replace", "path": "nosuch", "value": 1}))
    assert bad.status_code == 400
    stale = org.put(f"/Users/{uid}", new_user("a@example.com"), headers={"If-Match": 'W/"9"'})
    assert stale.status_code == 412
    assert org.delete("/Users/nope").status_code == 404
    assert stream.new() == []
    assert Events(hub.db).last_position(org.org_id) == before
    org.post("/Users", new_user("c@example.com"))
    [after] = stream.new()
    assert after.seq == before + 1


def test_delete_records_member_removals_then_the_last_state(org: OrgClient, stream: Stream) -> None:
    uid = created_user(org, stream)
    g1 = created_group(org, stream, "One", uid)
    g2 = created_group(org, stream, "Two", uid)
    last = org.get(f"/Users/{uid}").json()
    assert org.delete(f"/Users/{uid}").status_code == 204
    events = stream.new()
    assert [e.type for e in events] == [
        "group.member_removed",
        "group.member_removed",
        "user.deleted",
    ]
    assert {e.data["group_id"] for e in events[:2]} == {g1, g2}
    assert all(e.data["member_id"] == uid for e in events[:2])
    assert all(e.data["member_type"] == "User" for e in events[:2])
    last.pop("groups")  # events never carry the derived memberships
    assert events[2].data == last


# -- groups ---------------------------------------------------------------------------------


def test_group_create_records_the_group_then_each_member(org: OrgClient, stream: Stream) -> None:
    a = created_user(org, stream, "a@example.com")
    b = created_user(org, stream, "b@example.com")
    r = org.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": "Team", "members": [{"value": a}, {"value": b}]},
    )
    assert r.status_code == 201
    created, *members = stream.new()
    assert created.type == "group.created"
    assert created.data == {k: v for k, v in r.json().items() if k != "members"}
    assert [e.type for e in members] == ["group.member_added"] * 2
    assert sorted(e.data["member_id"] for e in members) == sorted([a, b])
    gid = r.json()["id"]
    assert all(
        e.data == {"group_id": gid, "member_id": e.data["member_id"], "member_type": "User"}
        for e in members
    )


def test_group_patch_records_one_event_per_member_actually_changed(
    org: OrgClient, stream: Stream
) -> None:
    a = created_user(org, stream, "a@example.com")
    b = created_user(org, stream, "b@example.com")
    c = created_user(org, stream, "c@example.com")
    gid = created_group(org, stream, "Team", a)
    sub = created_group(org, stream, "Sub")
    add = patch(
        {"op": "add", "path": "members", "value": [{"value": a}, {"value": b}, {"value": sub}]}
    )
    assert org.patch(f"/Groups/{gid}", add).status_code in (200, 204)
    added = stream.new()
    assert [e.type for e in added] == ["group.member_added"] * 2  # a was a member already
    assert {(e.data["member_id"], e.data["member_type"]) for e in added} == {
        (b, "User"),
        (sub, "Group"),
    }
    assert org.patch(f"/Groups/{gid}", add).status_code in (200, 204)
    assert stream.new() == []  # all members already
    remove = patch({"op": "remove", "path": f'members[value eq "{a}"]'})
    assert org.patch(f"/Groups/{gid}", remove).status_code in (200, 204)
    [removed] = stream.new()
    assert (removed.type, removed.data["member_id"]) == ("group.member_removed", a)
    # replace: b and sub go, c comes, and nothing for a member kept
    replace = patch({"op": "replace", "path": "members", "value": [{"value": c}, {"value": b}]})
    assert org.patch(f"/Groups/{gid}", replace).status_code in (200, 204)
    events = stream.new()
    assert [(e.type, e.data["member_id"]) for e in events] == [
        ("group.member_removed", sub),
        ("group.member_added", c),
    ]


def test_group_rename_with_members_records_update_then_members(
    org: OrgClient, stream: Stream
) -> None:
    a = created_user(org, stream, "a@example.com")
    b = created_user(org, stream, "b@example.com")
    gid = created_group(org, stream, "Team", a)
    r = org.patch(
        f"/Groups/{gid}",
        patch(
            {"op": "replace", "path": "displayName", "value": "Crew"},
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [{"value": a}, {"value": b}]},
        ),
    )
    assert r.status_code in (200, 204), r.text
    updated, added = stream.new()  # a left and came back in one PATCH: no change
    assert (updated.type, updated.changed) == ("group.updated", {"displayName": "Team"})
    assert updated.data["displayName"] == "Crew" and "members" not in updated.data
    assert (added.type, added.data["member_id"]) == ("group.member_added", b)


def test_group_put_records_attribute_and_net_member_changes(org: OrgClient, stream: Stream) -> None:
    a = created_user(org, stream, "a@example.com")
    b = created_user(org, stream, "b@example.com")
    gid = created_group(org, stream, "Team", a)
    same = {"schemas": [GROUP], "displayName": "Team", "members": [{"value": a}]}
    assert org.put(f"/Groups/{gid}", same).status_code == 200
    assert stream.new() == []  # every row rewritten, nothing changed
    moved = {**same, "externalId": "t-1", "members": [{"value": b}]}
    assert org.put(f"/Groups/{gid}", moved).status_code == 200
    assert [(e.type, e.data.get("member_id")) for e in stream.new()] == [
        ("group.updated", None),
        ("group.member_removed", a),
        ("group.member_added", b),
    ]


def test_group_delete_records_removal_from_its_parents_then_deleted(
    org: OrgClient, stream: Stream
) -> None:
    a = created_user(org, stream, "a@example.com")
    child = created_group(org, stream, "Child", a)
    parent = created_group(org, stream, "Parent", child)
    last = org.get(f"/Groups/{child}", params={"excludedAttributes": "members"}).json()
    assert org.delete(f"/Groups/{child}").status_code == 204
    removed, deleted = stream.new()  # no event per member of its own
    assert removed.type == "group.member_removed"
    assert removed.data == {"group_id": parent, "member_id": child, "member_type": "Group"}
    assert deleted.type == "group.deleted"
    assert deleted.data == last


def test_a_failing_group_patch_records_nothing(org: OrgClient, stream: Stream) -> None:
    a = created_user(org, stream, "a@example.com")
    gid = created_group(org, stream, "Team")
    created_group(org, stream, "Taken")
    r = org.patch(
        f"/Groups/{gid}",
        patch(
            {"op": "add", "path": "members", "value": [{"value": a}]},
            {"op": "add", "path": "members", "value": [{"value": "no-such-id"}]},
        ),
    )
    assert r.status_code == 400
    rename = patch(
        {"op": "add", "path": "members", "value": [{"value": a}]},
        {"op": "replace", "path": "displayName", "value": "taken"},
    )
    assert org.patch(f"/Groups/{gid}", rename).status_code == 409
    assert stream.new() == []
    assert org.get(f"/Groups/{gid}").json().get("members") is None


# -- bulk, threads --------------------------------------------------------------------------


def test_bulk_records_each_successful_operation(org: OrgClient, stream: Stream) -> None:
    r = org.post(
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "u",
                    "data": {"schemas": [USER], "userName": "one@example.com"},
                },
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "taken",
                    "data": {"schemas": [USER], "userName": "ONE@example.com"},  # 409
                },
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "g",
                    "data": {
                        "schemas": [GROUP],
                        "displayName": "Team",
                        "members": [{"value": "bulkId:u"}],
                    },
                },
            ],
        },
    )
    assert r.status_code == 200, r.text
    assert [op["status"] for op in r.json()["Operations"]] == ["201", "409", "201"]
    events = stream.new()
    assert [e.type for e in events] == ["user.created", "group.created", "group.member_added"]
    assert {e.source["kind"] for e in events} == {"scim"}
    assert {e.source["tracking_id"] for e in events} == {r.headers["TrackingID"]}


def test_work_handed_to_a_thread_keeps_the_request_as_source(
    org: OrgClient, stream: Stream
) -> None:
    # A password is hashed off the event loop (api/offload.py), in the thread pool.
    r = org.post("/Users", new_user(password="Corr3ct-Horse"))
    assert r.status_code == 201
    [event] = stream.new()
    assert event.source["kind"] == "scim"
    assert event.source["tracking_id"] == r.headers["TrackingID"]


def test_the_events_of_one_org_are_not_anothers(
    org: OrgClient, other_org: OrgClient, hub: Hub, stream: Stream
) -> None:
    org.post("/Users", new_user())
    other_org.post("/Users", new_user())
    [mine] = stream.new()
    assert mine.org_id == org.org_id
    [theirs] = Events(hub.db).page(other_org.org_id, after=None, limit=10).events
    assert theirs.org_id == other_org.org_id and theirs.data["id"] != mine.data["id"]


def test_requests_that_only_read_record_nothing(org: OrgClient, stream: Stream) -> None:
    uid = created_user(org, stream)
    assert org.get(f"/Users/{uid}").status_code == 200
    assert org.get("/Users").status_code == 200
    search = {"schemas": [SEARCH], "filter": 'userName eq "x"'}
    assert org.post("/Users/.search", search).status_code == 200
    assert stream.new() == []
