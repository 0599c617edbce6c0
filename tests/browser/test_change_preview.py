"""A scope change previewed in a real browser: Save scope shows what the change would do;
past the deletion threshold, Apply waits until the admin ticks that they mean it; Cancel
leaves everything as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from scimhub.config import Settings
from tests.browser.conftest import PASSWORD, screenshot
from tests.e2e.entra import Emulator, Hub, connect, create_admin, run_emulator, run_hub, wait_for

pytestmark = pytest.mark.browser

USERS = 20


@pytest.fixture
def world(tmp_path: Path, settings: Settings) -> Iterator[tuple[Emulator, Hub]]:
    with (
        run_emulator(tmp_path / "emu", users=USERS, groups=2) as emu,
        run_hub(tmp_path / "hub", emu, settings.database_url) as hub,
    ):
        create_admin(hub, "preview@example.com", PASSWORD)
        yield emu, hub


def test_a_scope_change_past_the_threshold_asks_first(
    world: tuple[Emulator, Hub], browser: Browser
) -> None:
    emu, hub = world
    connect(hub, emu, scope="all")
    wait_for(lambda: hub.scim_count("Users") >= USERS, timeout=60)
    ctx = browser.new_context(base_url=hub.url, viewport={"width": 1360, "height": 900})
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    try:
        page.goto("/console/")
        page.fill("input[name=email]", "preview@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/overview")
        page.goto("/console/settings")
        page.click("tr[data-instance] button:has-text('Configure')")

        # Only assigned users, and nobody is assigned: every user would be deactivated
        page.select_option("select[aria-label=Scope]", "assigned")
        page.click("button:has-text('Save scope')")
        warning = page.locator("[data-preview-warning]")
        expect(warning).to_contain_text("past the deletion threshold of 10")
        expect(page.locator("[data-preview-summary]")).to_contain_text("deactivated")
        expect(page.locator("[data-preview-examined]")).to_contain_text("Nothing has changed")
        expect(page.locator("[data-sample=deactivate]").first).to_be_visible()
        apply = page.locator("[data-preview-apply]")
        expect(apply).to_be_disabled()
        screenshot(page, "preview-past-threshold")

        # Cancel: the saved scope is untouched
        page.click(".preview button:has-text('Cancel')")
        expect(page.locator("[data-preview]")).to_be_hidden()
        with hub.api() as api:
            iid = api.get("/status").json()["instances"][0]["id"]
            assert api.get(f"/instances/{iid}/scope").json()["scope"] == "all"

        # Again, and this time the admin means it
        page.click("button:has-text('Save scope')")
        expect(apply).to_be_disabled()
        page.check("[data-preview-confirm]")
        expect(apply).to_be_enabled()
        apply.click()
        expect(page.locator("[data-notice]")).to_contain_text("Scope of")
        with hub.api() as api:
            assert api.get(f"/instances/{iid}/scope").json()["scope"] == "assigned"
    finally:
        ctx.close()
