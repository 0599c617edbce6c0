"""The seed story in a real browser, against a live emulator and a live hub: set up Azure
AD through the emulator's consent page, see the job Active, toggle Auto sync, Sync now,
browse users; the integration app is deleted in Entra; the settings page shows the seed's
toast with its tracking id and Copy Debug Info; consent again, Allow Azure AD sync, Active."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from scimhub.config import Settings
from tests.browser.conftest import PASSWORD, screenshot
from tests.e2e.entra import (
    INTEGRATION_APP_ID,
    Emulator,
    Hub,
    create_admin,
    run_emulator,
    run_hub,
    wait_for,
)

pytestmark = pytest.mark.browser

SEED_MESSAGE = (
    "Azure AD integration error. The request was unauthorized. Please sign out "
    "and try again. TrackingID: {}"
)


@pytest.fixture
def world(tmp_path: Path, settings: Settings) -> Iterator[tuple[Emulator, Hub]]:
    with (
        run_emulator(tmp_path / "emu", users=15, groups=2) as emu,
        run_hub(tmp_path / "hub", emu, settings.database_url) as hub,
    ):
        create_admin(hub, "story@example.com", PASSWORD)
        yield emu, hub


def badge(page: Page) -> str:
    return page.locator("tr[data-instance] td").nth(1).inner_text().strip()


def test_seed_story_in_the_console(world: tuple[Emulator, Hub], browser: Browser) -> None:
    emu, hub = world
    # the emulator's certificate is self-signed; the hub's pages are plain http on loopback
    ctx = browser.new_context(
        base_url=hub.url, ignore_https_errors=True, viewport={"width": 1360, "height": 860}
    )
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=hub.url)
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()
    try:
        page.goto("/console/")
        page.fill("input[name=email]", "story@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/overview")

        # Set up: the console sends the admin to sign in to Entra and grant consent
        page.goto("/console/settings")
        page.click("form[data-setup] button")
        page.wait_for_url(re.compile(re.escape(emu.base) + r"/.*/oauth2/v2.0/authorize.*"))
        screenshot(page, "story-entra-sign-in")
        page.fill("input[name=username]", emu.tenant["admin_login"])
        page.fill("input[name=password]", emu.tenant["admin_password"])
        page.click("button[type=submit]")
        expect(page.locator("button[value=accept]")).to_be_visible()
        screenshot(page, "story-entra-consent")
        page.click("button[value=accept]")
        page.wait_for_url("**/console/settings?azure=connected")
        expect(page.locator("tr[data-instance]")).to_have_count(1)
        wait_for(lambda: (page.reload(), badge(page))[1] == "Active", timeout=30)
        screenshot(page, "story-active")

        # Auto sync off and on, Sync now
        auto_sync = page.locator("tr[data-instance] label.switch")  # the styled toggle
        auto_sync.click()
        expect(page.locator("tr[data-instance] td").nth(1)).to_have_text("Paused")
        auto_sync.click()
        expect(page.locator("tr[data-instance] td").nth(1)).to_have_text("Active")
        page.locator("[data-sync-now]").click()
        expect(page.locator("[data-notice]")).to_contain_text("Sync of")

        # Like Entra, a new instance syncs only assigned users: widen the scope to all
        page.click("tr[data-instance] button:has-text('Configure')")
        page.select_option("select[aria-label=Scope]", "all")
        page.click("button:has-text('Save scope')")
        expect(page.locator("[data-preview-summary]")).to_contain_text("Users: ")
        screenshot(page, "story-scope-preview")
        page.click("[data-preview-apply]")
        expect(page.locator("[data-notice]")).to_contain_text("Scope of")

        # Entra pushed the tenant's users; the console lists them
        wait_for(lambda: hub.scim_count("Users") >= 15)
        page.goto("/console/users")
        expect(page.locator("table tbody tr").first).to_be_visible()
        assert page.locator("table tbody tr").count() >= 15

        # An Entra admin deletes the integration app; the settings page shows the toast
        emu.cli("sp", "delete", "--tenant", emu.tenant["id"], "--app-id", INTEGRATION_APP_ID)
        page.goto("/console/settings")
        toast = page.locator(".toast")
        expect(toast).to_have_count(1)
        tid = toast.get_attribute("data-tracking-id") or ""
        assert re.fullmatch(r"CONSOLE_[0-9a-f-]{36}_\d+", tid)
        expect(toast.locator(".toast-message")).to_have_text(SEED_MESSAGE.format(tid))
        screenshot(page, "story-toast")
        toast.locator("text=Copy Debug Info").click()
        text = page.evaluate("navigator.clipboard.readText()")
        assert f"Tracking ID: {tid}" in text and "Status: 401" in text
        error = json.loads(text[text.index("Error: ") + 7 : text.index("\nMessage: ")])
        assert error["error"]["message"][0]["code"] == "701018"
        assert error["trackingId"] == tid
        assert "AADSTS" not in text and hub.admin_token not in text

        # The toast's Troubleshoot link: the diagnosis, with the tracking id and the fix
        toast.locator("a", has_text="Troubleshoot").click()
        page.wait_for_url("**/console/troubleshooting?trackingId=*")
        expect(page.locator("[data-finding=integration_app_deleted]").first).to_be_visible()
        expect(page.locator("main")).to_contain_text(tid)
        screenshot(page, "story-troubleshooting")

        # Admin consent again, then "Allow Azure AD sync" restores the configuration
        emu.cli("consent", "--tenant", emu.tenant["id"], "--client-id", INTEGRATION_APP_ID)
        page.goto("/console/settings")
        allow = page.locator("[data-allow-sync]")
        toggle = page.locator(".toggle-row label.switch")
        expect(allow).to_be_enabled()
        if allow.is_checked():  # still on: toggle off and on, as an admin would
            toggle.click()
            expect(allow).not_to_be_checked()
        toggle.click()
        expect(allow).to_be_checked()
        expect(page.locator("tr[data-instance] td").nth(1)).to_have_text("Active")
        screenshot(page, "story-restored")
    finally:
        ctx.close()
