"""The deletion brake in pull mode, against the live emulator: an Entra admin removes 1,000
users at once; the round applies its other changes and holds the removals; the console's
status shows them; an object that comes back drops out of the list; approving applies the
rest as the admin's change; a later small removal applies at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scimhub.config import Settings
from tests.e2e.conftest import scimhub
from tests.e2e.entra import Emulator, Hub, connect, run_emulator, run_hub

ACTIVE = {"filter": "active eq true", "count": "0"}


@pytest.fixture
def world(tmp_path: Path, settings: Settings) -> Iterator[tuple[Emulator, Hub]]:
    with (
        run_emulator(tmp_path / "emu", users=1100, groups=2) as emu,
        run_hub(tmp_path / "hub", emu, settings.database_url) as hub,
    ):
        yield emu, hub


def _active(hub: Hub, scim: httpx.Client) -> int:
    r = scim.get(f"/identity/scim/{hub.org_id}/v2/Users", params=ACTIVE)
    return int(r.json()["totalResults"])


def _round(api: httpx.Client, instance_id: str) -> dict[str, Any]:
    r = api.post(f"/instances/{instance_id}/syncNow")
    assert r.status_code == 200, r.text
    pull: dict[str, Any] = r.json()["pull"]
    return pull


def test_a_mass_removal_is_held_until_approved(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    tenant = ["--tenant", emu.tenant["id"]]
    connect(hub, emu, mode="pull", scope="all")
    listed = json.loads(emu.cli("users", "list", *tenant, "--top", "5000"))
    upns = sorted(u["userPrincipalName"] for u in listed)
    enabled = {u["userPrincipalName"] for u in listed if u["accountEnabled"]}
    token = json.loads(scimhub("token", "create", "--org", hub.org_id, "--json", env=hub.env))[
        "token"
    ]
    scim = httpx.Client(
        base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, trust_env=False
    )
    with hub.api() as api, scim:
        instance = api.get("/status").json()["instances"][0]["id"]
        first = _round(api, instance)
        assert first["users_created"] == len(upns) >= 1100
        everyone = _active(hub, scim)

        # The wrong group unassigned: 1,000 users soft-deleted at once, plus ordinary work.
        leaving, staying = upns[:1000], upns[1000:]
        emu.cli("users", "delete", *leaving, *tenant)
        emu.cli("users", "update", staying[0], *tenant, "--department", "Legal")
        second = _round(api, instance)
        assert second["removals_held"] == 1000
        assert second["users_deactivated"] == second["users_deleted"] == 0
        assert second["users_updated"] == 1  # other changes go on
        assert _active(hub, scim) == everyone

        status = api.get("/status").json()["instances"][0]
        assert status["deletionsHeld"] == 1000
        held = api.get(f"/instances/{instance}/heldRemovals", params={"limit": "5"}).json()
        assert held["total"] == 1000 and len(held["removals"]) == 5
        assert {r["action"] for r in held["removals"]} == {"deactivate"}
        assert held["removals"][0]["name"] in leaving
        assert held["threshold"] == {
            "enabled": True,
            "count": 500,
            "percent": 20,
            "windowMinutes": 60,
        }
        # A round with nothing new keeps them held; one user restored in Entra comes back.
        emu.cli("users", "restore", leaving[0], *tenant)
        third = _round(api, instance)
        assert third["removals_held"] == 0 and third["users_deactivated"] == 0
        assert api.get("/status").json()["instances"][0]["deletionsHeld"] == 999

        approved = api.post(f"/instances/{instance}/heldRemovals/approve")
        assert approved.status_code == 200, approved.text
        assert approved.json()["approved"] == 999
        deactivated = len(enabled.intersection(leaving[1:]))  # the seed disables a few
        assert _active(hub, scim) == everyone - deactivated
        assert api.get("/status").json()["instances"][0]["deletionsHeld"] == 0

        # Approved removals do not count toward the window: a small one applies at once.
        small = [u for u in staying[1:] if u in enabled][:3]
        emu.cli("users", "delete", *small, *tenant)
        fourth = _round(api, instance)
        assert fourth["users_deactivated"] == 3 and fourth["removals_held"] == 0
        assert _active(hub, scim) == everyone - deactivated - 3
