"""The deletion brake's rules, on the hub's services: the threshold (count, share of active
users, window, off), holding a whole round's removals, holding later ones behind them,
approving as the admin's change, discarding, objects coming back, per-instance thresholds,
and other organisations kept out."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.asgi import background_work
from scimhub.directory.actor import Actor
from scimhub.directory.deletion_brake import (
    Action,
    InvalidThreshold,
    Noted,
    RoundRunning,
    Threshold,
)
from scimhub.directory.events import Source, SourceKind, caused_by
from scimhub.directory.instances import Instance
from scimhub.directory.locator import Locator
from scimhub.directory.tokens import TokenKind, TokenScope
from scimhub.scim.errors import NotFound
from scimhub.store.engine import utcnow
from scimhub.store.tables import removals
from tests.brake_setup import pull_instance
from tests.conftest import OrgClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ADMIN = Actor("Ada Admin", "TEST_BRAKE")


def _instance(hub: Hub, org_id: str) -> Instance:
    return pull_instance(hub, org_id, name="Contoso")


def _users(org: OrgClient, n: int) -> list[str]:
    ids = []
    for i in range(n):
        r = org.post("/Users", {"schemas": [USER], "userName": f"u{i}-{uuid.uuid4().hex[:6]}"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def _noted(ids: list[str], action: Action = Action.DEACTIVATE) -> list[Noted]:
    return [Noted(f"oid-{rid}", "User", rid, action) for rid in ids]


def _round(hub: Hub, instance: Instance, noted: list[Noted], org: OrgClient) -> Any:
    """What a pull round does with its removals: note them, settle at the end."""
    with caused_by(Source(SourceKind.ENTRA, instance.name, instance.id)):
        hub.brake.note(instance, noted)
        return hub.brake.settle(instance, Locator("https://hub.test", org.org_id))


def _active(org: OrgClient) -> int:
    r = org.get("/Users", params={"filter": "active eq true", "count": "0"})
    return int(r.json()["totalResults"])


def test_the_threshold_reads_and_limits() -> None:
    default = Threshold()
    assert default.limit(100_000) == 500  # the count bounds a large org
    assert default.limit(1_000) == 200  # 20% of its active users bounds a smaller one
    assert default.limit(20) == Threshold.MIN_FOR_PERCENT  # never below 10
    assert Threshold(percent=None).limit(20) == 500
    assert Threshold(enabled=False).limit(5) is None
    assert Threshold.parse({"count": 50, "percent": None}) == Threshold(count=50, percent=None)
    assert Threshold.parse(default.as_json()) == default
    refused: list[Any] = [
        [],
        {"count": 0},
        {"count": "500"},
        {"count": True},
        {"percent": 101},
        {"windowMinutes": 0},
        {"enabled": "yes"},
        {"limit": 5},
    ]
    for bad in refused:
        with pytest.raises(InvalidThreshold):
            Threshold.parse(bad)


def test_removals_within_the_threshold_apply_at_the_rounds_end(hub: Hub, org: OrgClient) -> None:
    instance = _instance(hub, org.org_id)
    ids = _users(org, 12)
    settled = _round(hub, instance, _noted(ids[:5]) + _noted(ids[5:6], Action.DELETE), org)
    assert settled.held == 0 and len(settled.applied) == 6
    assert settled.count("User", Action.DEACTIVATE) == 5
    assert settled.count("User", Action.DELETE) == 1
    assert _active(org) == 6
    assert org.get(f"/Users/{ids[5]}").status_code == 404  # in the recycle bin


def test_a_round_past_the_threshold_holds_all_its_removals(hub: Hub, org: OrgClient) -> None:
    instance = _instance(hub, org.org_id)
    hub.brake.set_threshold(
        org.org_id, Threshold(count=10, percent=None), instance=instance, actor=ADMIN
    )
    instance = hub.instances.get(org.org_id, instance.id) or instance
    ids = _users(org, 30)
    settled = _round(hub, instance, _noted(ids[:11]), org)
    assert (settled.held, len(settled.applied), settled.limit) == (11, 0, 10)
    assert _active(org) == 30
    # Held removals hold the next round's too, even a small one: one list to decide on.
    assert _round(hub, instance, _noted(ids[11:12]), org).held == 1
    held, total = hub.brake.held(org.org_id, instance.id)
    assert total == 12 and {r.resource_id for r in held} == set(ids[:12])
    audit, _ = hub.audit.events(org.org_id, action="Azure AD removals held")
    assert audit and audit[0].detail["limit"] == 10

    # A removal noted twice is held once; an object back in scope drops out.
    _round(hub, instance, _noted(ids[:2]), org)
    hub.brake.came_back(instance, [f"oid-{ids[0]}"])
    assert hub.brake.held_count(instance.id) == 11

    loc = Locator("https://hub.test", org.org_id)
    assert hub.brake.approve(org.org_id, instance.id, loc, actor=ADMIN) == 11
    assert _active(org) == 30 - 11
    assert hub.brake.held_count(instance.id) == 0
    events = hub.events.page(org.org_id, after=None, limit=1000).events
    deactivated = [e for e in events if e.type == "user.deactivated"]
    assert len(deactivated) == 11
    assert {(e.source["kind"], e.source["name"]) for e in deactivated} == {("admin", ADMIN.name)}
    assert hub.audit.events(org.org_id, action="Azure AD held removals approved")[1] == 1


def test_the_window_counts_what_rounds_applied(hub: Hub, org: OrgClient) -> None:
    instance = _instance(hub, org.org_id)
    hub.brake.set_threshold(
        org.org_id, Threshold(count=10, percent=None, window_minutes=60), actor=ADMIN
    )
    ids = _users(org, 20)
    assert _round(hub, instance, _noted(ids[:8]), org).held == 0
    settled = _round(hub, instance, _noted(ids[8:11]), org)  # 8 + 3 > 10 within the hour
    assert (settled.held, settled.in_window) == (3, 8)
    assert hub.brake.discard(org.org_id, instance.id, actor=ADMIN) == 3
    assert _active(org) == 12  # the hub keeps the discarded ones
    assert hub.brake.held_count(instance.id) == 0
    # Past the window, the earlier round no longer counts.
    with hub.db.write() as conn:
        conn.execute(
            removals.update()
            .where(removals.c.instance_id == instance.id)
            .values(decided=utcnow() - timedelta(hours=2))
        )
    assert _round(hub, instance, _noted(ids[11:14]), org).held == 0


def test_off_means_every_removal_applies(hub: Hub, org: OrgClient) -> None:
    instance = _instance(hub, org.org_id)
    hub.brake.set_threshold(org.org_id, Threshold(enabled=False), actor=ADMIN)
    ids = _users(org, 15)
    assert len(_round(hub, instance, _noted(ids), org).applied) == 15


def test_deciding_waits_for_a_running_round(hub: Hub, org: OrgClient) -> None:
    instance = _instance(hub, org.org_id)
    with hub.instances.round_lock(instance.id) as mine:
        assert mine
        with pytest.raises(RoundRunning):
            hub.brake.discard(org.org_id, instance.id, actor=ADMIN)


def test_another_org_cannot_see_or_decide(
    hub: Hub, org: OrgClient, other_org: OrgClient, app_client: TestClient
) -> None:
    instance = _instance(hub, org.org_id)
    hub.brake.set_threshold(
        org.org_id, Threshold(count=1, percent=None), instance=instance, actor=ADMIN
    )
    instance = hub.instances.get(org.org_id, instance.id) or instance
    ids = _users(org, 3)
    assert _round(hub, instance, _noted(ids), org).held == 3
    with pytest.raises(NotFound):
        hub.brake.approve(
            other_org.org_id, instance.id, Locator("https://hub.test", "x"), actor=ADMIN
        )
    # Through the API, with the other org's admin token, on its own org's path.
    token, _ = hub.tokens.create(other_org.org_id, kind=TokenKind.ADMIN)
    base = f"/extIntegration/azureAD/{other_org.org_id}/v1/instances/{instance.id}"
    headers = {"Authorization": f"Bearer {token}"}
    for method, path in (
        ("GET", "/heldRemovals"),
        ("POST", "/heldRemovals/approve"),
        ("POST", "/heldRemovals/discard"),
        ("PUT", "/deletionThreshold"),
    ):
        r = app_client.request(method, base + path, headers=headers, json={"threshold": None})
        assert r.status_code == 404, (path, r.text)
    # And the org's own path with the other org's token is refused.
    r = app_client.get(
        f"/extIntegration/azureAD/{org.org_id}/v1/instances/{instance.id}/heldRemovals",
        headers=headers,
    )
    assert r.status_code in (401, 403)
    assert hub.brake.held_count(instance.id) == 3


def test_the_api_lists_decides_and_sets_thresholds(
    hub: Hub, org: OrgClient, app_client: TestClient
) -> None:
    instance = _instance(hub, org.org_id)
    token, _ = hub.tokens.create(org.org_id, kind=TokenKind.ADMIN)
    read_token, _ = hub.tokens.create(org.org_id, kind=TokenKind.ADMIN, scope=TokenScope.READ)
    base = f"/extIntegration/azureAD/{org.org_id}/v1"
    headers = {"Authorization": f"Bearer {token}"}
    r = app_client.put(
        f"{base}/instances/{instance.id}/deletionThreshold",
        headers=headers,
        json={"threshold": {"count": 2, "percent": None}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["threshold"]["count"] == 2 and r.json()["inherited"] is False
    for bad in ({"threshold": {"count": -1}}, {"threshold": "x"}, {}):
        r = app_client.put(f"{base}/deletionThreshold", headers=headers, json=bad)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["message"][0]["code"] == "701050"
    instance = hub.instances.get(org.org_id, instance.id) or instance
    _round(hub, instance, _noted(_users(org, 3)), org)

    listed = app_client.get(
        f"{base}/instances/{instance.id}/heldRemovals", headers=headers, params={"limit": "2"}
    )
    assert listed.status_code == 200 and listed.json()["total"] == 3
    assert len(listed.json()["removals"]) == 2
    bad_page = app_client.get(
        f"{base}/instances/{instance.id}/heldRemovals", headers=headers, params={"limit": "x"}
    )
    assert bad_page.status_code == 400
    read = {"Authorization": f"Bearer {read_token}"}
    refused = app_client.post(f"{base}/instances/{instance.id}/heldRemovals/approve", headers=read)
    assert refused.status_code == 403
    assert hub.brake.held_count(instance.id) == 3
    done = app_client.post(f"{base}/instances/{instance.id}/heldRemovals/approve", headers=headers)
    assert done.status_code == 200 and done.json()["approved"] == 3
    status = app_client.get(f"{base}/status", headers=headers).json()
    assert [i["deletionsHeld"] for i in status["instances"]] == [0]


def test_the_clean_up_forgets_old_decisions(hub: Hub, org: OrgClient) -> None:
    instance = _instance(hub, org.org_id)
    hub.brake.set_threshold(
        org.org_id, Threshold(count=1, percent=None), instance=instance, actor=ADMIN
    )
    instance = hub.instances.get(org.org_id, instance.id) or instance
    ids = _users(org, 4)
    assert _round(hub, instance, _noted(ids[:2]), org).held == 2
    assert _round(hub, instance, _noted(ids[2:3]), org).held == 1
    hub.brake.discard(org.org_id, instance.id, actor=ADMIN)
    with hub.db.write() as conn:
        conn.execute(
            removals.update()
            .where(removals.c.instance_id == instance.id)
            .values(decided=utcnow() - timedelta(days=31))
        )
    assert background_work(hub).clean_up().removals >= 3
    with hub.db.read() as conn:
        left = conn.execute(removals.select().where(removals.c.instance_id == instance.id)).all()
    assert left == []
