"""A setup link in a real browser: the operator makes it (`scimhub token create --operator`,
then the operator API), the customer's IT admin opens it, presses Continue and gets the
Azure AD card alone — set up, scope, mappings, status — with nothing of the console around
it, and toasts that link nowhere the session cannot go."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from .conftest import ConsoleSite, screenshot
from .test_console import fake_integration

pytestmark = pytest.mark.browser


def _setup_link(site: ConsoleSite) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "scimhub", "token", "create", "--operator", "--json"],
        env=site.hub.env,
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )
    token = json.loads(made.stdout)["token"]
    r = httpx.post(
        f"{site.url}/api/v1/orgs/{site.hub.org_id}/setup-links",
        json={"note": "it@contoso.example"},
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    url: str = r.json()["url"]
    return url


def test_a_setup_link_opens_the_azure_card_alone(
    context: BrowserContext, site: ConsoleSite
) -> None:
    page = context.new_page()
    link = _setup_link(site)
    page.goto(link)
    expect(page.locator("h1")).to_contain_text("Azure AD setup")
    calls: list[dict[str, str | None]] = []
    fake_integration(page, calls)
    page.click("text=Continue")
    page.wait_for_url("**/console/setup")
    row = page.locator("tr[data-instance='inst-1']")
    expect(row).to_contain_text("scimhub Identity - Contoso")
    expect(page.locator("nav")).to_have_count(0)  # no way to another page
    expect(page.locator("[data-allow-sync]")).to_have_count(0)
    expect(row.locator("[data-sync-now]")).to_have_count(0)
    expect(row.locator("input[data-auto-sync]")).to_be_disabled()
    row.locator("text=Configure").click()
    detail = page.locator("tr[data-detail-for='inst-1']")
    expect(detail.locator("text=Save scope")).to_be_visible()
    expect(detail.locator("text=Save mappings")).to_be_visible()
    expect(detail.locator("text=Provision on demand")).to_have_count(0)
    expect(detail.locator("text=Remove instance")).to_have_count(0)
    screenshot(page, "setup-wizard")
    csrf = page.get_attribute("meta[name=csrf-token]", "content")
    assert csrf and all(c["method"] == "GET" for c in calls)

    # a real call the hub refuses (no Entra app configured here): the toast offers the
    # debug info, and no link to a console page this session could not open
    page.unroute("**/extIntegration/azureAD/*/v1/**")
    page.click("[data-setup] button")
    toast = page.locator(".toast").first
    expect(toast).to_contain_text("TrackingID")
    expect(toast.locator("[data-copy-debug]")).to_be_visible()
    expect(toast.locator("a")).to_have_count(0)

    # the link is spent: opened again, it says so; and no console page lets the session in
    again = context.new_page()
    again.goto(link)
    expect(again.locator("h1")).to_contain_text("already used")
    again.goto("/console/overview")
    expect(again.locator("input[name=email]")).to_be_visible()  # the console wants a sign-in
