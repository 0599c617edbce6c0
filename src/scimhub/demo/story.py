"""The seed story, step by step: connect Azure AD, lose the integration app, see the 401
with its tracking id, consent again, "Allow Azure AD sync", Active again with the original
configuration."""

from __future__ import annotations

import secrets
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from ..api.integration import CONSENT_CALLBACK
from ..api.services import Hub
from ..app import create_app
from ..config import Settings
from ..diagnose import explain_tracking_id
from ..diagnose.render import render_report
from ..directory.roles import Role
from ..directory.tokens import TokenKind
from .entra_admin import answer_consent
from .processes import EmulatorProcess, ThreadedServer, free_port, start_emulator


class StoryFailed(RuntimeError):
    pass


@dataclass
class DemoOptions:
    data_dir: Path | None
    users: int = 60
    groups: int = 6
    cycle_seconds: float = 2.0
    port: int = 0
    script: bool = False


class Story:
    def __init__(self, console: Console, options: DemoOptions) -> None:
        self.out = console
        self.options = options
        self.step_no = 0

    def step(self, title: str) -> None:
        self.step_no += 1
        self.out.rule(f"[bold]Step {self.step_no}[/bold] · {title}", align="left")

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.out.print(f"[red]✗ {what}[/red]")
            raise StoryFailed(what)
        self.out.print(f"[green]✓[/green] {what}")

    def wait(self, what: str, predicate: Callable[[], Any], timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        with self.out.status(what):
            while True:
                value = predicate()
                if value:
                    return value
                if time.monotonic() > deadline:
                    raise StoryFailed(f"timed out: {what}")
                time.sleep(0.5)


def run(console: Console, options: DemoOptions) -> int:
    story = Story(console, options)
    with ExitStack() as stack:
        root = options.data_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="scimhub-demo-"))
        )
        try:
            world = _start(story, stack, root)
            _tell(story, world)
        except (StoryFailed, httpx.HTTPError) as exc:
            console.print(f"[red bold]The story did not play as expected:[/red bold] {exc}")
            return 1
        _show_console(story, world)
        if not options.script:
            _wait_for_ctrl_c(console)
    return 0


@dataclass
class World:
    emu: EmulatorProcess
    hub: Hub
    url: str
    org_id: str
    admin_email: str
    admin_password: str
    admin_token: str

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/extIntegration/azureAD/{self.org_id}/v1",
            headers={
                "Authorization": f"Bearer {self.admin_token}",
                "TrackingID": f"DEMO_{_session_uuid()}_0",
            },
            trust_env=False,
            timeout=60,
        )

    def user_count(self) -> int:
        from ..directory.locator import Locator
        from ..directory.search import Query

        _, total = self.hub.users.search(
            self.org_id, Query(count=0), Locator(self.url, self.org_id), with_groups=False
        )
        return total


_SESSION = secrets.token_hex(16)


def _session_uuid() -> str:
    h = _SESSION
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _start(story: Story, stack: ExitStack, root: Path) -> World:
    opts = story.options
    story.step("Start a local Microsoft Entra ID (the emulator) with a realistic directory")
    emu = start_emulator(
        root / "emulator",
        users=opts.users,
        groups=opts.groups,
        cycle_seconds=opts.cycle_seconds,
        log=root / "emulator.log",
    )
    stack.callback(emu.stop)
    story.check(True, f"Entra ID emulator at {emu.base} — tenant {emu.tenant['domain']}")

    story.step("Start scimhub (embedded SQLite) and create the organization")
    port = opts.port or free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings.from_env(
        {
            **emu.hub_env(),
            "SCIMHUB_DATA_DIR": str(root / "hub"),
            "SCIMHUB_PUBLIC_URL": url,
            "SCIMHUB_TRACKING_PREFIX": "ATLAS",
        }
    )
    settings = replace(settings, port=port)
    hub = Hub.open(settings)
    stack.callback(hub.close)
    server = ThreadedServer(create_app(settings, hub=hub), "127.0.0.1", port)
    server.start()
    stack.callback(server.stop)
    # As the hub's operator does once in the portal: the setup sign-in returns only here.
    emu.register_redirect_uri(f"{url}{CONSENT_CALLBACK}")
    orgs = [o for o in hub.orgs.list() if o.name == "Demo org"]
    org = orgs[0] if orgs else hub.orgs.create("Demo org")
    email = "admin@demo.scimhub.local"
    password = _admin_password(hub, org.id, email, root / "admin-password.txt")
    token, _ = hub.tokens.create(org.id, name="demo", kind=TokenKind.ADMIN)
    story.check(True, f"scimhub at {url} — organization {org.id}")
    return World(emu, hub, url, org.id, email, password, token)


def _admin_password(hub: Hub, org_id: str, email: str, kept: Path) -> str:
    """The demo admin's password: made on the first run and kept (owner-only) in the demo's
    data directory, so a rerun on the same directory can print it again."""
    if kept.exists() and any(a.email == email for a in hub.admins.list(org_id)):
        return kept.read_text().strip()
    password = secrets.token_urlsafe(12)
    hub.admins.create(org_id, email, password, Role.ADMIN, display_name="Demo Admin")
    kept.touch(mode=0o600)
    kept.write_text(password)
    return password


def _tell(story: Story, w: World) -> None:
    tenant = w.emu.tenant
    client_id = w.emu.info["integration_app"]["client_id"]
    with w.api() as api:
        if not api.get("/status").json().get("instances"):
            story.step("Set up the Azure AD integration: admin consent in Entra")
            started = api.post("/setup", json={"tenant": "common", "scope": "all"})
            story.check(
                started.status_code == 200,
                "the hub sent the admin to sign in to Entra and grant admin consent",
            )
            callback = answer_consent(w.emu, started.json()["consentUrl"])
            landed = httpx.get(
                callback, headers={"Accept": "application/json"}, trust_env=False, timeout=60
            )
            story.check(
                landed.status_code == 200,
                f"{tenant['admin_login']} signed in and "
                "accepted; the hub took the tenant from the signed ID token and created "
                "the provisioning app and its job",
            )

        story.step("First provisioning cycle: Entra pushes users over SCIM")
        count = story.wait(
            "waiting for Entra's provisioning job",
            lambda: (n := w.user_count()) >= story.options.users and n,
        )
        before = api.get("/status").json()["instances"][0]
        story.check(
            before["jobStatus"] == "Active",
            f"{count} users in scimhub; job "
            f"{before['jobStatus']}, auto sync {'on' if before['autoSync'] else 'off'}",
        )
        _instance_table(story, before)

        story.step("An Entra admin deletes the enterprise app 'scimhub Identity Integration'")
        w.emu.cli("sp", "delete", "--tenant", tenant["id"], "--app-id", client_id)
        story.check(True, "service principal deleted in Azure AD")

        story.step("The console loads Organization Settings")
        failed = api.get("/status")
        tid = failed.headers.get("TrackingID", "")
        story.check(
            failed.status_code == 401 and failed.json()["error"]["message"][0]["code"] == "701018",
            "the integration API answered 401 / 701018",
        )
        # The toast the console shows: the hub's words for the error, and the tracking id.
        said = failed.json()["error"]["message"][0]
        story.out.print(
            Panel(f"{said['title']} TrackingID: {tid}", title="scimhub Error", border_style="red")
        )
        story.out.print(f"Error body: {failed.text}")

        _diagnose(story, w, tid)

        story.step("Admin consent again (the URL from the troubleshooter)")
        consent_url = f"{w.emu.base}/common/adminconsent?client_id={client_id}"
        story.out.print(f"[dim]{consent_url}[/dim]")
        w.emu.cli("consent", "--tenant", tenant["id"], "--client-id", client_id)
        story.check(True, "the integration app's service principal is back")

        story.step("Organization Settings > Directory Synchronization > Allow Azure AD sync")
        restored = api.post("/allowSync", json={"enabled": True})
        story.check(restored.status_code == 200, "Allow Azure AD sync accepted")
        after = restored.json()["instances"][0]
        story.check(
            after["id"] == before["id"]
            and after["mappings"] == before["mappings"]
            and after["scope"] == before["scope"],
            "the original configuration was restored (same instance, scope, mappings)",
        )
        story.check(
            after["jobStatus"] == "Active" and after["autoSync"],
            "the job is Active with Auto sync on",
        )
        _instance_table(story, after)


def _diagnose(story: Story, w: World, tracking_id: str) -> None:
    story.step(f"The troubleshooter: scimhub doctor --tracking-id {tracking_id}")
    report = explain_tracking_id(w.hub, w.org_id, tracking_id)
    story.out.print(render_report(report))
    story.check(
        any(f.id == "integration_app_deleted" for f in report.findings),
        "diagnosis: the integration app's service principal was deleted",
    )


def _instance_table(story: Story, instance: dict[str, Any]) -> None:
    table = Table("Instance name", "Job status", "Auto sync", "Users", "Groups")
    counts = instance.get("counts") or {}
    table.add_row(
        instance["name"],
        instance["jobStatus"],
        "on" if instance["autoSync"] else "off",
        str(counts.get("users", "")),
        str(counts.get("groups", "")),
    )
    story.out.print(table)


def _show_console(story: Story, w: World) -> None:
    story.out.print(
        Panel.fit(
            f"Console: [bold]{w.url}/console[/bold]\n"
            f"Sign in as [bold]{w.admin_email}[/bold] with password "
            f"[bold]{w.admin_password}[/bold]\n"
            f"Entra emulator: {w.emu.base}/_emulator/tenants (CA {w.emu.ca})",
            title="The story played: Azure AD sync is Active again",
            border_style="green",
        )
    )


def _wait_for_ctrl_c(console: Console) -> None:
    console.print("Press Ctrl-C to stop.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
