"""A burst of removals pushed by Entra, against the live emulator: an Entra admin
soft-deletes 20 of the assigned users; the job disables them in the hub (the hub cannot
refuse it); the next status check finds the burst past the instance's threshold; the admin
restores it in one request and the users are active again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scimhub.api.services import Hub as Services
from scimhub.asgi import background_work
from scimhub.config import Settings
from tests.e2e.conftest import scimhub
from tests.e2e.entra import Emulator, Hub, connect, run_emulator, run_hub, wait_for


@pytest.fixture
def world(tmp_path: Path, settings: Settings) -> Iterator[tuple[Emulator, Hub, Services]]:
    with (
        run_emulator(tmp_path / "emu", users=40, groups=1) as emu,
        run_hub(tmp_path / "hub", emu, settings.database_url) as hub,
    ):
        services = Services.open(Settings.from_env(hub.env))
        try:
            yield emu, hub, services
        finally:
            services.close()


def test_a_pushed_burst_is_found_and_restored(world: tuple[Emulator, Hub, Services]) -> None:
    emu, hub, services = world
    connect(hub, emu, scope="all")
    listed = json.loads(emu.cli("users", "list", "--tenant", emu.tenant["id"], "--top", "500"))
    enabled = sorted(u["userPrincipalName"] for u in listed if u["accountEnabled"])
    token = json.loads(scimhub("token", "create", "--org", hub.org_id, "--json", env=hub.env))
    scim = httpx.Client(
        base_url=f"{hub.url}/identity/scim/{hub.org_id}/v2",
        headers={"Authorization": f"Bearer {token['token']}"},
        trust_env=False,
    )

    def active() -> int:
        r = scim.get("/Users", params={"filter": "active eq true", "count": "0"})
        return int(r.json()["totalResults"])

    with hub.api() as api, scim:
        wait_for(lambda: active() == len(enabled), timeout=60)
        instance = api.get("/status").json()["instances"][0]["id"]
        r = api.put(
            f"/instances/{instance}/deletionThreshold",
            json={"threshold": {"count": 10, "percent": None}},
        )
        assert r.status_code == 200, r.text
        work = background_work(services)
        work.check(hub.org_id, instance)  # the scan starts here
        assert api.get("/removalBursts").json()["bursts"] == []

        leaving = enabled[:20]
        emu.cli("users", "delete", *leaving, "--tenant", emu.tenant["id"])
        wait_for(lambda: active() == len(enabled) - 20, timeout=60)  # the job disabled them
        work.check(hub.org_id, instance)
        (burst,) = api.get("/removalBursts", params={"state": "open"}).json()["bursts"]
        assert burst["removals"] == 20 and burst["instanceId"] == instance
        assert burst["source"]["kind"] == "scim" and burst["trackingIds"]

        done = api.post(f"/removalBursts/{burst['id']}/restore")
        assert done.status_code == 200, done.text
        assert done.json()["restored"]["usersReactivated"] == 20
        assert active() == len(enabled)
        assert api.get("/removalBursts", params={"state": "open"}).json()["bursts"] == []
