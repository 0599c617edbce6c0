"""Pull sync from Graph delta queries against the live emulator: initial round, increments
(update, disable, hard delete, new user), resume after a failure mid-round."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from scimhub.api.services import Hub as Services
from scimhub.config import Settings
from scimhub.directory.imports import Imports
from scimhub.directory.links import Links
from scimhub.integrations.entra.errors import IntegrationError
from scimhub.integrations.entra.pull import PullSync
from tests.e2e.conftest import scimhub
from tests.e2e.entra import (
    Emulator,
    Hub,
    connect,
    run_emulator,
    run_hub,
    run_workers,
    wait_for,
)


@pytest.fixture
def world(tmp_path: Path, settings: Settings) -> Iterator[tuple[Emulator, Hub]]:
    with (
        run_emulator(tmp_path / "emu", users=25, groups=3) as emu,
        run_hub(tmp_path / "hub", emu, settings.database_url) as hub,
    ):
        yield emu, hub


def test_pull_rounds(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu, mode="pull", scope="all")
    users = json.loads(emu.cli("users", "list", "--tenant", emu.tenant["id"]))
    groups = json.loads(emu.cli("groups", "list", "--tenant", emu.tenant["id"]))
    with hub.api() as api:
        instance = api.get("/status").json()["instances"][0]
        assert instance["mode"] == "pull" and instance["jobStatus"] == "PullSync"
        first = api.post(f"/instances/{instance['id']}/syncNow")
        assert first.status_code == 200, first.text
        counts = first.json()["pull"]
    assert counts["users_created"] == len(users) >= 25
    assert counts["groups_created"] == len(groups) >= 3
    assert hub.scim_count("Users") == len(users) and hub.scim_count("Groups") == len(groups)

    upns = sorted(u["userPrincipalName"] for u in users)
    emu.cli("users", "update", upns[0], "--tenant", emu.tenant["id"], "--department", "Legal")
    emu.cli("users", "disable", upns[1], "--tenant", emu.tenant["id"])
    emu.cli("users", "delete", upns[2], "--hard", "--tenant", emu.tenant["id"])
    emu.cli(
        "users",
        "add",
        "--tenant",
        emu.tenant["id"],
        "--upn",
        f"newcomer@{emu.tenant['domain']}",
        "--display-name",
        "New Comer",
    )

    out = json.loads(scimhub("sync", "--org", hub.org_id, "--json", env=hub.env))
    second = next(iter(out.values()))
    assert second["users_created"] == 1
    assert second["users_deleted"] == 1
    assert second["users_updated"] == 2  # the department change and accountEnabled=false
    assert hub.scim_count("Users") == len(users)
    import httpx

    token = json.loads(scimhub("token", "create", "--org", hub.org_id, "--json", env=hub.env))[
        "token"
    ]
    scim = httpx.Client(
        base_url=f"{hub.url}/identity/scim/{hub.org_id}/v2",
        trust_env=False,
        headers={"Authorization": f"Bearer {token}"},
    )
    disabled = scim.get("/Users", params={"filter": f'userName eq "{upns[1]}"'}).json()
    assert disabled["Resources"][0]["active"] is False
    moved = scim.get("/Users", params={"filter": f'userName eq "{upns[0]}"'}).json()
    assert (
        moved["Resources"][0]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"][
            "department"
        ]
        == "Legal"
    )
    assert (
        scim.get("/Users", params={"filter": f'userName eq "{upns[2]}"'}).json()["totalResults"]
        == 0
    )
    # membership changes travel as members@delta diffs (added, or @removed)
    group = next(g for g in scim.get("/Groups").json()["Resources"] if g.get("members"))
    member_ids = {m["value"] for m in group["members"]}
    leaving_id = sorted(member_ids)[0]
    leaving = scim.get(f"/Users/{leaving_id}").json()["userName"]
    joining_id, joining = next(
        (u["id"], u["userName"])
        for u in scim.get("/Users", params={"count": "200"}).json()["Resources"]
        if u["id"] not in member_ids and u["active"]
    )
    emu.cli("groups", "remove-member", group["displayName"], leaving, "--tenant", emu.tenant["id"])
    emu.cli("groups", "add-member", group["displayName"], joining, "--tenant", emu.tenant["id"])
    scimhub("sync", "--org", hub.org_id, "--json", env=hub.env)
    after = scim.get(f"/Groups/{group['id']}/Members", params={"count": "500"}).json()
    now = {m["value"] for m in after["Resources"]}
    assert now == (member_ids - {leaving_id}) | {joining_id}
    assert after["totalResults"] == len(member_ids)

    # nothing changed: a third round writes nothing
    third = next(
        iter(json.loads(scimhub("sync", "--org", hub.org_id, "--json", env=hub.env)).values())
    )
    assert third["users_created"] == third["users_updated"] == 0


def test_pull_resumes_after_a_failure_without_duplicates(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu, mode="pull", scope="all")
    services = Services.open(Settings.from_env(hub.env))
    try:
        pull = PullSync(
            services.entra.connection,
            instances=services.instances,
            users=services.users,
            groups=services.groups,
            links=Links(services.db),
            imports=Imports(services.db),
            page_size=10,
        )
        instance = services.instances.list(hub.org_id)[0]
        pages = []

        def fail_after_first_page(kind: str, n: int) -> None:
            pages.append((kind, n))
            if len(pages) == 1:  # Graph goes down after the first page was applied
                emu.cli("faults", "set", "--errors", "20", "--error-status", "503")

        with pytest.raises(IntegrationError) as failed:
            pull.run(hub.org_id, instance.id, fail_after_first_page)
        assert failed.value.status == 503
        saved = services.instances.get(hub.org_id, instance.id)
        assert saved is not None and saved.users_delta_link  # resumes from the next page
        emu.cli("faults", "clear")
        counts = pull.run(hub.org_id, instance.id)
        total = len(json.loads(emu.cli("users", "list", "--tenant", emu.tenant["id"])))
        assert counts.users_created == total - 10  # the first page is not created again
    finally:
        services.close()
    assert hub.scim_count("Users") == total


def test_scheduled_pull(tmp_path: Path, settings: Settings) -> None:
    """On SQLite the API process schedules the rounds; on PostgreSQL a `scimhub worker`."""
    with (
        run_emulator(tmp_path / "emu", users=5, groups=1) as emu,
        run_hub(
            tmp_path / "hub", emu, settings.database_url, SCIMHUB_PULL_INTERVAL_SECONDS="1"
        ) as hub,
        ExitStack() as stack,
    ):
        if settings.database_url:
            stack.enter_context(run_workers(hub, tmp_path, 1))
        connect(hub, emu, mode="pull", scope="all")
        total = len(json.loads(emu.cli("users", "list", "--tenant", emu.tenant["id"])))
        assert wait_for(lambda: hub.scim_count("Users") == total)  # no one asked: scheduled
