"""The sign-in and consent pages in Chromium: their Content-Security-Policy lets the forms
end in the redirect back to the app (Chromium checks form-action on every redirect after
a form submission), and nothing on the pages is blocked.

Never `playwright install`: the browser is the system's /usr/bin/chromium; the module is
skipped, saying why, when it is missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from scimhub.emulator.constants import DEFAULT_ADMIN_PASSWORD, INTEGRATION_APP_ID

from .conftest import EmulatorHandle, ThreadedServer, free_port

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's Chromium at /usr/bin/chromium", allow_module_level=True
    )

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

pytestmark = pytest.mark.browser
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def callback() -> Iterator[str]:
    """The app's redirect URI: plain http on loopback, another origin than the emulator."""

    async def landed(request: Request) -> PlainTextResponse:
        return PlainTextResponse("landed")

    port = free_port()
    with ThreadedServer(Starlette(routes=[Route("/callback", landed)]), port):
        yield f"http://127.0.0.1:{port}/callback"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _page(browser: Browser, blocked: list[str]) -> Page:
    page = browser.new_context(ignore_https_errors=True).new_page()
    page.set_default_timeout(10_000)
    page.on(
        "console",
        lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return page


def _sign_in(page: Page, login: str) -> None:
    page.fill("input[name=username]", login)
    page.fill("input[name=password]", DEFAULT_ADMIN_PASSWORD)
    page.click("button[type=submit]")


def test_sign_in_and_consent_land_on_the_app(
    emulator: EmulatorHandle, browser: Browser, callback: str
) -> None:
    emulator.register_redirect(callback)
    t = emulator.new_tenant(consent=False)
    params = {
        "client_id": INTEGRATION_APP_ID,
        "response_type": "code",
        "redirect_uri": callback,
        "scope": "openid profile offline_access https://graph.microsoft.com/.default",
        "state": "st-b",
        "prompt": "consent",
    }
    url = f"{emulator.base}/organizations/oauth2/v2.0/authorize?{urlencode(params)}"
    blocked: list[str] = []
    page = _page(browser, blocked)
    page.goto(url)
    assert page.evaluate("getComputedStyle(document.querySelector('main')).maxWidth") == "760px"
    _sign_in(page, f"admin@{t['domain']}")
    page.wait_for_selector("text=Permissions requested")
    page.click("button[value=accept]")  # consent POST -> 302 to the app
    page.wait_for_url(f"{callback}?*")
    assert parse_qs(urlsplit(page.url).query)["state"] == ["st-b"]
    assert page.content().count("landed") == 1
    # Consent now exists: a new browser's sign-in POST -> 303 -> 302 lands on the app too.
    again = _page(browser, blocked)
    again.goto(url.replace("&prompt=consent", ""))
    _sign_in(again, f"admin@{t['domain']}")
    again.wait_for_url(f"{callback}?*")
    assert "code" in parse_qs(urlsplit(again.url).query)
    assert blocked == []
