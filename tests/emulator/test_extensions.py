"""Directory extension attributes: extensionProperties on applications, users carrying
`extension_<appId>_<name>` (Graph PATCH, $select, delta), and the provisioning job mapping
one to a custom SCIM attribute, pushed in POST and PATCH as Entra sends it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from scimhub.emulator.apps import find_app, instantiate_template
from scimhub.emulator.constants import (
    GRAPH_APP_ROLES,
    INTEGRATION_APP_ID,
    PROVISIONING_TEMPLATE_ID,
)
from scimhub.emulator.db import new_id, now_iso
from scimhub.emulator.directory import DirectoryError
from scimhub.emulator.extensions import add_property, update_user_with_extensions
from scimhub.emulator.schema import grants

from .conftest import EmulatorHandle, TargetHandle
from .test_graph import _error
from .test_provisioning import by_name, setup_job, wait_for

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


def _provisioning_app(g: httpx.Client) -> dict[str, Any]:
    made = g.post(
        f"/v1.0/applicationTemplates/{PROVISIONING_TEMPLATE_ID}/instantiate",
        json={"displayName": "scimhub Identity"},
    )
    assert made.status_code == 201, made.text
    return dict(made.json()["application"])


def _grant(emulator: EmulatorHandle, t: dict[str, Any], role: str) -> None:
    with emulator.emu.engine.begin() as conn:
        conn.execute(
            grants.insert().values(
                id=new_id(),
                tenant_id=t["id"],
                sp_id=t["sp_id"],
                resource_app_id="00000003-0000-0000-c000-000000000000",
                app_role_id=GRAPH_APP_ROLES.get(role, new_id()),
                role_value=role,
                created_at=now_iso(),
            )
        )


def test_extension_properties_on_an_owned_application(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    with emulator.graph(t["id"]) as g:
        app = _provisioning_app(g)
        path = f"/v1.0/applications/{app['id']}/extensionProperties"
        made = g.post(
            path, json={"name": "costCenter", "dataType": "String", "targetObjects": ["User"]}
        )
        assert made.status_code == 201, made.text
        prop = made.json()
        name = f"extension_{app['appId'].replace('-', '')}_costCenter"
        assert prop["name"] == name
        assert prop["dataType"] == "String" and prop["isMultiValued"] is False
        assert prop["targetObjects"] == ["User"]
        # by appId too, as Graph's alternate key allows
        listed = g.get(f"/v1.0/applications(appId='{app['appId']}')/extensionProperties")
        assert [p["name"] for p in listed.json()["value"]] == [name]
        assert g.get(f"{path}/{prop['id']}").json()["id"] == prop["id"]

        bad = {"name": "x", "dataType": "Text", "targetObjects": ["User"]}
        assert "dataType" in _error(g.post(path, json=bad), 400, "Request_BadRequest")["message"]
        bad = {"name": "1x", "dataType": "String", "targetObjects": ["User"]}
        _error(g.post(path, json=bad), 400, "Request_BadRequest")
        bad = {"name": "x", "dataType": "String", "targetObjects": ["Dog"]}
        _error(g.post(path, json=bad), 400, "Request_BadRequest")
        again = {"name": "costCenter", "dataType": "Integer", "targetObjects": ["User"]}
        _error(g.post(path, json=again), 400, "Request_BadRequest")
        _error(
            g.get(f"/v1.0/applications/{new_id()}/extensionProperties"),
            404,
            "Request_ResourceNotFound",
        )

        # an app the caller does not own: readable with its roles, not writable
        with emulator.emu.engine.begin() as conn:
            other, _ = instantiate_template(conn, t["id"], PROVISIONING_TEMPLATE_ID, "Other", None)
        other_path = f"/v1.0/applications/{other.id}/extensionProperties"
        assert g.get(other_path).json()["value"] == []
        _error(
            g.post(other_path, json={**again, "name": "badge"}), 403, "Authorization_RequestDenied"
        )

        assert g.delete(f"{path}/{prop['id']}").status_code == 204
        assert g.get(path).json()["value"] == []
        _error(g.delete(f"{path}/{prop['id']}"), 404, "Request_ResourceNotFound")

    # another tenant cannot see the application at all
    other_tenant = emulator.new_tenant()
    with emulator.graph(other_tenant["id"]) as g2:
        _error(g2.get(path), 404, "Request_ResourceNotFound")


def test_users_carry_extension_values(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(users=2)
    _grant(emulator, t, "User.ReadWrite.All")
    with emulator.graph(t["id"]) as g:
        app = _provisioning_app(g)
        path = f"/v1.0/applications/{app['id']}/extensionProperties"
        name = g.post(
            path, json={"name": "costCenter", "dataType": "String", "targetObjects": ["User"]}
        ).json()["name"]
        badge = g.post(
            path, json={"name": "badge", "dataType": "Integer", "targetObjects": ["User"]}
        ).json()["name"]
        uid = t["users"][0]
        first = g.get("/v1.0/users/delta", params={"$select": f"displayName,{name}"}).json()
        assert all(name not in u for u in first["value"])  # unset values are left out

        r = g.patch(f"/v1.0/users/{uid}", json={name: "CC-1", badge: 7, "jobTitle": "Lead"})
        assert r.status_code == 204, r.text
        one = g.get(f"/v1.0/users/{uid}", params={"$select": f"id,{name},{badge},jobTitle"})
        assert one.json()[name] == "CC-1" and one.json()[badge] == 7
        assert one.json()["jobTitle"] == "Lead"
        assert name not in g.get(f"/v1.0/users/{uid}").json()  # only when selected
        # $select names them case-insensitively, answered under the registered name
        listed = g.get("/v1.0/users", params={"$select": f"id,{name.upper()}"}).json()["value"]
        assert {u["id"]: u.get(name) for u in listed} == {uid: "CC-1", t["users"][1]: None}

        changes = g.get(first["@odata.deltaLink"]).json()["value"]
        assert changes == [{"id": uid, "displayName": "User 0", name: "CC-1"}]

        _error(g.patch(f"/v1.0/users/{uid}", json={badge: "seven"}), 400, "Request_BadRequest")
        _error(g.patch(f"/v1.0/users/{uid}", json={badge: 2**31}), 400, "Request_BadRequest")
        _error(g.patch(f"/v1.0/users/{uid}", json={name: ["a"]}), 400, "Request_BadRequest")
        unknown = f"extension_{app['appId'].replace('-', '')}_nope"
        _error(g.patch(f"/v1.0/users/{uid}", json={unknown: "x"}), 400, "Request_BadRequest")
        _error(g.patch(f"/v1.0/users/{uid}", json={"shoeSize": 9}), 400, "Request_BadRequest")
        _error(g.get("/v1.0/users", params={"$select": unknown}), 400, "Request_BadRequest")
        assert g.patch(f"/v1.0/users/{uid}", json={name: None}).status_code == 204
        assert name not in g.get(f"/v1.0/users/{uid}", params={"$select": name}).json()

    # writing users needs a write role: the integration app reads them only
    reader = emulator.new_tenant()
    with emulator.graph(reader["id"]) as g:
        _error(
            g.patch(f"/v1.0/users/{reader['users'][0]}", json={"jobTitle": "x"}),
            403,
            "Authorization_RequestDenied",
        )


def _map_extension(g: httpx.Client, path: str, source: str, target: str) -> int:
    schema = g.get(f"{path}/schema").json()
    users = schema["synchronizationRules"][0]["objectMappings"][0]
    users["attributeMappings"].append(
        {
            "defaultValue": None,
            "flowType": "Always",
            "matchingPriority": 0,
            "targetAttributeName": target,
            "source": {"expression": f"[{source}]", "name": source, "type": "Attribute"},
        }
    )
    return g.put(f"{path}/schema", json=schema).status_code


def test_provisioning_pushes_a_mapped_extension(
    emulator: EmulatorHandle, scim_target: TargetHandle
) -> None:
    t = emulator.new_tenant()
    g, path = setup_job(emulator, t, scim_target, start=False)
    app_id = g.get(path.split("/synchronization")[0]).json()["appId"]
    name = f"extension_{app_id.replace('-', '')}_costCenter"
    # mapping a property no application registered is refused, as the schema editor does
    assert _map_extension(g, path, name, f"{CUSTOM}:costCenter") == 400
    made = g.post(
        f"/v1.0/applications(appId='{app_id}')/extensionProperties",
        json={"name": "costCenter", "dataType": "String", "targetObjects": ["User"]},
    )
    assert made.status_code == 201, made.text
    with emulator.emu.engine.begin() as conn:
        update_user_with_extensions(conn, t["id"], t["users"][0], {name: "CC-1"})
    assert _map_extension(g, path, name, f"{CUSTOM}:costCenter") == 204
    assert g.post(f"{path}/start").status_code == 204

    target = scim_target.target
    u0 = wait_for(lambda: by_name(scim_target, f"u0@{t['domain']}"))
    post = next(
        r.body for r in target.of("POST", "/scim/v2/Users") if r.body["userName"] == u0["userName"]
    )
    assert post[CUSTOM] == {"costCenter": "CC-1"} and CUSTOM in post["schemas"]
    u1 = wait_for(lambda: by_name(scim_target, f"u1@{t['domain']}"))
    assert CUSTOM not in next(
        r.body for r in target.of("POST", "/scim/v2/Users") if r.body["userName"] == u1["userName"]
    )  # no value, nothing sent: Entra never sends nulls
    wait_for(lambda: g.get(path).json()["status"]["lastExecution"])

    target.clear()
    with emulator.emu.engine.begin() as conn:
        update_user_with_extensions(conn, t["id"], t["users"][0], {name: "CC-2"})
    wait_for(lambda: target.of("PATCH", "/scim/v2/Users"))
    [patch] = target.of("PATCH", "/scim/v2/Users")
    assert patch.path == f"/scim/v2/Users/{u0['id']}"
    assert patch.body["Operations"] == [
        {"op": "Replace", "path": f"{CUSTOM}:costCenter", "value": "CC-2"}
    ]
    g.close()


def test_a_multi_tenant_apps_extensions_reach_the_tenants_that_consented(
    emulator: EmulatorHandle,
) -> None:
    consented, other = emulator.new_tenant(), emulator.new_tenant(consent=False)
    with emulator.emu.engine.begin() as conn:
        app = find_app(conn, INTEGRATION_APP_ID)
        assert app is not None
        body = {"name": f"n{new_id()[:8]}", "dataType": "Boolean", "targetObjects": ["User"]}
        name = add_property(conn, app, body).name
        update_user_with_extensions(conn, consented["id"], consented["users"][0], {name: True})
    with pytest.raises(DirectoryError, match="does not exist"), emulator.emu.engine.begin() as conn:
        update_user_with_extensions(conn, other["id"], other["users"][0], {name: True})
    with emulator.graph(consented["id"]) as g:
        one = g.get(f"/v1.0/users/{consented['users'][0]}", params={"$select": name}).json()
        assert one[name] is True
