"""Deletions held in the console: a banner on every page and a badge on the instance's row,
the held list (this org's instance only: an id in the query proves nothing), Approve and
Discard as CSRF-checked forms for full admins."""

from __future__ import annotations

import uuid

from scimhub.api.services import Hub
from scimhub.directory.deletion_brake import Action, Noted
from scimhub.directory.instances import Instance
from scimhub.directory.locator import Locator
from tests.brake_setup import pull_instance, push_instance
from tests.conftest import OrgClient

from .conftest import Admins, Console

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def _held(hub: Hub, org: OrgClient, n: int) -> tuple[Instance, list[str]]:
    """An instance of the org whose last round held `n` user removals."""
    instance = pull_instance(hub, org.org_id, limit=1, name="Contoso")
    ids = []
    for i in range(n):
        name = f"leaver{i}-{uuid.uuid4().hex[:4]}@example.com"
        r = org.post("/Users", {"schemas": [USER], "userName": name})
        ids.append(r.json()["id"])
    hub.brake.note(instance, [Noted(f"o{rid}", "User", rid, Action.DEACTIVATE) for rid in ids])
    assert hub.brake.settle(instance, Locator("https://hub.test", org.org_id)).held == n
    return instance, ids


def test_held_removals_are_shown_and_approved(signed_in: Console, admins: Admins, hub: Hub) -> None:
    org = admins.org
    instance, ids = _held(hub, org, 3)
    overview = signed_in.http.get("/console/overview").text
    assert "data-deletions-alert" in overview and f"instance={instance.id}" in overview

    listing = signed_in.http.get(f"/console/deletions?instance={instance.id}")
    assert listing.status_code == 200
    assert "Deletions held: 3" in listing.text
    assert all(f"leaver{i}-" in listing.text for i in range(3))
    assert 'action="/console/deletions/approve"' in listing.text

    done = signed_in.http.post(
        "/console/deletions/approve",
        data={"csrf_token": signed_in.csrf(), "instance_id": instance.id},
    )
    assert done.status_code == 200 and "3 removal(s) applied." in done.text
    assert "data-deletions-alert" not in done.text
    assert all(org.get(f"/Users/{rid}").json()["active"] is False for rid in ids)
    audit, _ = hub.audit.events(org.org_id, action="Azure AD held removals approved")
    assert audit[0].actor == admins.admin_email


def test_discard_keeps_the_users(signed_in: Console, admins: Admins, hub: Hub) -> None:
    org = admins.org
    instance, ids = _held(hub, org, 2)
    done = signed_in.http.post(
        "/console/deletions/discard",
        data={"csrf_token": signed_in.csrf(), "instance_id": instance.id},
    )
    assert done.status_code == 200 and "2 removal(s) discarded" in done.text
    assert all(org.get(f"/Users/{rid}").json()["active"] is True for rid in ids)


def test_another_orgs_instance_is_not_found_and_forms_are_guarded(
    signed_in: Console,
    signed_in_readonly: Console,
    admins: Admins,
    hub: Hub,
    other_org: OrgClient,
) -> None:
    theirs, _ = _held(hub, other_org, 2)
    page = signed_in.http.get(f"/console/deletions?instance={theirs.id}")
    assert page.status_code == 404 and "leaver" not in page.text
    r = signed_in.http.post(
        "/console/deletions/approve",
        data={"csrf_token": signed_in.csrf(), "instance_id": theirs.id},
    )
    assert r.status_code == 404
    assert hub.brake.held_count(theirs.id) == 2

    mine, _ = _held(hub, admins.org, 2)
    forged = signed_in.http.post(
        "/console/deletions/approve", data={"csrf_token": "forged", "instance_id": mine.id}
    )
    assert forged.status_code == 403
    viewer = signed_in_readonly
    listing = viewer.http.get(f"/console/deletions?instance={mine.id}")
    assert listing.status_code == 200 and 'action="/console/deletions/approve"' not in listing.text
    refused = viewer.http.post(
        "/console/deletions/approve", data={"csrf_token": viewer.csrf(), "instance_id": mine.id}
    )
    assert refused.status_code == 403
    assert hub.brake.held_count(mine.id) == 2


def test_a_pushed_burst_is_alerted_and_restored_in_one_click(
    signed_in: Console, signed_in_readonly: Console, admins: Admins, hub: Hub
) -> None:
    org = admins.org
    instance, secret = push_instance(hub, org.org_id, limit=1)
    job = OrgClient(org.http, org.org_id, secret)
    hub.bursts.scan(instance)
    ids = [
        job.post("/Users", {"schemas": [USER], "userName": f"b{i}-{uuid.uuid4().hex[:4]}"}).json()[
            "id"
        ]
        for i in range(3)
    ]
    for rid in ids:
        assert job.delete(f"/Users/{rid}").status_code == 204
    burst = hub.bursts.scan(instance)
    assert burst is not None

    overview = signed_in.http.get("/console/overview").text
    assert f'data-burst-alert="{burst.id}"' in overview
    assert f'action="/console/bursts/{burst.id}/restore"' in overview
    viewer_page = signed_in_readonly.http.get("/console/overview").text
    assert "data-burst-alert" in viewer_page and "/restore" not in viewer_page
    path = f"/console/bursts/{burst.id}/restore"
    assert signed_in.http.post(path, data={"csrf_token": "forged"}).status_code == 403
    refused = signed_in_readonly.http.post(path, data={"csrf_token": signed_in_readonly.csrf()})
    assert refused.status_code == 403

    done = signed_in.http.post(path, data={"csrf_token": signed_in.csrf()})
    assert done.status_code == 200 and done.url.path == "/console/bursts"
    assert "Restored 3 user(s)" in done.text and "data-burst-alert" not in done.text
    assert all(org.get(f"/Users/{rid}").status_code == 200 for rid in ids)
