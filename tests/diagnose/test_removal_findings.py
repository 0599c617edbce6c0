"""The troubleshooter's deletion-brake findings: an open burst pushed by Entra's job
(`removal_burst`, with its tracking ids), removals a pull round held (`removals_held`);
each gone once decided, and only in its own organisation's report."""

from __future__ import annotations

import uuid

from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.diagnose import diagnose
from scimhub.diagnose.report import Report
from scimhub.directory.actor import Actor
from scimhub.directory.deletion_brake import Action, Noted, Threshold
from scimhub.directory.locator import Locator
from tests.brake_setup import pull_instance, push_instance
from tests.conftest import OrgClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ADMIN = Actor("Ada Admin", "TEST_FINDING")
STRICT = Threshold(count=1, percent=None).as_json()


def _ids(report: Report) -> list[str]:
    return [f.id for f in report.findings]


def test_a_pushed_burst_is_a_finding_until_restored(
    hub: Hub, org: OrgClient, other_org: OrgClient, app_client: TestClient
) -> None:
    instance, secret = push_instance(hub, org.org_id, limit=1)
    job = OrgClient(app_client, org.org_id, secret)
    hub.bursts.scan(instance)
    for i in range(3):
        user = job.post("/Users", {"schemas": [USER], "userName": f"z{i}-{uuid.uuid4().hex[:4]}"})
        assert job.delete(f"/Users/{user.json()['id']}").status_code == 204
    burst = hub.bursts.scan(instance)
    assert burst is not None

    report = diagnose(hub, org.org_id)
    (found,) = [f for f in report.findings if f.id == "removal_burst"]
    assert found.title.startswith("Entra provisioning (contoso) removed 3 users")
    assert found.tracking_ids == burst.tracking_ids and len(found.tracking_ids) == 3
    assert found.details["burst_id"] == burst.id and found.instance_id == instance.id
    assert "removal_burst" not in _ids(diagnose(hub, other_org.org_id))

    hub.bursts.restore(org.org_id, burst.id, Locator("https://hub.test", org.org_id), actor=ADMIN)
    assert "removal_burst" not in _ids(diagnose(hub, org.org_id))


def test_held_removals_are_a_finding_until_decided(hub: Hub, org: OrgClient) -> None:
    instance = pull_instance(hub, org.org_id, limit=1)
    ids = [
        org.post("/Users", {"schemas": [USER], "userName": f"h{i}-{uuid.uuid4().hex[:4]}"}).json()[
            "id"
        ]
        for i in range(2)
    ]
    hub.brake.note(instance, [Noted(f"o{i}", "User", i, Action.DEACTIVATE) for i in ids])
    assert hub.brake.settle(instance, Locator("https://hub.test", org.org_id)).held == 2

    (found,) = [f for f in diagnose(hub, org.org_id).findings if f.id == "removals_held"]
    assert found.title == "2 removals from Fabrikam are held"
    assert "threshold 1 per 60 minutes" in found.evidence[0]
    assert found.links[0].url == f"/console/deletions?instance={instance.id}"
    hub.brake.discard(org.org_id, instance.id, actor=ADMIN)
    assert "removals_held" not in _ids(diagnose(hub, org.org_id))
