"""A scope or mapping change previewed, then made, against the live emulator: the preview's
numbers are what the next cycle does (Entra's provisioning log of that cycle for push, the
round's counts for pull), and the preview writes nothing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from scimhub.config import Settings
from scimhub.integrations.entra.mappings import DEFAULT_MAPPINGS
from tests.e2e.entra import (
    INTEGRATION_APP_ID,
    Emulator,
    Hub,
    connect,
    run_emulator,
    run_hub,
    wait_for,
)

USERS, GROUPS = 30, 3


@pytest.fixture
def world(tmp_path: Path, settings: Settings) -> Iterator[tuple[Emulator, Hub]]:
    with (
        run_emulator(tmp_path / "emu", users=USERS, groups=GROUPS) as emu,
        run_hub(tmp_path / "hub", emu, settings.database_url) as hub,
    ):
        yield emu, hub


def _job(emu: Emulator) -> dict[str, Any]:
    [job] = json.loads(emu.cli("jobs", "list", "--tenant", emu.tenant["id"]))
    return dict(job)


def _cycle_after(emu: Emulator, moment: datetime) -> str:
    """The id of the first cycle that began after `moment`, once it has ended."""

    def ended() -> str | None:
        run = _job(emu)["status"].get("lastExecution") or {}
        began = run.get("timeBegan")
        return run["activityIdentifier"] if began and _at(began) > moment else None

    return str(wait_for(ended, timeout=60))


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _actions(emu: Emulator, cycle_id: str) -> Counter[tuple[str, str]]:
    """What one cycle did: (object type, action) for each logged change."""
    log = json.loads(emu.cli("provisioning-log", "--tenant", emu.tenant["id"], "--top", "1000"))
    return Counter(
        (e["sourceIdentity"]["identityType"], e["provisioningAction"])
        for e in log
        if e["cycleId"] == cycle_id and e["provisioningStatusInfo"]["status"] == "success"
    )


def _settled(hub: Hub, emu: Emulator) -> None:
    """The initial cycle has provisioned everything and a later cycle found nothing to do."""
    groups = len(_groups(emu))
    wait_for(lambda: hub.scim_count("Groups") == groups and hub.scim_count("Users") >= USERS)
    _cycle_after(emu, datetime.now(UTC))


def _groups(emu: Emulator) -> list[dict[str, Any]]:
    return list(json.loads(emu.cli("groups", "list", "--tenant", emu.tenant["id"])))


def _preview(api: httpx.Client, iid: str, change: dict[str, Any]) -> dict[str, Any]:
    r = api.post(f"/instances/{iid}/preview", json=change)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_push_scope_change_preview_matches_the_cycle(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu, scope="all")
    _settled(hub, emu)
    groups = _groups(emu)
    kept = groups[0]["displayName"]
    sps = json.loads(emu.cli("sp", "list", "--tenant", emu.tenant["id"]))
    [app_id] = [sp["appId"] for sp in sps if sp["appId"] != INTEGRATION_APP_ID]
    emu.cli("assign", kept, "--tenant", emu.tenant["id"], "--app-id", app_id)

    with hub.api() as api:
        iid = api.get("/status").json()["instances"][0]["id"]
        users_before, groups_before = hub.scim_count("Users"), hub.scim_count("Groups")
        seen = _preview(api, iid, {"scope": "assigned"})
        # nothing written: the hub and the saved scope are as they were
        assert api.get(f"/instances/{iid}/scope").json()["scope"] == "all"
        assert hub.scim_count("Groups") == groups_before
        assert seen["examined"]["users"] == users_before
        assert seen["examined"]["groups"] == len(groups) == groups_before
        assert seen["scopeChanged"] is True and seen["mappingsChanged"] is False
        assert seen["groups"]["delete"] == len(groups) - 1
        assert seen["users"]["deactivate"] > 0
        assert seen["users"]["create"] == seen["users"]["update"] == 0
        assert len(seen["users"]["samples"]["deactivate"]) == min(5, seen["users"]["deactivate"])
        assert seen["removals"] == seen["users"]["deactivate"] + seen["groups"]["delete"]
        # 20% of a small organisation's active users is under the floor of 10 removals
        assert seen["threshold"]["limit"] == 10 < seen["removals"]
        assert seen["threshold"]["crosses"] is True

        changed = datetime.now(UTC)
        assert api.put(f"/instances/{iid}/scope", json={"scope": "assigned"}).status_code == 200
    did = _actions(emu, _cycle_after(emu, changed))
    assert did[("User", "disable")] == seen["users"]["deactivate"]
    assert did[("Group", "delete")] == seen["groups"]["delete"]
    assert did[("User", "create")] == seen["users"]["create"]
    assert did[("User", "update")] == seen["users"]["update"]
    assert hub.scim_count("Groups") == 1


def test_push_mapping_change_preview_names_the_attributes(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu, scope="all")
    _settled(hub, emu)
    # jobTitle no longer feeds title: every user with a title would lose it
    chosen = [m for m in DEFAULT_MAPPINGS if m["source"] != "jobTitle"]
    chosen.append({"source": "department", "target": "nickName"})
    with hub.api() as api:
        iid = api.get("/status").json()["instances"][0]["id"]
        seen = _preview(api, iid, {"mappings": chosen})
        assert seen["mappingsChanged"] is True
        updated = seen["users"]["update"]
        assert updated > 0 and set(seen["users"]["attributes"]) <= {"title", "nickName"}
        assert seen["users"]["attributes"]["nickName"] > 0
        assert seen["removals"] == 0
        sample = seen["users"]["samples"]["update"][0]
        assert sample["name"] and set(sample["attributes"]) <= {"title", "nickName"}

        changed = datetime.now(UTC)
        assert api.put(f"/instances/{iid}/mappings", json={"mappings": chosen}).status_code == 200
    did = _actions(emu, _cycle_after(emu, changed))
    assert did[("User", "update")] == updated
    assert did[("User", "create")] == did[("User", "disable")] == 0


def test_pull_mapping_change_preview_matches_the_round(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    tenant = ["--tenant", emu.tenant["id"]]
    connect(hub, emu, mode="pull", scope="all")
    with hub.api() as api:
        iid = api.get("/status").json()["instances"][0]["id"]
        first = api.post(f"/instances/{iid}/syncNow").json()["pull"]
        assert first["users_created"] >= USERS
        listed = json.loads(emu.cli("users", "list", *tenant, "--top", "500"))
        upns = sorted(u["userPrincipalName"] for u in listed if u["accountEnabled"])
        emu.cli("users", "delete", upns[0], upns[1], *tenant)  # gone while nothing syncs
        emu.cli("users", "add", *tenant, "--upn", f"late@{emu.tenant['domain']}")

        chosen = [m for m in DEFAULT_MAPPINGS if m["source"] != "jobTitle"]
        seen = _preview(api, iid, {"mappings": chosen})
        assert seen["users"]["deactivate"] == 2
        assert {s["name"] for s in seen["users"]["samples"]["deactivate"]} == set(upns[:2])
        assert seen["users"]["create"] == 1
        assert seen["examined"]["users"] == first["users_created"] - 2 + 1

        assert api.put(f"/instances/{iid}/mappings", json={"mappings": chosen}).status_code == 200
        round_ = api.post(f"/instances/{iid}/syncNow").json()["pull"]
    assert round_["users_created"] == seen["users"]["create"]
    assert round_["users_updated"] == seen["users"]["update"]
    assert round_["users_unchanged"] == seen["users"]["unchanged"]
    assert round_["users_deactivated"] == seen["users"]["deactivate"]
    assert round_["groups_created"] == seen["groups"]["create"] == 0
    assert round_["groups_deleted"] == seen["groups"]["delete"] == 0


def test_preview_refuses_a_bad_change(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu, mode="pull", scope="all")
    with hub.api() as api:
        iid = api.get("/status").json()["instances"][0]["id"]
        bodies: list[object] = [{"scope": "everyone"}, {"mappings": []}, [1, 2]]
        for body in bodies:
            r = api.post(f"/instances/{iid}/preview", json=body)
            assert r.status_code == 400, r.text
            assert r.json()["error"]["message"][0]["code"] == "701050"
            assert r.json()["trackingId"]
        missing = api.post("/instances/not-an-instance/preview", json={})
        assert missing.status_code == 404
