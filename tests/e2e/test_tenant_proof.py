"""The tenant an organisation connects is proven by a signed ID token, never taken from
the redirect: attacks by an admin of another organisation, against a live emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from scimhub.api.integration import CONSENT_CALLBACK
from scimhub.api.services import Hub as HubServices
from scimhub.config import Settings
from tests.e2e.conftest import scimhub
from tests.e2e.entra import (
    INTEGRATION_APP_ID,
    Emulator,
    Hub,
    accept_consent,
    connect,
    run_emulator,
    run_hub,
)


def _world(tmp_path: Path, settings: Settings, **env: str) -> Iterator[tuple[Emulator, Hub]]:
    with (
        run_emulator(tmp_path / "emu") as emu,
        run_hub(tmp_path / "hub", emu, settings.database_url, **env) as hub,
    ):
        yield emu, hub


@pytest.fixture
def world(tmp_path: Path, settings: Settings) -> Iterator[tuple[Emulator, Hub]]:
    yield from _world(tmp_path, settings)


def _other_org(hub: Hub, name: str = "Mallory Inc") -> tuple[str, httpx.Client]:
    """A second organisation on the same hub, with its own admin (the attacker)."""
    org_id = json.loads(scimhub("org", "create", "--name", name, "--json", env=hub.env))["id"]
    token = json.loads(
        scimhub("token", "create", "--org", org_id, "--admin", "--json", env=hub.env)
    )["token"]
    return org_id, httpx.Client(
        base_url=f"{hub.url}/extIntegration/azureAD/{org_id}/v1",
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
        timeout=60,
    )


def _callback(hub: Hub, **params: str) -> httpx.Response:
    return httpx.get(
        f"{hub.url}{CONSENT_CALLBACK}",
        params=params,
        trust_env=False,
        headers={"Accept": "application/json"},
        timeout=60,
    )


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["message"][0]["code"])


def _audit(hub: Hub, org_id: str, action: str) -> list[str]:
    services = HubServices.open(Settings.from_env(hub.env))
    try:
        return [e.action for e in services.audit.events(org_id, action=action)[0]]
    finally:
        services.close()


def test_a_forged_consent_callback_connects_nothing(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu)  # the victim's organisation connects its tenant
    _, attacker = _other_org(hub)
    with attacker:
        for forged in (
            {"admin_consent": "True", "tenant": emu.tenant["id"]},
            {"code": "made-up", "session_state": "x"},
        ):
            url = attacker.post("/setup", json={"tenant": "common", "mode": "pull"}).json()[
                "consentUrl"
            ]
            state = parse_qs(urlsplit(url).query)["state"][0]
            r = _callback(hub, state=state, **forged)
            assert r.status_code in (400, 401), r.text
            assert _code(r) in ("701050", "701062")
        assert attacker.get("/status").json()["instances"] == []


def test_setup_refuses_tenants_that_are_not_ids_or_domains(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    with hub.api() as api:
        for tenant in ("../../../v1.0/users", "a" * 3000, "x?y", "contoso..com", "-bad.com"):
            r = api.post("/setup", json={"tenant": tenant, "mode": "pull"})
            assert r.status_code == 400 and _code(r) == "701050", tenant
        for tenant in (emu.tenant["domain"], emu.tenant["id"], "common", ""):
            assert api.post("/setup", json={"tenant": tenant}).status_code == 200, tenant


def test_a_tenant_feeds_one_organisation(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu)
    other, api = _other_org(hub)
    with api:
        url = api.post("/setup", json={"tenant": "common"}).json()["consentUrl"]
    # Even a genuine admin of the tenant cannot feed it to a second organisation.
    r = httpx.get(
        accept_consent(emu, url),
        headers={"Accept": "application/json"},
        trust_env=False,
        timeout=60,
    )
    assert r.status_code == 409 and _code(r) == "701053"
    assert "another organization" in r.json()["error"]["message"][0]["description"]
    refused = "Azure AD tenant refused: connected to another organization"
    assert _audit(hub, other, refused) and _audit(hub, hub.org_id, refused)


def test_the_operator_may_share_a_tenant(tmp_path: Path, settings: Settings) -> None:
    with (
        run_emulator(tmp_path / "emu") as emu,
        run_hub(
            tmp_path / "hub",
            emu,
            settings.database_url,
            SCIMHUB_ENTRA_SHARED_TENANTS=emu.tenant["id"],
        ) as hub,
    ):
        connect(hub, emu, mode="pull")
        _, api = _other_org(hub)
        with api:
            url = api.post("/setup", json={"tenant": emu.tenant["id"], "mode": "pull"}).json()[
                "consentUrl"
            ]
            r = httpx.get(
                accept_consent(emu, url),
                headers={"Accept": "application/json"},
                trust_env=False,
                timeout=60,
            )
            assert r.status_code == 200, r.text
            assert [i["tenantId"] for i in api.get("/status").json()["instances"]] == [
                emu.tenant["id"]
            ]


def test_turning_sync_off_does_not_depend_on_entra(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu)
    emu.cli("sp", "delete", "--tenant", emu.tenant["id"], "--app-id", INTEGRATION_APP_ID)
    with hub.api() as api:
        r = api.post("/allowSync", json={"enabled": False})
        assert r.status_code == 200, r.text
        assert r.json()["allowSync"] is False
        assert [w["code"] for w in r.json()["warnings"]] == ["701018"]
        status = api.get("/status")  # live status still fails: Entra refuses the app
        assert status.status_code == 401
