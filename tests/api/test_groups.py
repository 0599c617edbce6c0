"""Groups over HTTP: members as rows, both Entra PATCH dialects, the 204 setting, paging."""

from __future__ import annotations

from typing import Any

from tests.api.test_users import new_user
from tests.conftest import OrgClient

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTRA_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def patch(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(ops)}


def users(org: OrgClient, n: int, prefix: str = "u") -> list[str]:
    return [org.post("/Users", new_user(f"{prefix}{i}@example.com")).json()["id"] for i in range(n)]


def member_ids(org: OrgClient, gid: str) -> set[str]:
    return {m["value"] for m in org.get(f"/Groups/{gid}").json().get("members", [])}


def test_entra_creates_group_empty_then_adds_members(org: OrgClient) -> None:
    ids = users(org, 3)
    # Entra's create: its own schema URN beside the core one, no members
    r = org.post(
        "/Groups", {"schemas": [GROUP, ENTRA_GROUP], "displayName": "Sales", "externalId": "aad-1"}
    )
    assert r.status_code == 201
    gid = r.json()["id"]
    assert r.json()["schemas"] == [GROUP]
    assert "members" not in r.json()
    added = org.patch(
        f"/Groups/{gid}",
        patch({"op": "Add", "path": "members", "value": [{"value": i} for i in ids]}),
    )
    assert added.status_code == 200
    assert {m["value"] for m in added.json()["members"]} == set(ids)
    assert {m["type"] for m in added.json()["members"]} == {"User"}
    listed = org.get(f"/Groups/{gid}/Members").json()["Resources"]
    assert {m["display"] for m in listed} == {"u0@example.com", "u1@example.com", "u2@example.com"}


def test_member_removal_default_dialect_value_array(org: OrgClient) -> None:
    ids = users(org, 3)
    gid = org.post(
        "/Groups", {"schemas": [GROUP], "displayName": "G", "members": [{"value": i} for i in ids]}
    ).json()["id"]
    r = org.patch(
        f"/Groups/{gid}", patch({"op": "Remove", "path": "members", "value": [{"value": ids[0]}]})
    )
    assert r.status_code == 200
    assert member_ids(org, gid) == set(ids[1:])


def test_member_removal_aadoptscim062020_filter(org: OrgClient) -> None:
    ids = users(org, 3)
    gid = org.post(
        "/Groups", {"schemas": [GROUP], "displayName": "G", "members": [{"value": i} for i in ids]}
    ).json()["id"]
    r = org.patch(
        f"/Groups/{gid}", patch({"op": "remove", "path": f'members[value eq "{ids[1]}"]'})
    )
    assert r.status_code == 200
    assert member_ids(org, gid) == {ids[0], ids[2]}


def test_remove_all_members_and_replace(org: OrgClient) -> None:
    ids = users(org, 4)
    gid = org.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": "G", "members": [{"value": i} for i in ids[:2]]},
    ).json()["id"]
    org.patch(
        f"/Groups/{gid}", patch({"op": "replace", "path": "members", "value": [{"value": ids[3]}]})
    )
    assert member_ids(org, gid) == {ids[3]}
    org.patch(f"/Groups/{gid}", patch({"op": "remove", "path": "members"}))
    assert member_ids(org, gid) == set()


def test_nested_group_members_and_user_groups_attribute(org: OrgClient) -> None:
    uid = users(org, 1)[0]
    inner = org.post(
        "/Groups", {"schemas": [GROUP], "displayName": "Inner", "members": [{"value": uid}]}
    ).json()["id"]
    outer = org.post(
        "/Groups", {"schemas": [GROUP], "displayName": "Outer", "members": [{"value": inner}]}
    ).json()
    assert outer["members"][0]["type"] == "Group"
    assert org.get(f"/Groups/{outer['id']}/Members").json()["Resources"][0]["display"] == "Inner"
    user = org.get(f"/Users/{uid}").json()
    assert [g["value"] for g in user["groups"]] == [inner]
    assert user["groups"][0]["display"] == "Inner"


def test_adding_unknown_or_foreign_member_is_invalid_value(
    org: OrgClient, other_org: OrgClient
) -> None:
    foreign = users(other_org, 1, "f")[0]
    gid = org.post("/Groups", {"schemas": [GROUP], "displayName": "G"}).json()["id"]
    for bad in ("no-such-id", foreign):
        r = org.patch(
            f"/Groups/{gid}", patch({"op": "add", "path": "members", "value": [{"value": bad}]})
        )
        assert r.status_code == 400 and r.json()["scimType"] == "invalidValue"
    assert member_ids(org, gid) == set()


def test_patch_is_atomic_across_operations(org: OrgClient) -> None:
    ids = users(org, 1)
    gid = org.post("/Groups", {"schemas": [GROUP], "displayName": "G"}).json()["id"]
    r = org.patch(
        f"/Groups/{gid}",
        patch(
            {"op": "add", "path": "members", "value": [{"value": ids[0]}]},
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": "missing"}]},
        ),
    )
    assert r.status_code == 400
    group = org.get(f"/Groups/{gid}").json()
    assert group["displayName"] == "G" and "members" not in group
    assert group["meta"]["version"] == 'W/"1"'


def test_group_patch_204_when_org_asks(org: OrgClient, hub: Any) -> None:
    hub.orgs.update_setting(org.org_id, "group_patch_status", 204)
    ids = users(org, 1)
    gid = org.post("/Groups", {"schemas": [GROUP], "displayName": "G"}).json()["id"]
    r = org.patch(
        f"/Groups/{gid}", patch({"op": "add", "path": "members", "value": [{"value": ids[0]}]})
    )
    assert r.status_code == 204 and r.content == b""
    assert member_ids(org, gid) == {ids[0]}


def test_display_name_unique_and_delete_removes_memberships(org: OrgClient) -> None:
    uid = users(org, 1)[0]
    gid = org.post(
        "/Groups", {"schemas": [GROUP], "displayName": "Ops", "members": [{"value": uid}]}
    ).json()["id"]
    dup = org.post("/Groups", {"schemas": [GROUP], "displayName": "OPS"})
    assert dup.status_code == 409 and dup.json()["scimType"] == "uniqueness"
    assert org.delete(f"/Users/{uid}").status_code == 204
    group = org.get(f"/Groups/{gid}").json()
    assert "members" not in group
    assert group["meta"]["version"] == 'W/"2"'  # the membership change moved the version
    assert org.delete(f"/Groups/{gid}").status_code == 204
    assert org.get(f"/Groups/{gid}").status_code == 404


def test_excluded_members_and_members_page(org: OrgClient) -> None:
    ids = users(org, 7)
    gid = org.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": "Big", "members": [{"value": i} for i in ids]},
    ).json()["id"]
    lean = org.get(f"/Groups/{gid}", params={"excludedAttributes": "members"}).json()
    assert "members" not in lean and lean["displayName"] == "Big"
    found = org.get(
        "/Groups", params={"filter": 'displayName eq "big"', "excludedAttributes": "members"}
    ).json()
    assert found["totalResults"] == 1 and "members" not in found["Resources"][0]
    page1 = org.get(f"/Groups/{gid}/Members", params={"count": "5"}).json()
    page2 = org.get(f"/Groups/{gid}/Members", params={"startIndex": "6", "count": "5"}).json()
    assert page1["totalResults"] == 7 and len(page1["Resources"]) == 5
    assert len(page2["Resources"]) == 2
    seen = [m["value"] for m in page1["Resources"] + page2["Resources"]]
    assert sorted(seen) == sorted(ids)


def test_group_filter_by_member(org: OrgClient) -> None:
    a, b = users(org, 2)
    g1 = org.post(
        "/Groups", {"schemas": [GROUP], "displayName": "One", "members": [{"value": a}]}
    ).json()["id"]
    org.post("/Groups", {"schemas": [GROUP], "displayName": "Two", "members": [{"value": b}]})
    r = org.get("/Groups", params={"filter": f'members[value eq "{a}"]'}).json()
    assert [g["id"] for g in r["Resources"]] == [g1]
    r = org.get("/Users", params={"filter": f'groups.value eq "{g1}"'}).json()
    assert [u["id"] for u in r["Resources"]] == [a]


def test_a_member_change_moves_the_version_and_last_modified(org: OrgClient) -> None:
    uid = users(org, 1)[0]
    created = org.post("/Groups", {"schemas": [GROUP], "displayName": "V"}).json()
    r = org.patch(
        f"/Groups/{created['id']}",
        patch({"op": "add", "path": "members", "value": [{"value": uid}]}),
    )
    assert r.json()["meta"]["version"] == 'W/"2"'
    again = org.patch(
        f"/Groups/{created['id']}",
        patch({"op": "add", "path": "members", "value": [{"value": uid}]}),
    )
    assert again.json()["meta"]["version"] == 'W/"2"'  # already a member: nothing changed
