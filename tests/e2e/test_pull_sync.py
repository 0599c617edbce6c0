"""Pull sync from Graph delta queries against the live emulator: initial round, increments
(update, disable, hard delete, new user), resume after a failure mid-round; each round's
change events, caused by the instance, and its `sync.completed`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import func, select

from scimhub.api.services import Hub as Services
from scimhub.config import Settings
from scimhub.directory.current import Current
from scimhub.directory.events import Event, Events
from scimhub.directory.imports import Imports
from scimhub.emulator import schema as entra
from scimhub.emulator.db import open_engine
from scimhub.integrations.entra import pull as entra_pull
from scimhub.integrations.entra.errors import IntegrationError
from scimhub.integrations.entra.pull import PullSync
from scimhub.store.engine import Database
from scimhub.store.tables import groups as hub_groups
from scimhub.store.tables import memberships as hub_memberships
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

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class Stream:
    """The org's change events, read as an app would, from where the last read ended."""

    def __init__(self, hub: Hub) -> None:
        self.db = Database.connect(Settings.from_env(hub.env).effective_database_url)
        self.org_id = hub.org_id
        self.cursor: str | None = None

    def new(self) -> list[Event]:
        out: list[Event] = []
        while True:
            page = Events(self.db).page(self.org_id, after=self.cursor, limit=100)
            self.cursor = page.next_cursor
            out += page.events
            if not page.events:
                return out


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
    stream = Stream(hub)
    round1 = stream.new()
    kinds = [e.type for e in round1]
    assert kinds.count("user.created") == len(users)
    assert kinds.count("group.created") == len(groups)
    assert "group.member_added" in kinds
    assert kinds[-1] == "sync.completed" and kinds.count("sync.completed") == 1
    assert round1[-1].data["instance_id"] == instance["id"]
    assert round1[-1].data["counts"]["users_created"] == len(users)
    # every event of the round names the instance and the request that ran it
    assert {e.source["kind"] for e in round1} == {"entra"}
    assert {e.source["id"] for e in round1} == {instance["id"]}
    assert {e.source["tracking_id"] for e in round1} == {first.headers["TrackingID"]}

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
    round2 = {(e.type, e.data.get("userName")): e for e in stream.new()}
    moved = round2[("user.updated", upns[0])]
    assert moved.changed is not None and ENTERPRISE in moved.changed
    assert moved.data[ENTERPRISE]["department"] == "Legal"
    assert ("user.deactivated", upns[1]) in round2
    assert ("user.deleted", upns[2]) in round2
    assert ("user.created", f"newcomer@{emu.tenant['domain']}") in round2
    assert ("sync.completed", None) in round2
    assert {e.source["kind"] for e in round2.values()} == {"entra"}
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
    members = [
        (e.type, e.data["member_id"]) for e in stream.new() if e.type.startswith("group.member")
    ]
    assert members == [
        ("group.member_removed", leaving_id),
        ("group.member_added", joining_id),
    ]

    # nothing changed: a third round writes nothing
    third = next(
        iter(json.loads(scimhub("sync", "--org", hub.org_id, "--json", env=hub.env)).values())
    )
    assert third["users_created"] == third["users_updated"] == 0
    assert [e.type for e in stream.new()] == ["sync.completed"]  # and no change events
    stream.db.dispose()


def _pull_sync(services: Services, *, page_size: int) -> PullSync:
    """A pull engine on the hub's own services, with Graph pages of `page_size`."""
    return PullSync(
        services.entra.connection,
        instances=services.instances,
        users=services.users,
        groups=services.groups,
        links=services.brake.links,
        imports=Imports(services.db, services.attributes),
        brake=services.brake,
        current=Current(services.db),
        page_size=page_size,
    )


def test_pull_resumes_after_a_failure_without_duplicates(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connect(hub, emu, mode="pull", scope="all")
    services = Services.open(Settings.from_env(hub.env))
    try:
        pull = _pull_sync(services, page_size=10)
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
        # The pages applied before Graph failed (the first, and the one read ahead while
        # it was applied, if that read came first) are not created again.
        applied = sum(n for kind, n in pages if kind == "users")
        assert 10 <= applied < total
        assert counts.users_created == total - applied
    finally:
        services.close()
    assert hub.scim_count("Users") == total


def test_groups_come_in_small_pages_with_all_their_members(
    world: tuple[Emulator, Hub], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A groups page carries every member of its groups, so the round asks for a few groups
    a page (GROUP_PAGE_SIZE) whatever the users' page size, and still gets them all."""
    emu, hub = world
    monkeypatch.setattr(entra_pull, "GROUP_PAGE_SIZE", 1)
    connect(hub, emu, mode="pull", scope="all")
    services = Services.open(Settings.from_env(hub.env))
    try:
        pull = _pull_sync(services, page_size=999)
        instance = services.instances.list(hub.org_id)[0]
        pages: list[tuple[str, int]] = []
        counts = pull.run(hub.org_id, instance.id, lambda kind, n: pages.append((kind, n)))
        with services.db.read() as conn:
            pulled = conn.execute(
                select(func.count())
                .select_from(hub_memberships.join(hub_groups))
                .where(hub_groups.c.org_id == hub.org_id)
            ).scalar_one()
    finally:
        services.close()
    users = json.loads(emu.cli("users", "list", "--tenant", emu.tenant["id"]))
    groups = json.loads(emu.cli("groups", "list", "--tenant", emu.tenant["id"]))
    assert [n for kind, n in pages if kind == "users"] == [len(users)]
    assert [n for kind, n in pages if kind == "groups"] == [1] * len(groups)
    assert counts.groups_created == len(groups) >= 3
    with open_engine(emu.data_dir).connect() as conn:
        m = entra.memberships.c
        members = conn.execute(select(func.count()).where(m.member_type == "user")).scalar_one()
    assert pulled == members > 0


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
