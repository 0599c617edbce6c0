"""Graph v1.0: auth failures, lists, $filter/$select/$top paging, delta, service
principals, audit logs, fault knobs, and bad input answered in Graph's error shape."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from scimhub.emulator import faults
from scimhub.emulator.constants import INTEGRATION_APP_ID, PROVISIONING_TEMPLATE_ID
from scimhub.emulator.directory import (
    add_member,
    add_user,
    delete_user,
    remove_member,
    update_user,
)
from scimhub.emulator.schema import grants

from .conftest import EmulatorHandle


def _error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code
    assert set(err["innerError"]) == {"date", "request-id", "client-request-id"}
    return dict(err)


def test_missing_and_invalid_tokens_get_401(emulator: EmulatorHandle) -> None:
    with emulator.client() as c:
        err = _error(
            c.get("/v1.0/users", headers={"client-request-id": "cr-1"}),
            401,
            "InvalidAuthenticationToken",
        )
        assert err["innerError"]["client-request-id"] == "cr-1"
        _error(
            c.get("/v1.0/users", headers={"Authorization": "Bearer garbage"}),
            401,
            "InvalidAuthenticationToken",
        )


def test_token_of_a_deleted_service_principal_stops_working(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    with emulator.graph(t["id"]) as g:
        assert g.get("/v1.0/users").status_code == 200
        sps = g.get(
            "/v1.0/servicePrincipals", params={"$filter": f"appId eq '{INTEGRATION_APP_ID}'"}
        ).json()["value"]
        assert [s["id"] for s in sps] == [t["sp_id"]]
        with emulator.emu.engine.begin() as conn:
            from scimhub.emulator.apps import delete_sp

            delete_sp(conn, t["id"], t["sp_id"], t["admin"])
        _error(g.get("/v1.0/users"), 401, "InvalidAuthenticationToken")


def test_missing_role_gets_403(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    with emulator.emu.engine.begin() as conn:
        conn.execute(
            grants.delete().where(
                grants.c.sp_id == t["sp_id"], grants.c.role_value == "AuditLog.Read.All"
            )
        )
    with emulator.graph(t["id"]) as g:
        _error(g.get("/v1.0/auditLogs/directoryAudits"), 403, "Authorization_RequestDenied")


def test_users_filter_select_and_paging(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(users=7)
    with emulator.graph(t["id"]) as g:
        r = g.get("/v1.0/users", params={"$top": "3", "$select": "id,userPrincipalName"})
        page = r.json()
        assert len(page["value"]) == 3 and set(page["value"][0]) == {"id", "userPrincipalName"}
        seen = [u["id"] for u in page["value"]]
        while "@odata.nextLink" in page:
            page = g.get(page["@odata.nextLink"]).json()
            seen += [u["id"] for u in page["value"]]
        assert sorted(seen) == sorted(t["users"])
        upn = f"U3@{t['domain'].upper()}"  # Graph compares case-insensitively
        found = g.get("/v1.0/users", params={"$filter": f"userPrincipalName eq '{upn}'"}).json()
        assert [u["id"] for u in found["value"]] == [t["users"][3]]
        both = g.get(
            "/v1.0/users",
            params={"$filter": "startswith(displayName,'User') and department eq 'Sales'"},
        ).json()
        assert len(both["value"]) == 7
        one = g.get(f"/v1.0/users/u1@{t['domain']}").json()
        assert one["id"] == t["users"][1] and "department" not in one  # default $select
        members = g.get(f"/v1.0/groups/{t['group']}/members").json()["value"]
        assert sorted(m["id"] for m in members) == sorted(t["users"][:2])
        assert members[0]["@odata.type"] == "#microsoft.graph.user"


def test_users_delta_rounds(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(users=5)
    with emulator.graph(t["id"]) as g:
        page = g.get("/v1.0/users/delta", params={"$top": "2", "$select": "displayName"}).json()
        ids = [u["id"] for u in page["value"]]
        while "@odata.nextLink" in page:
            assert "@odata.deltaLink" not in page
            page = g.get(page["@odata.nextLink"]).json()
            ids += [u["id"] for u in page["value"]]
        assert sorted(ids) == sorted(t["users"])
        delta_link = page["@odata.deltaLink"]
        assert "%24select=displayName" in delta_link
        assert g.get(delta_link).json()["value"] == []
        with emulator.emu.engine.begin() as conn:
            update_user(conn, t["id"], t["users"][0], {"displayName": "Renamed"})
            delete_user(conn, t["id"], t["users"][1])
            delete_user(conn, t["id"], t["users"][2], hard=True)
            new_id = add_user(conn, t["id"], {"userPrincipalName": f"new@{t['domain']}"})
        changes = g.get(delta_link).json()
        by_id = {u["id"]: u for u in changes["value"]}
        while "@odata.nextLink" in changes:  # $top=2 carries over into the next round
            changes = g.get(changes["@odata.nextLink"]).json()
            by_id.update({u["id"]: u for u in changes["value"]})
        assert by_id[t["users"][0]]["displayName"] == "Renamed"
        assert by_id[t["users"][1]]["@removed"] == {"reason": "changed"}
        assert by_id[t["users"][2]]["@removed"] == {"reason": "deleted"}
        assert new_id in by_id and len(by_id) == 4
        assert g.get(changes["@odata.deltaLink"]).json()["value"] == []
        groups = g.get("/v1.0/groups/delta").json()
        assert groups["value"][0]["displayName"] == "Team"
        assert "@odata.deltaLink" in groups


def test_groups_delta_reports_member_changes_not_the_whole_list(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(users=4)  # group "Team" holds users 0 and 1
    with emulator.graph(t["id"]) as g:
        first = g.get("/v1.0/groups/delta").json()
        assert {m["id"] for m in first["value"][0]["members@delta"]} == set(t["users"][:2])
        with emulator.emu.engine.begin() as conn:
            remove_member(conn, t["id"], t["group"], t["users"][0])
            add_member(conn, t["id"], t["group"], t["users"][3])
        changed = g.get(first["@odata.deltaLink"]).json()
        members = {m["id"]: m for m in changed["value"][0]["members@delta"]}
        assert members == {
            t["users"][0]: {
                "@odata.type": "#microsoft.graph.user",
                "id": t["users"][0],
                "@removed": {"reason": "deleted"},
            },
            t["users"][3]: {"@odata.type": "#microsoft.graph.user", "id": t["users"][3]},
        }


def test_service_principal_delete_writes_the_audit_record(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    with emulator.graph(t["id"]) as g:
        made = g.post(
            f"/v1.0/applicationTemplates/{PROVISIONING_TEMPLATE_ID}/instantiate",
            json={"displayName": "scimhub Identity"},
        )
        assert made.status_code == 201
        sp_id = made.json()["servicePrincipal"]["id"]
        assert g.delete(f"/v1.0/servicePrincipals/{sp_id}").status_code == 204
        _error(g.get(f"/v1.0/servicePrincipals/{sp_id}"), 404, "Request_ResourceNotFound")
        # Application.ReadWrite.OwnedBy: someone else's SP (its own) cannot be deleted.
        _error(
            g.delete(f"/v1.0/servicePrincipals/{t['sp_id']}"), 403, "Authorization_RequestDenied"
        )
        audits = g.get(
            "/v1.0/auditLogs/directoryAudits",
            params={
                "$filter": "activityDisplayName eq 'Remove service principal' and "
                "category eq 'ApplicationManagement'"
            },
        ).json()["value"]
    assert len(audits) == 1
    record = audits[0]
    assert record["loggedByService"] == "Core Directory"
    assert record["result"] == "success"
    assert record["initiatedBy"]["app"]["appId"] == INTEGRATION_APP_ID
    assert record["targetResources"][0]["id"] == sp_id


def test_audit_paging_and_date_filter(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    with emulator.graph(t["id"]) as g:
        page = g.get("/v1.0/auditLogs/directoryAudits", params={"$top": "2"}).json()
        total = len(page["value"])
        while "@odata.nextLink" in page:
            page = g.get(page["@odata.nextLink"]).json()
            total += len(page["value"])
        assert total == 7  # SP + 5 role grants + consent
        later = g.get(
            "/v1.0/auditLogs/directoryAudits",
            params={"$filter": "activityDateTime ge 2999-01-01T00:00:00Z"},
        ).json()
        assert later["value"] == []


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/v1.0/users", {"$filter": "userPrincipalName eq"}, "BadRequest"),
        ("/v1.0/users", {"$filter": "nosuch eq 'x'"}, "Request_UnsupportedQuery"),
        ("/v1.0/users", {"$filter": "(displayName eq 'a'"}, "BadRequest"),
        ("/v1.0/users", {"$top": "0"}, "Request_UnsupportedQuery"),
        ("/v1.0/users", {"$select": "password"}, "Request_BadRequest"),
        ("/v1.0/users", {"$skiptoken": "%%%"}, "Request_BadRequest"),
        ("/v1.0/users/delta", {"$deltatoken": "e30"}, "Request_BadRequest"),
        ("/v1.0/nothing/here", {}, "Request_ResourceNotFound"),
    ],
)
def test_bad_queries_get_graph_errors(
    emulator: EmulatorHandle, path: str, params: dict[str, str], code: str
) -> None:
    t = emulator.new_tenant()
    with emulator.graph(t["id"]) as g:
        r = g.get(path, params=params)
    assert r.status_code in (400, 404)
    assert r.json()["error"]["code"] == code


def test_bad_json_body_is_a_400(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    with emulator.graph(t["id"]) as g:
        r = g.post(
            f"/v1.0/applicationTemplates/{PROVISIONING_TEMPLATE_ID}/instantiate",
            content=b"{not json",
        )
        _error(r, 400, "BadRequest")
        r = g.post(
            f"/v1.0/applicationTemplates/{PROVISIONING_TEMPLATE_ID}/instantiate", json=[1, 2]
        )
        _error(r, 400, "BadRequest")


def test_fault_knobs_throttle_then_fail_at_a_rate(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    with emulator.graph(t["id"]) as g:
        with emulator.emu.engine.begin() as conn:
            faults.set_fault(conn, t["id"], throttle_remaining=2, retry_after=7)
        for _ in range(2):
            r = g.get("/v1.0/users")
            _error(r, 429, "TooManyRequests")
            assert r.headers["Retry-After"] == "7"
        assert g.get("/v1.0/users").status_code == 200
        with emulator.client() as admin:
            r = admin.put(
                "/_emulator/faults",
                json={"scope": t["id"], "error_rate": 0.25, "error_status": 503},
            )
            assert r.status_code == 200
            statuses = [g.get("/v1.0/users").status_code for _ in range(8)]
            assert statuses == [200, 200, 200, 503] * 2
            admin.put("/_emulator/faults", json={"scope": t["id"], "clear": True})
            assert admin.put("/_emulator/faults", json={"bogus": 1}).status_code == 400
        assert g.get("/v1.0/users").status_code == 200


def test_tenant_html_view(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    with emulator.client() as c:
        page = c.get(f"/_emulator/tenants/{t['id']}")
        assert page.status_code == 200
        assert "Enterprise applications" in page.text
        assert "scimhub Identity Integration" in page.text
        assert "Consent to application" in page.text
        assert t["id"] in c.get("/_emulator/tenants").text
        assert c.get("/_emulator/tenants/nope").status_code == 404


def test_organization_names_the_default_domain(emulator: EmulatorHandle) -> None:
    tenant = emulator.new_tenant()
    with emulator.graph(tenant["id"]) as c:
        r = c.get("/v1.0/organization")
    assert r.status_code == 200, r.text
    org = r.json()["value"][0]
    assert org["id"] == tenant["id"]
    assert [d["name"] for d in org["verifiedDomains"] if d["isDefault"]] == [tenant["domain"]]
