"""Sign in with Microsoft in Chromium, against a live emulator (its own process) and a live
hub: the Entra admin consents to the scimhub Console app, requires assignment and assigns
people; an assigned user with the scimhub.Admin app role gets in as a full admin (and signs
out of the hub and of Microsoft); with roles mapped from groups, a member of the read-only
group gets in read-only; an unassigned user sees the AADSTS50105 explanation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from scimhub.config import Settings
from tests.browser.conftest import screenshot
from tests.e2e.conftest import scimhub
from tests.e2e.entra import Emulator, Hub, run_emulator, run_hub

pytestmark = pytest.mark.browser

CONSOLE_APP = "console_app"
PASSWORD = "Emulator!1"  # the emulator's default password for its users


@pytest.fixture
def world(tmp_path: Path, settings: Settings) -> Iterator[tuple[Emulator, Hub]]:
    with (
        run_emulator(tmp_path / "emu", users=0, groups=0) as emu,
        run_hub(tmp_path / "hub", emu, settings.database_url) as hub,
    ):
        app_id = emu.info[CONSOLE_APP]["client_id"]
        tenant = emu.tenant["id"]
        for path in ("callback", "signed-out"):
            emu.register_redirect_uri(f"{hub.url}/console/login/entra/{path}", CONSOLE_APP)
        # The Entra admin, at the portal: consent once, require assignment, assign Adele
        # with the scimhub.Admin app role and the Sales Team group (Megan) without one.
        emu.cli("consent", "--tenant", tenant, "--client-id", app_id)
        emu.cli("sp", "require-assignment", "--tenant", tenant, "--app-id", app_id)
        adele = f"adele.vance@{emu.tenant['domain']}"
        emu.cli("assign", adele, "--tenant", tenant, "--app-id", app_id, "--role", "scimhub.Admin")
        emu.cli("assign", "Sales Team", "--tenant", tenant, "--app-id", app_id)
        # The hub's operator: the org signs in with that tenant, roles from app roles.
        scimhub(
            "signin", "configure", "--org", hub.org_id, "--enable", "--tenant", tenant, env=hub.env
        )
        yield emu, hub


def _context(browser: Browser, hub: Hub) -> BrowserContext:
    # The emulator's certificate is its own CA's; the hub is plain http on loopback.
    ctx = browser.new_context(
        base_url=hub.url, ignore_https_errors=True, viewport={"width": 1360, "height": 860}
    )
    ctx.set_default_timeout(20_000)
    return ctx


def _sign_in_with_microsoft(page: Page, emu: Emulator, hub: Hub, user: str) -> None:
    page.goto(f"/console/login?org={hub.org_id}")
    page.click("a[data-entra-signin]")
    page.wait_for_url(re.compile(re.escape(emu.base) + r"/.*/oauth2/v2.0/authorize.*"))
    page.fill("input[name=username]", f"{user}@{emu.tenant['domain']}")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_sign_in_with_microsoft(world: tuple[Emulator, Hub], browser: Browser) -> None:
    emu, hub = world
    # An assigned user with the scimhub.Admin app role: in, as a full admin.
    ctx = _context(browser, hub)
    try:
        page = ctx.new_page()
        page.goto(f"/console/login?org={hub.org_id}")
        expect(page.locator("a[data-entra-signin]")).to_have_text("Sign in with Microsoft")
        screenshot(page, "entra-signin-login")
        _sign_in_with_microsoft(page, emu, hub, "adele.vance")
        page.wait_for_url("**/console/overview")
        expect(page.locator(".who .role-pill")).to_have_text("Full admin")
        expect(page.locator(".who-name")).to_have_text("Adele Vance")
        screenshot(page, "entra-signin-admin")
        page.goto("/console/settings#signin")
        expect(page.locator("[data-signin-status]")).to_have_text("On")
        expect(page.locator("table").last).to_contain_text("Microsoft")
        page.locator("[data-signin-card]").scroll_into_view_if_needed()
        screenshot(page, "entra-signin-settings")
        # Sign out: the hub's session ends, and Entra's sign-out is offered.
        page.click("text=Sign out")
        expect(page.locator("[data-signed-out]")).to_contain_text("You are signed out")
        page.click("a[data-entra-logout]")
        page.wait_for_url("**/console/login?signed_out=1")
        page.goto("/console/overview")
        page.wait_for_url("**/console/login?next=**")
    finally:
        ctx.close()

    # Roles from groups: the Sales Team group maps to read-only; Megan is a member.
    groups = json.loads(emu.cli("groups", "list", "--tenant", emu.tenant["id"]))
    sales = next(g["id"] for g in groups if g["displayName"] == "Sales Team")
    scimhub(
        *("signin", "configure", "--org", hub.org_id, "--roles-from", "groups"),
        *("--readonly-group", sales),
        env=hub.env,
    )
    ctx = _context(browser, hub)
    try:
        page = ctx.new_page()
        _sign_in_with_microsoft(page, emu, hub, "megan.bowen")
        page.wait_for_url("**/console/overview")
        expect(page.locator(".who .role-pill")).to_have_text("Read-only admin")
        screenshot(page, "entra-signin-readonly")
    finally:
        ctx.close()

    # An unassigned user: Entra refuses (AADSTS50105) and the console says why.
    ctx = _context(browser, hub)
    try:
        page = ctx.new_page()
        _sign_in_with_microsoft(page, emu, hub, "alex.wilber")
        page.wait_for_url("**/console/login/entra/callback?*")
        error = page.locator("[data-signin-error]")
        expect(error).to_have_attribute("data-signin-error", "AADSTS50105")
        expect(error.locator("[data-signin-error-title]")).to_have_text(
            "You are not assigned to scimhub in your organization's Microsoft Entra ID."
        )
        expect(error).to_contain_text("AADSTS50105: Your administrator has configured")
        expect(error.locator("[data-tracking-id]")).to_have_text(
            re.compile(r"\w+_[0-9a-f-]{36}_\d+")
        )
        screenshot(page, "entra-signin-aadsts50105")
    finally:
        ctx.close()
