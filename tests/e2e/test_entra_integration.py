"""The Azure AD integration against a live Entra emulator: setup through admin consent,
job control, the seed story's 401 with its tracking id, and recovery from the saved
configuration (integration app deleted; provisioning app deleted too)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scimhub.config import Settings
from scimhub.config import Settings as HubSettings
from scimhub.directory.events import Events
from scimhub.store.engine import Database
from tests.e2e.conftest import scimhub
from tests.e2e.entra import (
    INTEGRATION_APP_ID,
    Emulator,
    Hub,
    accept_consent,
    connect,
    run_emulator,
    run_hub,
    wait_for,
)


@pytest.fixture
def world(tmp_path: Path, settings: Settings) -> Iterator[tuple[Emulator, Hub]]:
    (tmp_path / "emu").mkdir()
    database_url = ""
    if settings.database_url:  # a fresh database per world on PostgreSQL
        database_url = settings.database_url
    with run_emulator(tmp_path / "emu") as emu, run_hub(tmp_path / "hub", emu, database_url) as hub:
        yield emu, hub


def only_instance(hub: Hub) -> dict[str, Any]:
    with hub.api() as api:
        r = api.get("/status")
        assert r.status_code == 200, r.text
        instances = r.json()["instances"]
    assert len(instances) == 1
    return dict(instances[0])


def test_setup_provisions_users_and_job_is_active(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    assert connect(hub, emu, scope="all")["result"] == "connected"
    instance = wait_for(lambda: (i := only_instance(hub))["lastExecution"] and i)
    assert instance["jobStatus"] == "Active" and instance["autoSync"] is True
    assert instance["scope"] == "all"
    assert instance["mappings"][0] == {"source": "userPrincipalName", "target": "userName"}
    # Entra's provisioning job pushed the tenant's users into this org over SCIM
    assert wait_for(lambda: hub.scim_count("Users") >= 12)
    assert wait_for(lambda: hub.scim_count("Groups") >= 2)


def test_seed_story_sp_deleted_then_consent_and_allow_restores(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu, scope="all")
    before = wait_for(lambda: (i := only_instance(hub))["lastExecution"] and i)

    # An Entra admin deletes the integration app's enterprise application
    emu.cli("sp", "delete", "--tenant", emu.tenant["id"], "--app-id", INTEGRATION_APP_ID)
    with hub.api() as api:
        r = api.get("/status")
    assert r.status_code == 401
    body = r.json()
    tid = r.headers["TrackingID"]
    assert body["trackingId"] == tid
    assert body["error"]["key"] == "401"
    message = body["error"]["message"][0]
    assert message["code"] == "701018"
    assert message["description"].startswith("Request unauthorized. client-request-id: ")
    assert "AADSTS" not in r.text  # upstream details stay on the server
    # ... where the troubleshooter finds them by tracking id
    from scimhub.api.services import Hub as HubServices

    services = HubServices.open(HubSettings.from_env(hub.env))
    try:
        failures, _ = services.instances.failures(hub.org_id, tracking_id=tid)
    finally:
        services.close()
    assert failures[0].upstream_code == "AADSTS700016"
    assert failures[0].client_request_id in message["description"]

    # Entra's provisioning job belongs to the other app: it kept running meanwhile
    assert hub.scim_count("Users") >= 12

    # Admin consent recreates the service principal; "Allow Azure AD sync" restores
    emu.cli("consent", "--tenant", emu.tenant["id"], "--client-id", INTEGRATION_APP_ID)
    with hub.api() as api:
        restored = api.post("/allowSync", json={"enabled": True})
    assert restored.status_code == 200, restored.text
    restored_tid = restored.headers["TrackingID"]
    after = restored.json()["instances"][0]
    assert after["jobStatus"] == "Active" and after["autoSync"] is True
    assert after["id"] == before["id"]
    assert after["mappings"] == before["mappings"] and after["scope"] == "all"
    assert "Remove service principal" in emu.cli("audit", "--tenant", emu.tenant["id"])

    # Apps following the org's change events saw all of it: Entra's pushes (by the job's
    # token), the failure with the tracking id the admin was shown, and the restore.
    db = Database.connect(HubSettings.from_env(hub.env).effective_database_url)
    try:
        stream = Events(db).page(hub.org_id, after=None, limit=1000).events
    finally:
        db.dispose()
    pushed = [e for e in stream if e.type == "user.created"]
    assert len(pushed) >= 12
    assert {e.source["kind"] for e in pushed} == {"scim"}
    assert all(e.source["name"].startswith("Entra provisioning") for e in pushed)
    [failure] = [e for e in stream if e.type == "integration.error"]
    assert failure.data["tracking_id"] == tid and failure.data["code"] == "701018"
    assert failure.data["description"] == message["description"]
    assert failure.source["kind"] == "admin" and failure.source["tracking_id"] == tid
    [restore] = [e for e in stream if e.type == "integration.restored"]
    assert restore.data == {
        "instance_id": before["id"],
        "name": restore.data["name"],
        "restored": "configuration",
    }
    assert restore.source["kind"] == "entra" and restore.source["id"] == before["id"]
    assert restore.source["tracking_id"] == restored_tid


def test_reconsent_through_setup_restores_instead_of_duplicating(
    world: tuple[Emulator, Hub],
) -> None:
    emu, hub = world
    connect(hub, emu, scope="all")
    job_before = only_instance(hub)
    emu.cli("sp", "delete", "--tenant", emu.tenant["id"], "--app-id", INTEGRATION_APP_ID)
    connect(hub, emu)  # the wizard again: consent, callback
    job_after = only_instance(hub)
    assert job_after["id"] == job_before["id"]
    assert job_after["jobStatus"] == "Active"


def test_provisioning_app_deleted_too_is_recreated(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu, scope="all")
    wait_for(lambda: hub.scim_count("Users") >= 12)
    sps = emu.cli("sp", "list", "--tenant", emu.tenant["id"])
    assert "scimhub Identity" in sps
    with hub.api() as api:
        mapped = api.put(
            f"/instances/{only_instance(hub)['id']}/mappings",
            json={
                "mappings": [
                    {"source": "userPrincipalName", "target": "userName"},
                    {"source": "displayName", "target": "displayName"},
                ]
            },
        )
        assert mapped.status_code == 200, mapped.text
    from scimhub.api.services import Hub as HubServices

    services = HubServices.open(HubSettings.from_env(hub.env))
    try:
        saved = services.instances.list(hub.org_id)[0]
    finally:
        services.close()
    emu.cli(
        "sp", "delete", "--tenant", emu.tenant["id"], "--app-id", str(saved.provisioning_app_id)
    )
    emu.cli("sp", "delete", "--tenant", emu.tenant["id"], "--app-id", INTEGRATION_APP_ID)
    emu.cli("consent", "--tenant", emu.tenant["id"], "--client-id", INTEGRATION_APP_ID)
    with hub.api() as api:
        restored = api.post("/allowSync", json={"enabled": True})
        assert restored.status_code == 200, restored.text
        instance = restored.json()["instances"][0]
    assert instance["jobStatus"] in ("Active", "NotRun")
    assert instance["mappings"] == [
        {"source": "userPrincipalName", "target": "userName"},
        {"source": "displayName", "target": "displayName"},
    ]
    services = HubServices.open(HubSettings.from_env(hub.env))
    try:
        recreated = services.instances.list(hub.org_id)[0]
    finally:
        services.close()
    assert recreated.provisioning_app_id != saved.provisioning_app_id
    assert recreated.job_id != saved.job_id
    # the new job pushes with a fresh token; the old one was revoked
    assert recreated.scim_token_id != saved.scim_token_id
    db = Database.connect(HubSettings.from_env(hub.env).effective_database_url)
    try:
        stream = Events(db).page(
            hub.org_id, after=None, limit=1000, types=frozenset({"integration.restored"})
        )
    finally:
        db.dispose()
    assert [e.data["restored"] for e in stream.events] == ["app"]


def test_auto_sync_sync_now_scope_and_errors(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu, scope="all")
    iid = only_instance(hub)["id"]
    with hub.api() as api:
        paused = api.post(f"/instances/{iid}/autoSync", json={"enabled": False})
        assert paused.status_code == 200, paused.text
        assert paused.json()["jobStatus"] == "Paused" and paused.json()["autoSync"] is False
        resumed = api.post(f"/instances/{iid}/autoSync", json={"enabled": True})
        assert resumed.json()["autoSync"] is True
        assert api.post(f"/instances/{iid}/syncNow").status_code == 200
        scoped = api.put(f"/instances/{iid}/scope", json={"scope": "assigned"})
        assert scoped.status_code == 200 and scoped.json()["scope"] == "assigned"
        assert api.get(f"/instances/{iid}/scope").json()["scope"] == "assigned"
        bad = api.put(f"/instances/{iid}/scope", json={"scope": "everyone"})
        assert bad.status_code == 400 and bad.json()["error"]["message"][0]["code"] == "701050"
        missing = api.post("/instances/nope/syncNow")
        assert missing.status_code == 404
        assert missing.json()["error"]["message"][0]["code"] == "701040"
        bad_flag = api.post(f"/instances/{iid}/autoSync", json={"enabled": "yes"})
        assert bad_flag.status_code == 400


def test_throttling_and_outage(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu, scope="all")
    emu.cli("faults", "set", "--throttle", "5", "--retry-after", "120")
    with hub.api() as api:
        r = api.get("/status")
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "120"
        assert r.json()["error"]["message"][0]["code"] == "701029"
        emu.cli("faults", "clear")
        # a short Retry-After is waited out transparently
        emu.cli("faults", "set", "--throttle", "1", "--retry-after", "1")
        assert api.get("/status").status_code == 200
        # Graph down: 503 after the client's retries
        emu.cli("faults", "set", "--errors", "10", "--error-status", "503")
        down = api.get("/status")
        assert down.status_code == 503
        assert down.json()["error"]["message"][0]["code"] == "701030"


def test_admin_api_requires_admin_token(world: tuple[Emulator, Hub]) -> None:
    _, hub = world
    import httpx

    base = f"{hub.url}/extIntegration/azureAD/{hub.org_id}/v1"
    r = httpx.get(f"{base}/status", trust_env=False)
    assert r.status_code == 401
    assert r.json()["error"]["message"][0]["code"] == "701061"
    scim_token = json.loads(scimhub("token", "create", "--org", hub.org_id, "--json", env=hub.env))[
        "token"
    ]
    r = httpx.get(
        f"{base}/status", trust_env=False, headers={"Authorization": f"Bearer {scim_token}"}
    )
    assert r.status_code == 401


def test_consent_declined(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    import httpx

    with hub.api() as api:
        url = api.post("/setup", json={"tenant": "common"}).json()["consentUrl"]
    callback = accept_consent(emu, url, decision="cancel")
    r = httpx.get(callback, headers={"Accept": "application/json"}, trust_env=False)
    assert r.status_code == 400
    assert "access_denied" in r.json()["error"]["message"][0]["description"]
    # the state cannot be replayed
    again = httpx.get(callback, headers={"Accept": "application/json"}, trust_env=False)
    assert again.status_code == 400
