"""The troubleshooter against a live Entra emulator: each test causes one failure mode of
the catalogue the way an Entra admin (or an outage) would, checks the diagnosis (finding,
evidence, tracking ids) and then the fix."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from scimhub.api.services import Hub as Services
from scimhub.config import Settings
from scimhub.diagnose import Report, diagnose, repair
from scimhub.directory.instances import Instance
from scimhub.directory.locator import Locator
from scimhub.directory.search import Query
from scimhub.directory.tokens import TokenKind
from scimhub.emulator import faults
from scimhub.emulator.apps import grant_consent
from scimhub.emulator.db import open_engine
from scimhub.emulator.directory import add_group, add_member, add_user, require_tenant
from scimhub.emulator.schema import grants, service_principals
from scimhub.integrations.entra import jobs
from scimhub.scim.filter import parse_filter
from tests.e2e.entra import (
    INTEGRATION_APP_ID,
    Emulator,
    Hub,
    connect,
    run_emulator,
    run_hub,
    wait_for,
)

DOMAIN = "contoso.onmicrosoft.com"


@pytest.fixture(scope="module")
def shared(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> Iterator[tuple[Emulator, Hub]]:
    """One emulator and one hub for the module (starting them is the slow part); each
    test gets its own organisation, and so its own provisioning app and job. They all
    connect the one emulated tenant, which the operator allows here (a tenant otherwise
    feeds one organisation)."""
    base = tmp_path_factory.mktemp("troubleshooter")
    (base / "emu").mkdir()
    # A revoked token must fail at once in the served hub, not after its cache expires.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCIMHUB_TOKEN_CACHE_SECONDS", "0")
        with (
            run_emulator(base / "emu") as emu,
            run_hub(
                base / "hub",
                emu,
                settings.database_url,
                SCIMHUB_ENTRA_SHARED_TENANTS=emu.tenant["id"],
            ) as hub,
        ):
            yield emu, hub


@pytest.fixture
def world(shared: tuple[Emulator, Hub]) -> Iterator[tuple[Emulator, Hub]]:
    emu, hub = shared
    with services(hub) as s:
        org = s.orgs.create(f"Org {uuid.uuid4().hex[:6]}")
        token, _ = s.tokens.create(org.id, kind=TokenKind.ADMIN, name="test")
    try:
        yield emu, replace(hub, org_id=org.id, admin_token=token)
    finally:  # whatever a test broke in the shared tenant, mend it for the next one
        engine = open_engine(emu.data_dir)
        with engine.begin() as conn:
            faults.clear(conn)
            tenant = require_tenant(conn, emu.tenant["id"])
            grant_consent(conn, tenant, INTEGRATION_APP_ID)
            conn.execute(
                update(service_principals)
                .where(service_principals.c.app_id == INTEGRATION_APP_ID)
                .values(account_enabled=True)
            )
        engine.dispose()


@contextmanager
def services(hub: Hub, **env: str) -> Iterator[Services]:
    opened = Services.open(Settings.from_env({**hub.env, **env}))
    try:
        yield opened
    finally:
        opened.close()


def diagnosis(hub: Hub, **env: str) -> Report:
    with services(hub, **env) as s:
        return diagnose(s, hub.org_id)


def ids(report: Report) -> set[str]:
    return {f.id for f in report.findings if f.severity != "info"}


def only(report: Report, finding_id: str) -> Any:
    found = [f for f in report.findings if f.id == finding_id]
    assert found, [(f.id, f.evidence) for f in report.findings]
    return found[0]


def saved(hub: Hub) -> Instance:
    with services(hub) as s:
        return s.instances.list(hub.org_id)[0]


def doctor(hub: Hub, *args: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "scimhub", "doctor", "--org", hub.org_id, *args],
        env={**hub.env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout


def has_user(hub: Hub, upn: str) -> bool:
    with services(hub) as s:
        _, total = s.users.search(
            hub.org_id,
            Query(filter=parse_filter(f'userName eq "{upn}"'), count=0),
            Locator("", hub.org_id),
            with_groups=False,
        )
    return total == 1


def count(hub: Hub, resource: str = "Users") -> int:
    with services(hub) as s:
        store = s.users if resource == "Users" else s.groups
        _, total = store.search(hub.org_id, Query(count=0), Locator("", hub.org_id))
    return total


def job_code(hub: Hub) -> str:
    with hub.api() as api:
        return str(api.get("/status").json()["instances"][0]["jobStatus"])


def connected(hub: Hub, emu: Emulator, users: int = 12, **options: Any) -> None:
    connect(hub, emu, **options)
    wait_for(lambda: count(hub) >= users)


def test_integration_app_deleted_consent_then_allow_sync(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connected(hub, emu, scope="all")
    emu.cli("sp", "delete", "--app-id", INTEGRATION_APP_ID)
    with hub.api() as api:
        refused = api.get("/status")
    assert refused.status_code == 401
    tid = refused.headers["TrackingID"]
    # Entra's provisioning job belongs to the other app: a new user still arrives
    emu.cli("users", "add", "--upn", f"late@{DOMAIN}")
    wait_for(lambda: has_user(hub, f"late@{DOMAIN}"))

    # (the served hub writes its request log about once a second)
    report = wait_for(
        lambda: (
            (r := diagnosis(hub))
            and only(r, "integration_app_deleted").details["pushesMeanwhile"]
            and r
        )
    )
    deleted = only(report, "integration_app_deleted")
    assert deleted.severity == "error" and deleted.fix is None
    assert tid in deleted.tracking_ids
    assert any("AADSTS700016" in line for line in deleted.evidence)
    assert deleted.links[0].url == (
        f"{emu.base}/{emu.tenant['id']}/adminconsent?client_id={INTEGRATION_APP_ID}"
    )
    assert not report.healthy

    code, out = doctor(hub, "--tracking-id", tid)
    assert code == 1
    assert tid in out and "AADSTS700016" in out and "adminconsent" in out
    assert emu.info["integration_app"]["client_secret"] not in out

    # After consent the audit log is readable: who removed the service principal, and when
    emu.cli("consent", "--client-id", INTEGRATION_APP_ID)
    recovering = only(diagnosis(hub), "integration_app_deleted")
    assert recovering.fix == "allow_sync" and recovering.severity == "warning"
    record = recovering.details["audit"][0]
    assert record["activity"] == "Remove service principal"
    assert record["initiatedBy"] == emu.tenant["admin_login"] and record["time"]
    assert record["target"] == emu.info["integration_app"]["display_name"]

    code, out = doctor(hub, "--fix", "--json", "--hub-url", hub.url)
    fixed = json.loads(out)
    assert code == 0 and fixed["healthy"], fixed
    assert fixed["fixes_applied"][0].startswith("applied: allow_sync")
    assert job_code(hub) == "Active"


def test_provisioning_app_then_job_deleted_are_recreated(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connected(hub, emu, scope="all")
    before = saved(hub)
    emu.cli("sp", "delete", "--app-id", str(before.provisioning_app_id))
    gone = only(diagnosis(hub), "provisioning_app_deleted")
    assert gone.fix == "restore" and gone.instance_id == before.id
    assert gone.details["audit"][0]["targetId"] == before.provisioning_sp_id
    with services(hub) as s:
        assert repair(s, hub.org_id, actor_name="test", hub_url=hub.url).healthy
    after = saved(hub)
    assert after.provisioning_app_id != before.provisioning_app_id

    with services(hub) as s:  # someone deletes just the job, through Graph
        jobs.delete_job(
            s.entra.connection.graph(after.tenant_id),
            jobs.JobRef(str(after.provisioning_sp_id), str(after.job_id)),
        )
    missing = only(diagnosis(hub), "provisioning_job_deleted")
    assert missing.fix == "restore"
    with hub.api() as api:  # the console's button: the diagnosis API
        fixed = api.post("/diagnosis/fix", json={"fix": "restore", "instanceId": after.id})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["result"]["ok"] and fixed.json()["report"]["healthy"]
    assert saved(hub).job_id != after.job_id


def _revoke_consent(emu: Emulator) -> None:
    engine = open_engine(emu.data_dir)
    with engine.begin() as conn:
        sp = conn.execute(
            select(service_principals.c.id).where(
                service_principals.c.app_id == INTEGRATION_APP_ID,
                service_principals.c.tenant_id == emu.tenant["id"],
                service_principals.c.deleted_at.is_(None),
            )
        ).scalar_one()
        conn.execute(delete(grants).where(grants.c.sp_id == sp))
    engine.dispose()


def test_refused_credentials_consent_secret_disabled_tenant(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connected(hub, emu, scope="all")
    assert ids(diagnosis(hub)) == set()

    wrong = only(
        diagnosis(hub, SCIMHUB_ENTRA_CLIENT_SECRET="not-the-secret"), "client_secret_invalid"
    )
    assert any("AADSTS7000215" in line for line in wrong.evidence)
    expired = json.loads(
        emu.cli("apps", "add-secret", "--app-id", INTEGRATION_APP_ID, "--days", "-1")
    )["secretText"]
    assert "client_secret_expired" in ids(diagnosis(hub, SCIMHUB_ENTRA_CLIENT_SECRET=expired))

    emu.cli("sp", "disable", "--app-id", INTEGRATION_APP_ID)
    assert ids(diagnosis(hub)) == {"integration_app_disabled"}
    emu.cli("sp", "enable", "--app-id", INTEGRATION_APP_ID)

    _revoke_consent(emu)
    consent = only(diagnosis(hub), "consent_missing")
    assert "adminconsent" in consent.links[0].url
    emu.cli("consent", "--client-id", INTEGRATION_APP_ID)
    assert ids(diagnosis(hub)) == set()

    with services(hub) as s:  # the saved tenant no longer exists in Entra
        s.instances.update(saved(hub), tenant_id=str(uuid.uuid4()))
    assert ids(diagnosis(hub)) == {"tenant_not_found"}


def test_quarantine_after_scim_token_revoked_then_rotated(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connected(hub, emu, scope="all")
    instance = saved(hub)
    with services(hub) as s:
        s.tokens.revoke(hub.org_id, str(instance.scim_token_id))
    emu.cli("users", "add", "--upn", f"blocked@{DOMAIN}")  # something to push: 401
    wait_for(lambda: job_code(hub) == "Quarantine")

    # (the hub's 401s reach its request log within about a second)
    report = wait_for(
        lambda: (r := diagnosis(hub)) and only(r, "scim_token_rejected").tracking_ids and r
    )
    rejected = only(report, "scim_token_rejected")
    assert rejected.fix == "rotate_scim_token" and rejected.instance_id == instance.id
    quarantine = rejected.details["quarantine"]
    assert quarantine["reason"] == "EncounteredQuarantineException"
    assert quarantine["currentBegan"] and quarantine["nextAttempt"]
    assert any("answered 401" in line for line in rejected.evidence)
    assert any("revoked" in line for line in rejected.evidence)
    code, out = doctor(hub, "--tracking-id", rejected.tracking_ids[0])
    assert code == 1 and "401" in out and "SCIM token" in out

    with hub.api() as api:
        listed = api.get("/diagnosis", params={"trackingId": rejected.tracking_ids[0]}).json()
        assert "scim_token_rejected" in {f["id"] for f in listed["findings"]}
        assert listed["explanation"]["id"] == "scim_token_rejected"
        fixed = api.post(
            "/diagnosis/fix", json={"fix": "rotate_scim_token", "instanceId": instance.id}
        )
    assert fixed.status_code == 200 and fixed.json()["result"]["ok"], fixed.text
    wait_for(lambda: has_user(hub, f"blocked@{DOMAIN}"))
    assert job_code(hub) == "Active"
    assert wait_for(lambda: diagnosis(hub).healthy)


def test_scope_unassigned_nested_and_pending(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    # The directory as it stands (set up in one go: the CLI's start-up would dominate);
    # the admin's actions under test go through the CLI below.
    engine = open_engine(emu.data_dir)
    with engine.begin() as conn:
        for upn in ("direct", "nested", "later"):
            add_user(conn, emu.tenant["id"], {"userPrincipalName": f"{upn}@{DOMAIN}"})
        for name in ("Sales", "Outer", "Inner"):
            add_group(conn, emu.tenant["id"], {"displayName": name})
        for group, member in (
            ("Sales", f"direct@{DOMAIN}"),
            ("Inner", f"nested@{DOMAIN}"),
            ("Outer", "Inner"),
        ):
            add_member(conn, emu.tenant["id"], group, member)
    engine.dispose()
    connect(hub, emu)  # scope: assigned users and groups only
    app_id = str(saved(hub).provisioning_app_id)
    for group in ("Sales", "Outer"):
        emu.cli("assign", group, "--app-id", app_id)
    wait_for(lambda: count(hub, "Groups") >= 2 and has_user(hub, f"direct@{DOMAIN}"))

    scope = only(diagnosis(hub), "users_out_of_scope")
    assert scope.severity == "warning"
    assert scope.details["nested"] == [f"nested@{DOMAIN}"]
    assert f"later@{DOMAIN}" in scope.details["unassigned"]
    assert scope.fix is None

    # A scope change the job has not picked up (it is paused): restart it
    instance = saved(hub)
    with hub.api() as api:
        api.post(f"/instances/{instance.id}/autoSync", json={"enabled": False})
    emu.cli("groups", "add-member", "Sales", f"later@{DOMAIN}")
    pending = only(diagnosis(hub), "scope_change_pending")
    assert pending.details["users"] == [f"later@{DOMAIN}"] and pending.fix == "restart_job"
    with services(hub) as s:
        repair(s, hub.org_id, actor_name="test", hub_url=hub.url)
    wait_for(lambda: has_user(hub, f"later@{DOMAIN}"))
    assert "scope_change_pending" not in ids(diagnosis(hub))


def test_duplicate_user_name_conflict(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    emu.cli("users", "add", "--upn", f"ann@{DOMAIN}", "--mail", f"ann@{DOMAIN}")
    emu.cli("users", "add", "--upn", f"ann.b@{DOMAIN}", "--mail", f"annb@{DOMAIN}")
    connected(
        hub,
        emu,
        users=14,
        scope="all",
        mappings=[
            {"source": "mail", "target": "userName"},
            {"source": "accountEnabled", "target": "active"},
        ],
    )
    # Two source users now map to the same userName
    emu.cli("users", "update", f"ann.b@{DOMAIN}", "--mail", f"ann@{DOMAIN}")
    conflict = wait_for(
        lambda: next(
            (
                f
                for f in diagnosis(hub).findings
                if f.id == "duplicate_user_name" and f.tracking_ids
            ),
            None,
        )
    )
    assert conflict.details["objects"] == [f"ann.b@{DOMAIN}"]
    assert conflict.tracking_ids and any("409 uniqueness" in e for e in conflict.evidence)
    code, out = doctor(hub, "--tracking-id", conflict.tracking_ids[0])
    assert code == 1 and "uniqueness" in out and "Two Entra users" in out

    emu.cli("users", "update", f"ann.b@{DOMAIN}", "--mail", f"annb@{DOMAIN}")
    wait_for(lambda: "duplicate_user_name" not in ids(diagnosis(hub)))


def test_throttling_outage_and_database_down(world: tuple[Emulator, Hub]) -> None:
    emu, hub = world
    connected(hub, emu, scope="all")
    emu.cli("faults", "set", "--throttle", "5", "--retry-after", "120")
    with hub.api() as api:
        throttled = api.get("/status")
    assert throttled.status_code == 429
    found = only(diagnosis(hub), "graph_throttled")
    assert throttled.headers["TrackingID"] in found.tracking_ids
    emu.cli("faults", "set", "--errors", "20", "--error-status", "503")
    assert "entra_unavailable" in ids(diagnosis(hub))
    emu.cli("faults", "clear")
    assert diagnosis(hub).healthy  # recent but over: shown as information only

    code, out = doctor(
        replace(
            hub, env={**hub.env, "SCIMHUB_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
        ),
        "--json",
    )
    assert code == 1
    assert json.loads(out)["findings"][0]["id"] == "hub_database_unavailable"
