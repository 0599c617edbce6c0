"""The Webhooks page in a real browser, against a hub that really delivers: add an endpoint
(its secret shown once), see a SCIM change arrive signed, send a test, watch a failing
receiver put the endpoint in Retrying, retry it by hand, replay, remove."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from scimhub.config import Settings
from tests.delivery.receiver import Received, Receiver, serving
from tests.e2e.conftest import LiveHub, serve

from .conftest import ConsoleSite, _create_admin, screenshot, sign_in

pytestmark = pytest.mark.browser

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture(scope="module")
def hooks_site(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsoleSite]:
    """A hub of its own: receivers on loopback allowed, delivery in the serving process
    (on PostgreSQL too, so no worker is needed)."""
    env = {
        **os.environ,
        "SCIMHUB_DATA_DIR": str(tmp_path_factory.mktemp("hooks")),
        "SCIMHUB_WEBHOOK_ALLOW_PRIVATE": "true",
        "SCIMHUB_SCHEDULER": "inprocess",
    }
    if settings.database_url:
        env["SCIMHUB_DATABASE_URL"] = settings.database_url
    with serve(env, org_name="Hooks") as (url, org_id, token):
        hub = LiveHub(url, org_id, token, env)
        _create_admin(hub, "hank@example.com", "admin")
        yield ConsoleSite(hub, "hank@example.com", "")


@pytest.fixture
def page(browser: object, hooks_site: ConsoleSite) -> Iterator[Page]:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    ctx = browser.new_context(base_url=hooks_site.url, viewport={"width": 1360, "height": 900})
    ctx.set_default_timeout(10_000)
    p = ctx.new_page()
    sign_in(p, hooks_site.admin_email)
    yield p
    ctx.close()


def _reload_until(page: Page, selector: str, text: str, timeout: float = 15) -> None:
    """Delivery happens in the background: reload until the page shows it."""
    deadline = time.monotonic() + timeout
    while text not in page.locator(selector).inner_text():
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never appeared in {selector}")
        time.sleep(0.3)
        page.reload()


def test_endpoint_lifecycle_in_the_console(page: Page, hooks_site: ConsoleSite) -> None:
    failing = {"on": False}

    def respond(got: Received) -> tuple[int, dict[str, str]]:
        return (503, {"Retry-After": "3600"}) if failing["on"] else (200, {})

    with serving(Receiver(respond=respond)) as receiver:
        page.goto("/console/webhooks")
        expect(page.locator("h1")).to_have_text("Webhooks")
        page.fill("input[name=url]", receiver.url)
        page.check("input[name=event_types][value='user.created']")
        page.click("button:has-text('Add endpoint')")

        secret = page.locator("[data-secret]").inner_text().strip()
        assert secret.startswith("whsec_")
        receiver.secrets = [secret]
        row = page.locator("tr[id^=endpoint-]")
        expect(row).to_contain_text(receiver.url)
        expect(row).to_contain_text("user.created")
        expect(row).to_contain_text("Healthy")
        screenshot(page, "webhooks-added")

        # A SCIM write arrives, signed; the page lists the delivery with status and latency.
        with hooks_site.hub.client() as scim:
            r = scim.post("/Users", json={"schemas": [USER], "userName": "hook.one@example.com"})
            assert r.status_code == 201, r.text
        receiver.wait_for(lambda: len(receiver.acknowledged) == 1, timeout=10)
        assert not receiver.bad_signatures
        event = json.loads(receiver.requests[0].body)
        assert event["type"] == "user.created" and event["data"]["id"] == r.json()["id"]
        page.goto("/console/webhooks")
        deliveries = page.locator("tr.instance-detail table")
        _reload_until(page, "tr.instance-detail table", event["id"])
        expect(deliveries).to_contain_text("delivered")
        expect(deliveries).to_contain_text("200")
        expect(deliveries).to_contain_text(" ms")
        # The secret was shown once: it is nowhere on the page now.
        assert secret not in page.content()

        # Test: a signed webhook.test message, recorded like a delivery.
        page.click("button:has-text('Test')")
        receiver.wait_for(
            lambda: any(json.loads(x.body)["type"] == "webhook.test" for x in receiver.requests)
        )
        expect(page.locator("[role=status]")).to_be_visible()
        expect(deliveries).to_contain_text("test")

        # The receiver fails: the endpoint retries on its schedule (the receiver asked for
        # an hour), the console says so and offers "Retry now".
        failing["on"] = True
        with hooks_site.hub.client() as scim:
            r = scim.post("/Users", json={"schemas": [USER], "userName": "hook.two@example.com"})
            assert r.status_code == 201, r.text
        _reload_until(page, "tr[id^=endpoint-]", "Retrying")
        expect(row).to_contain_text("attempt 1")
        expect(deliveries).to_contain_text("503")
        screenshot(page, "webhooks-retrying")
        failing["on"] = False
        page.click("button:has-text('Retry now')")
        receiver.wait_for(lambda: len(receiver.acknowledged) == 3, timeout=10)  # 2 + the test
        _reload_until(page, "tr[id^=endpoint-]", "Healthy")

        # Replay the last hour: both user.created events again, same ids, in order.
        before = len(receiver.requests)
        page.fill("input[name=since]", "1h")
        page.click("button:has-text('Replay')")
        expect(page.locator("[role=status]")).to_be_visible()
        receiver.wait_for(lambda: len(receiver.requests) >= before + 2, timeout=10)
        replayed = [json.loads(x.body) for x in receiver.requests[before:]]
        firsts = [
            json.loads(x.body)
            for x in receiver.requests[:before]
            if json.loads(x.body)["type"] == "user.created" and x.headers.get("webhook-id")
        ]
        first_ids = list(dict.fromkeys(e["id"] for e in firsts))
        assert [e["id"] for e in replayed[:2]] == first_ids
        assert not receiver.bad_signatures

        # Remove: the endpoint is gone.
        page.once("dialog", lambda d: d.accept())
        page.click("button:has-text('Remove')")
        expect(page.locator("tr[id^=endpoint-]")).to_have_count(0)
        expect(page.locator("td.empty").first).to_contain_text("No webhook endpoints yet")
