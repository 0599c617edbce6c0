"""The seed's error toast: an integration API call fails, the toast says so with the
tracking id, and "Copy Debug Info" puts the seed's block on the clipboard."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from scimhub import __version__
from scimhub.api.integration import error_body
from scimhub.integrations.entra.errors import Unauthorized

from .conftest import ConsoleSite, screenshot

pytestmark = pytest.mark.browser

SEED_MESSAGE = (
    "Azure AD integration error. The request was unauthorized. Please sign out "
    "and try again. TrackingID: {}"
)


def unauthorized(route: Route) -> None:
    """What the hub answers once Entra refused its credentials (the integration app's
    service principal was deleted): the seed's 401 body, with the words for the toast,
    and the console's tracking id."""
    tid = route.request.headers["trackingid"]
    body = error_body(Unauthorized("9afc732a-2dcf-44e0-8bd8-49db92e483b7"), tid)
    route.fulfill(
        status=401,
        content_type="application/json",
        body=json.dumps(body),
        headers={"TrackingID": tid},
    )


def test_401_toast_and_debug_info(admin_page: Page, site: ConsoleSite) -> None:
    page = admin_page
    page.route("**/extIntegration/azureAD/*/v1/status", unauthorized)
    page.goto("/console/settings")
    toast = page.locator(".toast")
    expect(toast).to_have_count(1)
    tid = toast.get_attribute("data-tracking-id") or ""
    assert re.fullmatch(r"CONSOLE_[0-9a-f-]{36}_1", tid)
    expect(toast.locator(".toast-head strong")).to_have_text("scimhub Error")
    expect(toast.locator(".toast-message")).to_have_text(SEED_MESSAGE.format(tid))
    expect(toast.locator("a", has_text="Check for Open Incidents")).to_have_attribute(
        "href", "/console/status"
    )
    screenshot(page, "toast")

    toast.locator("text=Copy Debug Info").click()
    expect(toast.locator(".toast-note")).to_contain_text("copied")
    text = page.evaluate("navigator.clipboard.readText()")
    lines = text.splitlines()
    body = page.locator("body")
    assert lines[0] == "Referrer: scimhub notification toaster-links"
    assert lines[1] == f"Browser URL: {site.url}/console/settings"
    assert lines[2] == f"Build: {__version__}"
    assert lines[3] == f"View Org ID: {site.hub.org_id}"
    assert lines[4] == f"Logged-in User ID: {body.get_attribute('data-admin-id')}"
    assert lines[5] == f"Logged-in User Org ID: {site.hub.org_id}"
    assert re.fullmatch(
        r"Logged-in User Clock UTC: \w{3}, \d{2} \w{3} \d{4} "
        r"\d{2}:\d{2}:\d{2} GMT",
        lines[6],
    )
    assert lines[7:11] == [
        "Customer Type: Enterprise",
        "Status: 401",
        "Status Text: Unauthorized",
        f"URL: {site.url}/extIntegration/azureAD/{site.hub.org_id}/v1/status",
    ]
    assert lines[11] == f"Tracking ID: {tid}"
    error = text[text.index("Error: ") + 7 : text.index("\nMessage: ")]
    assert json.loads(error)["error"]["message"][0]["code"] == "701018"
    assert lines[-1] == f"Message: {SEED_MESSAGE.format(tid)}"
    csrf = page.get_attribute("meta[name=csrf-token]", "content") or "?"
    cookies = [c["value"] for c in page.context.cookies()]
    assert csrf not in text and not any(c in text for c in cookies)


def test_debug_info_without_a_clipboard(context: BrowserContext, admin_page: Page) -> None:
    """Plain http on a LAN has no clipboard API: the block is shown to copy by hand."""
    page = admin_page
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page.route("**/extIntegration/azureAD/*/v1/status", unauthorized)
    page.goto("/console/settings")
    page.locator(".toast >> text=Copy Debug Info").click()
    area = page.locator(".toast textarea")
    expect(area).to_be_visible()
    assert area.input_value().startswith("Referrer: scimhub notification toaster-links")


def test_a_real_failing_call_shows_a_toast(admin_page: Page) -> None:
    """Through the live hub, no faking: an instance that does not exist."""
    status = admin_page.evaluate("""async () => {
        const base = `/extIntegration/azureAD/${document.body.dataset.orgId}/v1`;
        try { await window.scimhub.api("GET", `${base}/instances/no-such-instance/scope`); }
        catch (err) { return err.failure.status; }
        return 200;
    }""")
    assert status == 404
    toast = admin_page.locator(".toast").first
    expect(toast.locator(".toast-message")).to_contain_text("TrackingID: CONSOLE_")
