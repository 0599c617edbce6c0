"""Entra sets an attribute the organisation has not defined: each write is a clear 400,
the provisioning log keeps which attribute and whose write, and the troubleshooter makes
one finding of them per attribute, gone once the attribute is defined."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from scimhub.api.services import Hub
from scimhub.diagnose import diagnose, explain_tracking_id
from scimhub.diagnose.report import Finding
from scimhub.scim.custom import Definition
from scimhub.store.engine import event_time
from scimhub.store.tables import scim_requests
from tests.conftest import OrgClient

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
COST_CENTER = f"{URN}:costCenter"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _user(upn: str, **extra: Any) -> dict[str, Any]:
    """As Entra POSTs a user whose mappings include the custom attribute."""
    return {
        "schemas": [CORE, ENTERPRISE, URN],
        "externalId": upn.split("@")[0],
        "userName": upn,
        "active": True,
        "displayName": upn.split("@")[0].title(),
        ENTERPRISE: {"department": "Engineering"},
        **extra,
    }


def _refused(r: Any) -> str:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["scimType"] == "invalidValue"
    assert f"attribute '{COST_CENTER}' is not defined" in body["detail"]
    assert "Organization Settings > User attributes" in body["detail"]
    return str(r.headers["TrackingID"])


def _entra_pushes(org: OrgClient) -> list[str]:
    """Three users: two new ones POSTed with the attribute (nested under its URN, and as a
    URN-prefixed key), retried; one that exists, PATCHed with the attribute's path (both
    dialects' op spellings). Returns the tracking ids of the refusals."""
    tids = []
    for _ in range(2):  # Entra retries escrowed users: still three users
        tids.append(
            _refused(org.post("/Users", _user("ann@contoso.com", **{URN: {"costCenter": "CC1"}})))
        )
        tids.append(_refused(org.post("/Users", _user("bob@contoso.com", **{COST_CENTER: "CC2"}))))
    made = org.post("/Users", _user("cat@contoso.com"))
    assert made.status_code == 201, made.text
    uid = made.json()["id"]
    for op in ("Add", "replace"):
        patch = {
            "schemas": [PATCH],
            "Operations": [{"op": op, "path": COST_CENTER, "value": "CC3"}],
        }
        tids.append(_refused(org.patch(f"/Users/{uid}", patch)))
    pathless = {
        "schemas": [PATCH],
        "Operations": [{"op": "Replace", "value": {URN: {"costCenter": "CC3"}}}],
    }
    tids.append(_refused(org.patch(f"/Users/{uid}", pathless)))
    return tids


def _undefined(hub: Hub, org_id: str) -> list[Finding]:
    return [f for f in diagnose(hub, org_id).findings if f.id == "undefined_attribute"]


def test_refusals_become_one_finding_per_attribute(
    hub: Hub, org: OrgClient, other_org: OrgClient
) -> None:
    tids = _entra_pushes(org)
    [found] = _undefined(hub, org.org_id)
    assert found.title == (
        "Entra maps 3 users' attribute costCenter, which this organisation has not defined"
    )
    assert found.details["attribute"] == COST_CENTER
    assert found.details["subjects"] == 3
    assert found.details["requests"] == len(tids)
    assert set(found.details["someSubjects"]) == {
        "ann@contoso.com",
        "bob@contoso.com",
        "cat@contoso.com",
    }
    assert found.tracking_ids and set(found.tracking_ids) <= set(tids)
    assert found.tracking_ids[0] == tids[-1]  # newest first
    assert found.fix is None  # no automatic repair: the type is the admin's to choose
    [step] = found.steps
    assert "Define costCenter in Organization Settings > User attributes" in step
    assert (
        f"scimhub attribute add --org {org.org_id} --resource User --schema {URN} "
        "--name costCenter --type string" in step
    )
    assert "restart provisioning" in step
    assert any("cat@contoso.com" in line for line in found.evidence)
    # The same refusals are not reported again as generic invalid values.
    assert "invalid_attribute_values" not in {f.id for f in diagnose(hub, org.org_id).findings}

    # Another organisation's diagnosis knows nothing of them.
    _refused(other_org.post("/Users", _user("dan@contoso.com", **{COST_CENTER: "X"})))
    [theirs] = _undefined(hub, other_org.org_id)
    assert theirs.details["subjects"] == 1 and theirs.details["someSubjects"] == ["dan@contoso.com"]
    assert not set(theirs.tracking_ids) & set(tids)

    # A tracking id of one refusal is explained as this mode.
    explained = explain_tracking_id(hub, org.org_id, tids[0]).explanation
    assert explained is not None and explained.id == "undefined_attribute"
    assert COST_CENTER in explained.explanation and "ann@contoso.com" in explained.explanation

    # Defined: the finding goes (for this organisation only), and the writes succeed.
    hub.attributes.add(org.org_id, Definition("User", URN, "costCenter"))
    assert _undefined(hub, org.org_id) == []
    assert len(_undefined(hub, other_org.org_id)) == 1
    assert (
        org.post("/Users", _user("ann@contoso.com", **{URN: {"costCenter": "CC1"}})).status_code
        == 201
    )


def test_two_attributes_are_two_findings(hub: Hub, org: OrgClient) -> None:
    _refused(org.post("/Users", _user("ann@contoso.com", **{COST_CENTER: "CC1"})))
    r = org.post("/Users", _user("bob@contoso.com", **{URN: {"badge": "B1"}}))
    assert r.status_code == 400 and f"'{URN}:badge'" in r.json()["detail"]
    titles = sorted(f.title for f in _undefined(hub, org.org_id))
    assert titles == [
        "Entra maps 1 user's attribute badge, which this organisation has not defined",
        "Entra maps 1 user's attribute costCenter, which this organisation has not defined",
    ]


def test_names_differing_only_in_case_are_one_user_and_one_attribute(
    hub: Hub, org: OrgClient
) -> None:
    _refused(org.post("/Users", _user("Ann@Contoso.com", **{COST_CENTER: "CC1"})))
    r = org.post("/Users", _user("ann@contoso.com", **{f"{URN}:costcenter": "CC1"}))
    assert r.status_code == 400 and r.json()["scimType"] == "invalidValue"
    [found] = _undefined(hub, org.org_id)
    assert found.details["subjects"] == 1 and found.details["requests"] == 2
    assert found.title.startswith("Entra maps 1 user's attribute")


def test_bulk_operations_refused_for_it_count_too(hub: Hub, org: OrgClient) -> None:
    ops = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": f"b{i}",
            "data": _user(upn, **{COST_CENTER: "C"}),
        }
        for i, upn in enumerate(["ann@contoso.com", "bob@contoso.com"])
    ]
    ops.append(
        {"method": "POST", "path": "/Users", "bulkId": "ok", "data": _user("cat@contoso.com")}
    )
    r = org.post(
        "/Bulk",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops},
    )
    assert r.status_code == 200, r.text
    statuses = [o["status"] for o in r.json()["Operations"]]
    assert statuses == ["400", "400", "201"]
    [found] = _undefined(hub, org.org_id)
    assert found.details["subjects"] == 2 and found.details["requests"] == 2
    assert set(found.details["someSubjects"]) == {"ann@contoso.com", "bob@contoso.com"}
    assert found.tracking_ids == [r.headers["TrackingID"]] * 2


def test_refusals_older_than_the_window_are_history(hub: Hub, org: OrgClient) -> None:
    tid = _refused(org.post("/Users", _user("ann@contoso.com", **{COST_CENTER: "CC1"})))
    assert len(_undefined(hub, org.org_id)) == 1
    hub.requests.flush()
    t = scim_requests
    with hub.db.write() as conn:
        conn.execute(
            t.update().where(t.c.tracking_id == tid).values(time=event_time() - timedelta(hours=25))
        )
    assert _undefined(hub, org.org_id) == []


def test_reads_naming_an_undefined_attribute_are_no_refused_provisioning(
    hub: Hub, org: OrgClient
) -> None:
    r = org.get("/Users", params={"filter": f'{COST_CENTER} eq "CC1"'})
    assert r.status_code == 400
    assert _undefined(hub, org.org_id) == []
