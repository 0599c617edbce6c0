"""The provisioning service against a recording SCIM target: exact request shapes of
both PATCH dialects, watermark, disable/delete lifecycle, escrow, quarantine."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from scimhub.emulator.apps import delete_sp
from scimhub.emulator.constants import PROVISIONING_TEMPLATE_ID, SYNC_TEMPLATE_ID
from scimhub.emulator.directory import assign, delete_user, remove_member, update_user

from .conftest import EmulatorHandle, TargetHandle

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def setup_job(
    emulator: EmulatorHandle,
    t: dict[str, Any],
    target: TargetHandle,
    *,
    flag: bool = False,
    start: bool = True,
) -> tuple[httpx.Client, str]:
    g = emulator.graph(t["id"])
    made = g.post(
        f"/v1.0/applicationTemplates/{PROVISIONING_TEMPLATE_ID}/instantiate",
        json={"displayName": "scimhub Identity"},
    )
    sp_id = made.json()["servicePrincipal"]["id"]
    templates = g.get(f"/v1.0/servicePrincipals/{sp_id}/synchronization/templates").json()
    assert templates["value"][0]["id"] == SYNC_TEMPLATE_ID
    job = g.post(
        f"/v1.0/servicePrincipals/{sp_id}/synchronization/jobs",
        json={"templateId": SYNC_TEMPLATE_ID},
    ).json()
    assert job["status"]["code"] == "NotConfigured"
    assert job["schedule"]["state"] == "Disabled"
    base = target.url + ("?aadOptscim062020" if flag else "")
    r = g.put(
        f"/v1.0/servicePrincipals/{sp_id}/synchronization/secrets",
        json={
            "value": [
                {"key": "BaseAddress", "value": base},
                {"key": "SecretToken", "value": "secret-token"},
                {"key": "SyncAll", "value": "false"},
            ]
        },
    )
    assert r.status_code == 204
    with emulator.emu.engine.begin() as conn:
        assign(conn, t["id"], sp_id, t["group"])  # u0, u1 via the group
        assign(conn, t["id"], sp_id, t["users"][2])  # u2 directly
    path = f"/v1.0/servicePrincipals/{sp_id}/synchronization/jobs/{job['id']}"
    if start:
        assert g.post(f"{path}/start").status_code == 204
    return g, path


def status(g: httpx.Client, path: str) -> dict[str, Any]:
    return dict(g.get(path).json()["status"])


def by_name(target: TargetHandle, name: str) -> dict[str, Any] | None:
    return next((u for u in target.target.users.values() if u["userName"] == name), None)


def test_initial_then_incremental_default_dialect(
    emulator: EmulatorHandle, scim_target: TargetHandle
) -> None:
    t = emulator.new_tenant(users=4)  # u3 is not assigned: never provisioned
    g, path = setup_job(emulator, t, scim_target)
    target = scim_target.target
    group = wait_for(
        lambda: next((x for x in target.groups.values() if len(x.get("members", [])) == 2), None)
    )
    assert len(target.users) == 3
    u0 = by_name(scim_target, f"u0@{t['domain']}")
    assert u0 is not None

    lookup = target.of("GET", "/scim/v2/Users")[0]
    assert lookup.query["filter"].startswith('userName eq "u')
    assert lookup.auth == "Bearer secret-token"
    post = next(
        r.body
        for r in target.of("POST", "/scim/v2/Users")
        if r.body["userName"] == f"u0@{t['domain']}"
    )
    assert post == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "meta": {"resourceType": "User"},
        "userName": f"u0@{t['domain']}",
        "active": True,
        "displayName": "User 0",
        "emails": [{"type": "work", "primary": True, "value": f"u0@{t['domain']}"}],
        "name": {"givenName": "Given0", "familyName": "Sur0"},
        "externalId": "u0",
        ENTERPRISE: {"department": "Sales"},
    }
    group_lookup = target.of("GET", "/scim/v2/Groups")[0]
    assert group_lookup.query == {
        "filter": 'displayName eq "Team"',
        "excludedAttributes": "members",
    }
    group_post = target.of("POST", "/scim/v2/Groups")[0].body
    assert group_post["members"] == []
    assert group_post["schemas"] == [
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
    ]
    add = target.of("PATCH", "/scim/v2/Groups")[0].body
    assert add["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]
    assert add["Operations"][0]["op"] == "Add" and add["Operations"][0]["path"] == "members"
    assert sorted(v["value"] for v in add["Operations"][0]["value"]) == sorted(
        m["value"] for m in group["members"]
    )

    st = wait_for(lambda: (s := status(g, path))["lastExecution"] and s)
    assert st["code"] == "Active"
    assert st["lastExecution"]["state"] == "Succeeded"
    assert st["steadyStateFirstAchievedTime"] != "0001-01-01T00:00:00Z"
    assert {e["key"]: e["value"] for e in st["synchronizedEntryCountByType"]} == {
        "urn:ietf:params:scim:schemas:core:2.0:User": 3,
        "urn:ietf:params:scim:schemas:core:2.0:Group": 1,
    }
    job_id = path.rsplit("/", 1)[1]
    entries = g.get(
        "/v1.0/auditLogs/provisioning",
        params={"$filter": f"jobId eq '{job_id}' and provisioningAction eq 'create'"},
    ).json()["value"]
    assert len(entries) == 4
    assert entries[0]["provisioningStatusInfo"] == {"status": "success", "errorInformation": None}
    assert {s["provisioningStepType"] for s in entries[0]["provisioningSteps"]} >= {
        "import",
        "scoping",
        "matching",
        "export",
    }

    # Incremental: only changes since the watermark are sent.
    target.clear()
    u1 = by_name(scim_target, f"u1@{t['domain']}")
    u2 = by_name(scim_target, f"u2@{t['domain']}")
    assert u1 and u2
    with emulator.emu.engine.begin() as conn:
        update_user(conn, t["id"], t["users"][0], {"displayName": "Zero"})
        update_user(conn, t["id"], t["users"][1], {"accountEnabled": False})
        delete_user(conn, t["id"], t["users"][2], hard=True)
        # u1 leaves the assigned group: out of scope, so disabled (and off the group).
        remove_member(conn, t["id"], t["group"], t["users"][1])
    wait_for(lambda: target.of("DELETE") and len(target.of("PATCH")) >= 3)
    wait_for(lambda: len(group.get("members", [])) == 1)
    patches = {r.path: r.body["Operations"] for r in target.of("PATCH")}
    assert patches[f"/scim/v2/Users/{u0['id']}"] == [
        {"op": "Replace", "path": "displayName", "value": "Zero"}
    ]
    assert patches[f"/scim/v2/Users/{u1['id']}"] == [
        {"op": "Replace", "path": "active", "value": "False"}
    ]
    assert patches[f"/scim/v2/Groups/{group['id']}"] == [
        {"op": "Remove", "path": "members", "value": [{"value": u1["id"]}]}
    ]
    assert [r.path for r in target.of("DELETE")] == [f"/scim/v2/Users/{u2['id']}"]
    assert not target.of("POST") and not target.of("GET")  # nothing unchanged re-sent
    g.close()


def test_scim2020_dialect(emulator: EmulatorHandle, scim_target: TargetHandle) -> None:
    t = emulator.new_tenant()
    g, _ = setup_job(emulator, t, scim_target, flag=True)
    target = scim_target.target
    group = wait_for(
        lambda: next((x for x in target.groups.values() if len(x.get("members", [])) == 2), None)
    )
    assert all(
        not r.path.endswith("?aadOptscim062020") and "aadOptscim062020" not in r.query
        for r in target.requests
    )
    add = target.of("PATCH", "/scim/v2/Groups")[0].body["Operations"][0]
    assert add["op"] == "add" and add["path"] == "members"
    target.clear()
    u1 = by_name(scim_target, f"u1@{t['domain']}")
    assert u1
    with emulator.emu.engine.begin() as conn:
        update_user(
            conn,
            t["id"],
            t["users"][0],
            {"surname": "Nova", "department": "Legal", "accountEnabled": False},
        )
        remove_member(conn, t["id"], t["group"], t["users"][1])
    wait_for(lambda: len(group.get("members", [])) == 1 and target.of("PATCH", "/scim/v2/Users"))
    wait_for(lambda: len(target.of("PATCH", "/scim/v2/Users")) == 2)
    patches = {r.path: r.body["Operations"] for r in target.of("PATCH")}
    u0 = by_name(scim_target, f"u0@{t['domain']}")
    assert u0
    assert patches[f"/scim/v2/Users/{u0['id']}"] == [
        {
            "op": "replace",
            "value": {
                "active": False,
                "name.familyName": "Nova",
                f"{ENTERPRISE}:department": "Legal",
            },
        }
    ]
    assert patches[f"/scim/v2/Users/{u1['id']}"] == [{"op": "replace", "value": {"active": False}}]
    assert patches[f"/scim/v2/Groups/{group['id']}"] == [
        {"op": "remove", "path": f'members[value eq "{u1["id"]}"]'}
    ]
    g.close()


def test_quarantine_on_401_and_start_lifts_it(
    emulator: EmulatorHandle, scim_target: TargetHandle
) -> None:
    t = emulator.new_tenant()
    scim_target.target.unauthorized = True
    g, path = setup_job(emulator, t, scim_target)
    st = wait_for(lambda: (s := status(g, path))["code"] == "Quarantine" and s)
    q = st["quarantine"]
    assert q["reason"] == "EncounteredQuarantineException"
    assert q["seriesCount"] == 1 and q["nextAttempt"] > q["currentBegan"]
    assert q["error"]["code"] == "SystemForCrossDomainIdentityManagementUnauthorized"
    assert st["countSuccessiveCompleteFailures"] == 1
    assert st["lastExecution"]["state"] == "Failed"
    audits = g.get(
        "/v1.0/auditLogs/directoryAudits", params={"$filter": "activityDisplayName eq 'Quarantine'"}
    ).json()["value"]
    assert audits[0]["category"] == "ProvisioningManagement"
    scim_target.target.unauthorized = False
    assert g.post(f"{path}/start").status_code == 204
    st = wait_for(
        lambda: (
            (s := status(g, path))["code"] == "Active"
            and s["lastExecution"]["state"] == "Succeeded"
            and s
        )
    )
    assert st["quarantine"] is None
    assert len(scim_target.target.users) == 3
    g.close()


def test_escrow_then_retry(emulator: EmulatorHandle, scim_target: TargetHandle) -> None:
    t = emulator.new_tenant()
    failing = f"u1@{t['domain']}"
    scim_target.target.fail_names[failing] = 400
    g, path = setup_job(emulator, t, scim_target)
    st = wait_for(lambda: (s := status(g, path))["lastExecution"] and s)
    assert st["lastExecution"]["state"] == "EntryLevelErrors"
    assert st["lastExecution"]["countEscrowed"] == 1
    failure = g.get(
        "/v1.0/auditLogs/provisioning",
        params={"$filter": "provisioningStatusInfo/status eq 'failure'"},
    ).json()["value"][0]
    assert failure["sourceIdentity"]["displayName"] == failing
    info = failure["provisioningStatusInfo"]["errorInformation"]
    assert info["errorCode"] == "SystemForCrossDomainIdentityManagementBadResponse"
    assert "HTTP 400" in info["reason"]
    del scim_target.target.fail_names[failing]  # nothing changed in Entra: escrow retries
    wait_for(lambda: by_name(scim_target, failing))
    st = wait_for(lambda: (s := status(g, path))["lastExecution"]["countEscrowed"] == 0 and s)
    assert st["lastExecution"]["state"] == "Succeeded"
    g.close()


def test_deleting_the_integration_sp_does_not_stop_provisioning(
    emulator: EmulatorHandle, scim_target: TargetHandle
) -> None:
    t = emulator.new_tenant()
    g, _ = setup_job(emulator, t, scim_target)
    wait_for(lambda: len(scim_target.target.users) == 3)
    with emulator.emu.engine.begin() as conn:
        delete_sp(conn, t["id"], t["sp_id"], t["admin"])
        update_user(conn, t["id"], t["users"][0], {"displayName": "Still syncing"})
    wait_for(
        lambda: any(
            u.get("displayName") == "Still syncing" for u in scim_target.target.users.values()
        )
    )
    g.close()


def test_job_controls_and_bad_input(emulator: EmulatorHandle, scim_target: TargetHandle) -> None:
    t = emulator.new_tenant()
    g, path = setup_job(emulator, t, scim_target, start=False)
    assert (
        g.post(f"{path}/validateCredentials", json={"useSavedCredentials": True}).status_code == 204
    )
    bad = g.post(
        f"{path}/validateCredentials",
        json={
            "useSavedCredentials": True,
            "credentials": [{"key": "SecretToken", "value": "wrong"}],
        },
    )
    assert bad.status_code == 400 and "401" in bad.json()["error"]["message"]
    r = g.post(f"{path}/restart", json={"criteria": {"resetScope": "Everything"}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"
    assert g.put(f"{path}/schema", json={"synchronizationRules": "x"}).status_code == 400
    assert g.get(path.rsplit("/", 1)[0] + "/nope").status_code == 404
    subject = {
        "parameters": [
            {"subjects": [{"objectId": t["users"][0], "objectTypeName": "User"}], "ruleId": "x"}
        ]
    }
    first = g.post(f"{path}/provisionOnDemand", json=subject)
    assert first.status_code == 200
    assert '"provisioningAction":"create"' in first.json()["value"]
    codes = [g.post(f"{path}/provisionOnDemand", json=subject).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    assert g.post(f"{path}/provisionOnDemand", json={"parameters": []}).status_code == 400
    # A scoping filter: only Legal users; the schema change means a new initial cycle.
    schema = g.get(f"{path}/schema").json()
    users_rule = schema["synchronizationRules"][0]["objectMappings"][0]
    users_rule["scope"] = {
        "groups": [
            {
                "clauses": [
                    {
                        "operatorName": "EQUALS",
                        "sourceOperandName": "department",
                        "targetOperand": {"values": ["Legal"]},
                    }
                ]
            }
        ]
    }
    assert g.put(f"{path}/schema", json=schema).status_code == 204
    with emulator.emu.engine.begin() as conn:
        update_user(conn, t["id"], t["users"][2], {"department": "Legal"})
    assert g.post(f"{path}/start").status_code == 204
    wait_for(lambda: by_name(scim_target, f"u2@{t['domain']}"))
    u0 = by_name(scim_target, f"u0@{t['domain']}")  # created on demand, now out of scope
    wait_for(lambda: u0 is not None and u0.get("active") == "False")
    assert g.post(f"{path}/pause").status_code == 204
    assert status(g, path)["code"] == "Paused"
    assert g.delete(path).status_code == 204
    g.close()
