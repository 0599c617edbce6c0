"""The background work against a live emulator (SQLite, and PostgreSQL in CI): scheduled
status checks record what Entra refuses, and the SCIM tokens Entra's jobs hold are renewed
before they expire without interrupting provisioning."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from scimhub.api.services import Hub as Services
from scimhub.asgi import background_work
from scimhub.config import Settings
from scimhub.store.engine import utcnow
from scimhub.store.tables import tokens
from scimhub.sync.work import ACTOR
from tests.e2e.entra import (
    INTEGRATION_APP_ID,
    Emulator,
    Hub,
    connect,
    run_emulator,
    run_hub,
    wait_for,
)


@pytest.fixture
def world(tmp_path: Path, settings: Settings) -> Iterator[tuple[Emulator, Hub, Services]]:
    with (
        run_emulator(tmp_path / "emu", users=6, groups=1) as emu,
        run_hub(tmp_path / "hub", emu, settings.database_url) as hub,
    ):
        services = Services.open(Settings.from_env(hub.env))
        try:
            yield emu, hub, services
        finally:
            services.close()


@pytest.mark.parametrize("mode", ["push", "pull"])
def test_status_check_records_what_entra_refuses(
    world: tuple[Emulator, Hub, Services], mode: str
) -> None:
    emu, hub, services = world
    connect(hub, emu, scope="all", mode=mode)
    work = background_work(services)
    instance = services.instances.list(hub.org_id)[0]
    if mode == "push":
        wait_for(lambda: hub.scim_count("Users") >= 6)
    assert work.check(hub.org_id, instance.id) is True
    if mode == "push":  # the job's status is kept for the console
        saved = services.instances.get(hub.org_id, instance.id)
        assert saved is not None and saved.last_status is not None
        assert saved.last_status["jobStatus"] == "Active"

    emu.cli("sp", "delete", "--tenant", emu.tenant["id"], "--app-id", INTEGRATION_APP_ID)
    assert work.check(hub.org_id, instance.id) is False
    failures, total = services.instances.failures(hub.org_id)
    assert total == 1
    failure = failures[0]
    assert (failure.operation, failure.status, failure.code) == (
        "scheduled status check",
        401,
        "701018",
    )
    assert failure.upstream_code == "AADSTS700016"
    assert failure.tracking_id.startswith("SCIMHUB_")
    # the troubleshooter finds it by that tracking id, as if an admin had seen the toast
    with hub.api() as api:
        report = api.get("/diagnosis", params={"trackingId": failure.tracking_id}).json()
    assert "integration_app_deleted" in {f["id"] for f in report["findings"]}


def test_job_token_is_renewed_before_it_expires(world: tuple[Emulator, Hub, Services]) -> None:
    emu, hub, services = world
    connect(hub, emu, scope="all")
    wait_for(lambda: hub.scim_count("Users") >= 6)
    work = background_work(services)
    instance = services.instances.list(hub.org_id)[0]
    old = services.tokens.get(hub.org_id, instance.scim_token_id or "")
    assert old is not None and old.expires_at is not None
    assert abs(old.expires_at - (old.created + timedelta(days=180))) < timedelta(seconds=2)
    assert instance.hub_url == hub.url
    assert work.renew_tokens() == []  # 180 days left: nothing to do

    # time passes: the token now expires within the renewal window
    with services.db.write() as conn:
        conn.execute(
            update(tokens)
            .where(tokens.c.id == old.id)
            .values(expires_at=utcnow() + timedelta(days=29))
        )
    assert work.renew_tokens() == [instance.id]

    renewed = services.instances.get(hub.org_id, instance.id)
    assert renewed is not None and renewed.scim_token_id != old.id
    new = services.tokens.get(hub.org_id, renewed.scim_token_id or "")
    assert new is not None and new.usable(utcnow())
    assert new.expires_at and new.expires_at - utcnow() > timedelta(days=179)
    gone = services.tokens.get(hub.org_id, old.id)
    assert gone is not None and gone.revoked_at is not None
    events, _ = services.audit.events(hub.org_id, action="Azure AD SCIM token renewed")
    assert [e.actor for e in events] == [ACTOR]
    assert work.renew_tokens() == []

    # Entra's job provisions with the new token: a new user arrives
    emu.cli(
        "users",
        "add",
        "--tenant",
        emu.tenant["id"],
        "--upn",
        f"after.renewal@{emu.tenant['domain']}",
        "--display-name",
        "After Renewal",
    )
    total = len(json.loads(emu.cli("users", "list", "--tenant", emu.tenant["id"])))
    assert wait_for(lambda: hub.scim_count("Users") == total, timeout=60)
    status = services.entra.status.org(hub.org_id)["instances"][0]
    assert status["jobStatus"] == "Active"  # not quarantined
