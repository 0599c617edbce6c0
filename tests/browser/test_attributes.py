"""Organization Settings > User attributes in a real browser: from the settings page to the
attributes page, an attribute added through the form and listed."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from scimhub.api.services import Hub
from scimhub.config import Settings

from .conftest import ConsoleSite, screenshot

pytestmark = pytest.mark.browser

EXT = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


def test_an_attribute_is_added_through_the_page(admin_page: Page, site: ConsoleSite) -> None:
    page = admin_page
    name = f"cost{uuid.uuid4().hex[:6]}"
    page.goto("/console/settings")
    page.get_by_role("link", name="User attributes", exact=True).click()
    page.wait_for_url("**/console/settings/attributes?resource=User")
    expect(page.locator("[data-profile-attributes]")).to_contain_text("userName")

    form = page.locator("[data-add-attribute]")
    form.locator("input[name=name]").fill(name)
    form.locator("select[name=type]").select_option("string")
    form.locator("input[name=unique]").check()
    form.get_by_role("button", name="Add attribute").click()
    expect(page.locator(".notice-ok")).to_have_text(f"Defined {EXT}:{name}.")
    row = page.locator(f'tr[data-attribute="{EXT}:{name}"]')
    expect(row).to_contain_text("string")
    screenshot(page, "user-attributes")

    hub = Hub.open(Settings.from_env(site.hub.env))  # leave the shared org as it was
    try:
        for d in hub.attributes.definitions(site.hub.org_id):
            if d.definition.name == name:
                hub.attributes.remove(site.hub.org_id, d.id)
    finally:
        hub.close()
