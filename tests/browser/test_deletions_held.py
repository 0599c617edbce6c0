"""Deletions held in a real browser: the instance's row on Organization Settings shows the
badge, which leads to the held list; Approve all asks first, then applies them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from scimhub.api.services import Hub
from scimhub.config import Settings
from scimhub.directory.actor import Actor
from scimhub.directory.deletion_brake import Action, Noted, Threshold
from scimhub.directory.instances import Mode
from scimhub.directory.locator import Locator

from .conftest import ConsoleSite, screenshot

pytestmark = pytest.mark.browser

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def held(site: ConsoleSite) -> Iterator[tuple[Hub, str, list[str]]]:
    """A pull instance in the live hub's org whose last round held 3 user removals (gone
    again afterwards: the org is shared with the other browser tests)."""
    hub = Hub.open(Settings.from_env(site.hub.env))
    try:
        org = site.hub.org_id
        loc = Locator(site.url, org)
        instance = hub.instances.create(
            org,
            str(uuid.uuid4()),
            name=f"Fabrikam {uuid.uuid4().hex[:4]}",
            mode=Mode.PULL,
            scope="all",
            mappings=[],
            auto_sync=False,
        )
        hub.brake.set_threshold(
            org, Threshold(count=1, percent=None), instance=instance, actor=Actor("t", "T")
        )
        instance = hub.instances.get(org, instance.id) or instance
        ids = [
            hub.users.create(
                org, {"schemas": [USER], "userName": f"gone-{uuid.uuid4().hex[:6]}"}, loc
            )["id"]
            for _ in range(3)
        ]
        hub.brake.note(instance, [Noted(f"o-{i}", "User", i, Action.DEACTIVATE) for i in ids])
        assert hub.brake.settle(instance, loc).held == 3
        yield hub, instance.id, ids
        hub.instances.delete(instance)
    finally:
        hub.close()


def test_the_badge_leads_to_the_list_and_approve_applies(
    admin_page: Page, site: ConsoleSite, held: tuple[Hub, str, list[str]]
) -> None:
    hub, instance_id, ids = held
    page = admin_page
    page.goto("/console/settings")
    badge = page.locator(f'tr[data-instance="{instance_id}"] [data-deletions-held]')
    expect(badge).to_have_text("Deletions held: 3")
    expect(page.locator("[data-deletions-alert]").first).to_be_visible()
    screenshot(page, "deletions-held-settings")

    badge.click()
    page.wait_for_url(f"**/console/deletions?instance={instance_id}")
    expect(page.locator("h1")).to_have_text("Deletions held: 3")
    expect(page.locator("tr[data-removal]")).to_have_count(3)
    screenshot(page, "deletions-held-list")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Approve all").click()
    expect(page.locator(".notice-ok")).to_have_text("3 removal(s) applied.")
    expect(page.locator("tr[data-removal]")).to_have_count(0)
    assert hub.brake.held_count(instance_id) == 0
    loc = Locator(site.url, site.hub.org_id)
    assert all(hub.users.get(site.hub.org_id, i, loc)["active"] is False for i in ids)
