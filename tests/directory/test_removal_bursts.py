"""Bursts of removals pushed by Entra: found by the scan past the instance's threshold
(counted per window, only the job's token), restored in one step (deleted users back with
their memberships, deactivated ones active), or dismissed; once decided, never twice; other
organisations can neither see nor restore them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.asgi import background_work
from scimhub.directory.actor import Actor
from scimhub.directory.instances import Instance
from scimhub.directory.locator import Locator
from scimhub.directory.removal_bursts import BurstDecided, BurstState
from scimhub.directory.tokens import TokenKind
from scimhub.scim.errors import NotFound
from tests.brake_setup import push_instance
from tests.conftest import OrgClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ADMIN = Actor("Ada Admin", "TEST_BURST")


def _job(
    hub: Hub, org: OrgClient, app_client: TestClient, limit: int
) -> tuple[Instance, OrgClient]:
    """A push instance and a SCIM client speaking with its job's token."""
    instance, secret = push_instance(hub, org.org_id, limit=limit)
    return instance, OrgClient(app_client, org.org_id, secret)


def _users(client: OrgClient, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        r = client.post("/Users", {"schemas": [USER], "userName": f"p{i}-{uuid.uuid4().hex[:5]}"})
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def _deactivate(client: OrgClient, user_id: str) -> None:
    op = {"op": "replace", "path": "active", "value": False}
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]}
    assert client.patch(f"/Users/{user_id}", body).status_code == 200


def test_a_burst_is_found_and_restored_in_one_step(
    hub: Hub, org: OrgClient, app_client: TestClient
) -> None:
    instance, job = _job(hub, org, app_client, limit=5)
    assert hub.bursts.scan(instance) is None  # the first scan starts at the stream's head
    people = _users(job, 12)
    team = job.post(
        "/Groups",
        {
            "schemas": [GROUP],
            "displayName": f"T-{uuid.uuid4().hex[:4]}",
            "members": [{"value": u["id"]} for u in people[:4]],
        },
    ).json()
    # Another client's removals are not the job's.
    assert org.delete(f"/Users/{people[11]['id']}").status_code == 204
    for u in people[:4]:
        assert job.delete(f"/Users/{u['id']}").status_code == 204
    assert hub.bursts.scan(instance) is None  # 4: within the threshold
    for u in people[4:7]:
        _deactivate(job, u["id"])

    burst = hub.bursts.scan(instance)
    assert burst is not None and burst.state is BurstState.OPEN
    assert burst.removals == 7 and len(burst.tracking_ids) == 7
    assert burst.source["kind"] == "scim" and burst.source["name"].startswith("Entra")
    assert [b.id for b in hub.bursts.listed(org.org_id, BurstState.OPEN)] == [burst.id]
    # It grows while the window lasts; the next scan finds nothing new.
    assert job.delete(f"/Users/{people[7]['id']}").status_code == 204
    grown = hub.bursts.scan(instance)
    assert grown is not None and grown.id == burst.id and grown.removals == 8
    assert hub.bursts.scan(instance) is not None and len(hub.bursts.listed(org.org_id)) == 1

    loc = Locator("https://hub.test", org.org_id)
    outcome = hub.bursts.restore(org.org_id, burst.id, loc, actor=ADMIN)
    assert (outcome.users_restored, outcome.users_reactivated, outcome.skipped) == (5, 3, 0)
    for u in people[:8]:
        back = org.get(f"/Users/{u['id']}").json()
        assert back["active"] is True, back
    members = org.get(f"/Groups/{team['id']}").json()["members"]
    assert {m["value"] for m in members} == {u["id"] for u in people[:4]}
    assert org.get(f"/Users/{people[11]['id']}").status_code == 404  # not the job's: left
    with pytest.raises(BurstDecided):
        hub.bursts.restore(org.org_id, burst.id, loc, actor=ADMIN)
    audit, _ = hub.audit.events(org.org_id, action="Azure AD removal burst restored")
    assert audit[0].actor == ADMIN.name and audit[0].detail["outcome"]["usersRestored"] == 5


def test_the_status_check_scans_and_dismiss_acknowledges(
    hub: Hub, org: OrgClient, app_client: TestClient
) -> None:
    instance, job = _job(hub, org, app_client, limit=2)
    work = background_work(hub)
    hub.bursts.scan(instance)
    for u in _users(job, 3):
        assert job.delete(f"/Users/{u['id']}").status_code == 204
    work.check(org.org_id, instance.id)  # Entra is not reachable here; the scan ran anyway
    (burst,) = hub.bursts.listed(org.org_id, BurstState.OPEN)
    hub.bursts.dismiss(org.org_id, burst.id, actor=ADMIN)
    assert hub.bursts.listed(org.org_id, BurstState.OPEN) == []
    assert hub.bursts.get(org.org_id, burst.id).state is BurstState.DISMISSED


def test_another_org_cannot_see_or_restore(
    hub: Hub, org: OrgClient, other_org: OrgClient, app_client: TestClient
) -> None:
    instance, job = _job(hub, org, app_client, limit=1)
    hub.bursts.scan(instance)
    for u in _users(job, 2):
        assert job.delete(f"/Users/{u['id']}").status_code == 204
    burst = hub.bursts.scan(instance)
    assert burst is not None
    assert hub.bursts.listed(other_org.org_id) == []
    with pytest.raises(NotFound):
        hub.bursts.restore(
            other_org.org_id, burst.id, Locator("https://hub.test", "x"), actor=ADMIN
        )
    assert hub.bursts.get(org.org_id, burst.id).state is BurstState.OPEN


def test_the_api_lists_restores_and_refuses(
    hub: Hub, org: OrgClient, other_org: OrgClient, app_client: TestClient
) -> None:
    instance, job = _job(hub, org, app_client, limit=1)
    hub.bursts.scan(instance)
    people = _users(job, 2)
    for u in people:
        assert job.delete(f"/Users/{u['id']}").status_code == 204
    burst = hub.bursts.scan(instance)
    assert burst is not None
    token, _ = hub.tokens.create(org.org_id, kind=TokenKind.ADMIN)
    theirs, _ = hub.tokens.create(other_org.org_id, kind=TokenKind.ADMIN)
    base = f"/extIntegration/azureAD/{org.org_id}/v1/removalBursts"
    mine = {"Authorization": f"Bearer {token}"}

    listed = app_client.get(base, headers=mine, params={"state": "open"})
    assert [b["id"] for b in listed.json()["bursts"]] == [burst.id]
    assert app_client.get(base, headers=mine, params={"state": "x"}).status_code == 400
    other = f"/extIntegration/azureAD/{other_org.org_id}/v1/removalBursts"
    stranger = {"Authorization": f"Bearer {theirs}"}
    assert app_client.get(other, headers=stranger).json()["bursts"] == []
    r = app_client.post(f"{other}/{burst.id}/restore", headers=stranger)
    assert r.status_code == 404 and r.json()["error"]["message"][0]["code"] == "701040"

    done = app_client.post(f"{base}/{burst.id}/restore", headers=mine)
    assert done.status_code == 200, done.text
    assert done.json()["restored"] == {"usersRestored": 2, "usersReactivated": 0, "skipped": 0}
    assert all(org.get(f"/Users/{u['id']}").status_code == 200 for u in people)
    again = app_client.post(f"{base}/{burst.id}/dismiss", headers=mine)
    assert again.status_code == 409 and "restored already" in again.text
