"""Playwright (sync API) driving Debian's Chromium against a live `scimhub serve`.

Never `playwright install`: the browser is the system's /usr/bin/chromium. The tests are
skipped, saying why, only when that binary is missing.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import LiveHub, live_hub

__all__ = ["live_hub"]  # the fixture, imported to be shared with the e2e tests

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PASSWORD = "correct horse battery staple"

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's Chromium at /usr/bin/chromium", allow_module_level=True
    )

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright  # noqa: E402


@dataclass(frozen=True)
class ConsoleSite:
    hub: LiveHub
    admin_email: str
    viewer_email: str

    @property
    def url(self) -> str:
        return self.hub.url


def _create_admin(hub: LiveHub, email: str, role: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "scimhub",
            "admin",
            "create",
            "--org",
            hub.org_id,
            "--email",
            email,
            "--role",
            role,
            "--password-stdin",
        ],
        env=hub.env,
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def site(live_hub: LiveHub) -> ConsoleSite:
    tag = uuid.uuid4().hex[:6]
    admin, viewer = f"ada-{tag}@example.com", f"vic-{tag}@example.com"
    _create_admin(live_hub, admin, "admin")
    _create_admin(live_hub, viewer, "readonly")
    return ConsoleSite(live_hub, admin, viewer)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module: Playwright's sync API keeps an event loop running on the main thread
    while it lives, which would break later tests that call asyncio.run()."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser, site: ConsoleSite) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=site.url, viewport={"width": 1360, "height": 860})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


def sign_in(page: Page, email: str) -> None:
    page.goto("/console/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/overview")


@pytest.fixture
def admin_page(context: BrowserContext, site: ConsoleSite) -> Page:
    page = context.new_page()
    sign_in(page, site.admin_email)
    return page


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
