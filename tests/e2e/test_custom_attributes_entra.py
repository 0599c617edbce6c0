"""An organisation's own attribute fed by an Entra directory extension, through the live
emulator: pushed by Entra's provisioning job (POST, then PATCH on a change) and pulled
from Graph delta; filterable in the hub either way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scimhub.api.services import Hub as Services
from scimhub.config import Settings
from scimhub.scim.custom import AttributeType, Definition
from tests.e2e.conftest import scimhub
from tests.e2e.entra import (
    INTEGRATION_APP_ID,
    Emulator,
    Hub,
    connect,
    run_emulator,
    run_hub,
    wait_for,
)

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
COST_CENTER = f"{CUSTOM}:costCenter"


@pytest.fixture
def world(tmp_path: Path, settings: Settings) -> Iterator[tuple[Emulator, Hub]]:
    with (
        run_emulator(tmp_path / "emu", users=3, groups=1) as emu,
        run_hub(
            tmp_path / "hub", emu, settings.database_url, SCIMHUB_SCHEMA_CACHE_SECONDS="0"
        ) as hub,
    ):
        services = Services.open(Settings.from_env(hub.env))
        try:  # what the admin defines in the console (Organization Settings > User attributes)
            services.attributes.add(hub.org_id, Definition("User", CUSTOM, "costCenter"))
            services.attributes.add(
                hub.org_id, Definition("User", CUSTOM, "badge", AttributeType.INTEGER)
            )
        finally:
            services.close()
        yield emu, hub


def scim(hub: Hub) -> httpx.Client:
    token = json.loads(scimhub("token", "create", "--org", hub.org_id, "--json", env=hub.env))
    return httpx.Client(
        base_url=f"{hub.url}/identity/scim/{hub.org_id}/v2",
        headers={"Authorization": f"Bearer {token['token']}"},
        trust_env=False,
        timeout=30,
    )


def with_cost_center(client: httpx.Client, value: str) -> list[dict[str, Any]]:
    r = client.get("/Users", params={"filter": f'{COST_CENTER} eq "{value}"'})
    assert r.status_code == 200, r.text
    return list(r.json()["Resources"])


def first_upn(emu: Emulator) -> str:
    users = json.loads(emu.cli("users", "list", "--tenant", emu.tenant["id"]))
    return str(sorted(u["userPrincipalName"] for u in users)[0])


def register(emu: Emulator, app_id: str, name: str, *type_: str) -> str:
    """The Entra admin adds a directory extension on an app; its name on users."""
    made = json.loads(
        emu.cli("apps", "extension", "add", "--app-id", app_id, "--name", name, *type_)
    )
    return str(made["name"])


def set_value(emu: Emulator, upn: str, name: str, value: str) -> None:
    emu.cli("users", "update", upn, "--tenant", emu.tenant["id"], "--ext", f"{name}={value}")


def test_pushed_by_entra_filtered_and_patched(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu, scope="all")
    assert wait_for(lambda: hub.scim_count("Users") >= 3)
    sps = json.loads(emu.cli("sp", "list", "--tenant", emu.tenant["id"]))
    [app_id] = [sp["appId"] for sp in sps if sp["appId"] != INTEGRATION_APP_ID]
    extension = register(emu, app_id, "costCenter")
    upn = first_upn(emu)
    set_value(emu, upn, extension, "CC-7")

    with hub.api() as api:
        iid = api.get("/status").json()["instances"][0]["id"]
        editor = api.get(f"/instances/{iid}/mappings").json()
        offered = {t["target"]: t for t in editor["targets"]}
        assert offered[COST_CENTER]["custom"] is True and offered[COST_CENTER]["type"] == "string"
        assert "userName" in offered and f"{CUSTOM}:badge" in offered
        # the tenant's directory extensions are offered as sources
        sources = api.get(f"/instances/{iid}/mappingSources").json()["sources"]
        by_name = {s["source"]: s for s in sources}
        assert by_name[extension]["extension"] is True
        assert by_name[extension]["type"] == "String"
        assert by_name["userPrincipalName"]["extension"] is False
        chosen = [*editor["mappings"], {"source": extension, "target": COST_CENTER}]
        saved = api.put(f"/instances/{iid}/mappings", json={"mappings": chosen})
        assert saved.status_code == 200, saved.text

    with scim(hub) as client:
        # the mapping change restarts the job: the matched user is PATCHed with the value
        [user] = wait_for(lambda: with_cost_center(client, "CC-7"))
        assert user["userName"] == upn and user[CUSTOM] == {"costCenter": "CC-7"}
        assert CUSTOM in user["schemas"]
        # a new Entra user arrives in the POST, the value under the extension's URN
        newcomer = f"newcomer@{emu.tenant['domain']}"
        emu.cli(
            "users",
            "add",
            "--tenant",
            emu.tenant["id"],
            "--upn",
            newcomer,
            "--ext",
            f"{extension}=CC-9",
        )
        [created] = wait_for(lambda: with_cost_center(client, "CC-9"))
        assert created["userName"] == newcomer
        # a change in Entra is a PATCH of that one attribute
        set_value(emu, upn, extension, "CC-8")
        [patched] = wait_for(lambda: with_cost_center(client, "CC-8"))
        assert patched["id"] == user["id"] and not with_cost_center(client, "CC-7")
    log = json.loads(emu.cli("provisioning-log", "--tenant", emu.tenant["id"], "--top", "50"))
    changed = [
        (e["provisioningAction"], e["provisioningStatusInfo"]["status"], p)
        for e in log
        for p in e.get("modifiedProperties", [])
        if p["displayName"] == COST_CENTER
    ]
    assert (
        "create",
        "success",
        {"displayName": COST_CENTER, "oldValue": None, "newValue": "CC-9"},
    ) in changed
    assert (
        "update",
        "success",
        {"displayName": COST_CENTER, "oldValue": "CC-7", "newValue": "CC-8"},
    ) in changed


def test_pulled_from_graph_then_updated_through_delta(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu, mode="pull", scope="all")
    # a multi-tenant app's extension reaches every tenant that consented to it
    extension = register(emu, INTEGRATION_APP_ID, "costCenter")
    badge = register(emu, INTEGRATION_APP_ID, "badge", "--type", "Integer")
    users = json.loads(emu.cli("users", "list", "--tenant", emu.tenant["id"]))
    upns = sorted(u["userPrincipalName"] for u in users)
    set_value(emu, upns[0], extension, "CC-1")
    set_value(emu, upns[0], badge, "42")
    with hub.api() as api:
        iid = api.get("/status").json()["instances"][0]["id"]
        mappings = api.get(f"/instances/{iid}/mappings").json()["mappings"]
        chosen = [
            *mappings,
            {"source": extension, "target": COST_CENTER},
            {"source": badge, "target": f"{CUSTOM}:badge"},
        ]
        assert api.put(f"/instances/{iid}/mappings", json={"mappings": chosen}).status_code == 200
        first = api.post(f"/instances/{iid}/syncNow").json()["pull"]
    assert first["users_created"] == len(users) and first["skipped"] == 0
    with scim(hub) as client:
        [user] = with_cost_center(client, "CC-1")
        assert user["userName"] == upns[0] and user[CUSTOM] == {"costCenter": "CC-1", "badge": 42}
        set_value(emu, upns[0], extension, "CC-2")
        second = next(
            iter(json.loads(scimhub("sync", "--org", hub.org_id, "--json", env=hub.env)).values())
        )
        assert second["users_updated"] == 1 and second["users_created"] == 0
        [updated] = with_cost_center(client, "CC-2")
        assert updated["id"] == user["id"]

        # a mapping added later is read from scratch (the saved deltaLink's $select lacks
        # it); a value the org's attribute refuses (text for the integer badge) skips its
        # user, as a SCIM write of it would be refused, and the others still sync
        code = register(emu, INTEGRATION_APP_ID, "badgeCode")
        set_value(emu, upns[1], code, "B-12")
        with hub.api() as api:
            rebadged = [m for m in chosen if m["source"] != badge]
            rebadged.append({"source": code, "target": f"{CUSTOM}:badge"})
            saved = api.put(f"/instances/{iid}/mappings", json={"mappings": rebadged})
            assert saved.status_code == 200
            third = api.post(f"/instances/{iid}/syncNow").json()["pull"]
        assert third["skipped"] == 1 and third["users_created"] == 0
        assert third["users_updated"] == 1  # upns[0]: its badge is no longer mapped
        assert client.get(f"/Users/{updated['id']}").json()[CUSTOM] == {"costCenter": "CC-2"}
