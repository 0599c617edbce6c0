"""The console in a real browser: sign in, browse users and groups, the logs, and the
settings card driven by the integration API."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from .conftest import ConsoleSite, screenshot, sign_in

pytestmark = pytest.mark.browser

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PEOPLE = [
    ("ann.archer", "Ann", "Archer"),
    ("bob.baker", "Bob", "Baker"),
    ("carla.cole", "Carla", "Cole"),
    ("dev.dunn", "Dev", "Dunn"),
]


@pytest.fixture(scope="module")
def directory(site: ConsoleSite) -> dict[str, str]:
    """A few users and a group, provisioned over SCIM like Entra would."""
    ids = {}
    with site.hub.client() as scim:
        for login, given, family in PEOPLE:
            r = scim.post(
                "/Users",
                json={
                    "schemas": [USER],
                    "userName": f"{login}@contoso.example",
                    "externalId": f"{given.lower()}-0001",
                    "displayName": f"{given} {family}",
                    "name": {"givenName": given, "familyName": family},
                    "emails": [
                        {"value": f"{login}@contoso.example", "type": "work", "primary": True}
                    ],
                },
            )
            assert r.status_code == 201, r.text
            ids[login] = r.json()["id"]
        r = scim.post(
            "/Groups",
            json={
                "schemas": [GROUP],
                "displayName": "Sales EMEA",
                "members": [{"value": v} for v in ids.values()],
            },
        )
        assert r.status_code == 201, r.text
        ids["group"] = r.json()["id"]
        assert scim.get("/Users/does-not-exist").status_code == 404  # a failure to log
    return ids


def test_sign_in_and_browse_the_directory(admin_page: Page, directory: dict[str, str]) -> None:
    page = admin_page
    expect(page.locator("h1")).to_have_text("Overview")
    screenshot(page, "overview")

    page.click("nav >> text=Users")
    expect(page.locator("table")).to_contain_text("ann.archer@contoso.example")
    page.fill("input[name=q]", "archer")
    page.press("input[name=q]", "Enter")
    expect(page.locator("table tbody tr")).to_have_count(1)
    screenshot(page, "users")
    page.click("text=ann.archer@contoso.example")
    expect(page.locator("h1")).to_contain_text("Ann Archer")
    expect(page.locator(".chips")).to_contain_text("Sales EMEA")
    screenshot(page, "user")

    page.click(".chips >> text=Sales EMEA")
    expect(page.locator(".pager-count")).to_contain_text("1-4 of 4 members")

    page.click("nav >> text=Provisioning log")
    page.select_option("select[name=outcome]", "failure")
    page.click("text=Filter")
    expect(page.locator("table tbody")).to_contain_text("404")
    expect(page.locator("table tbody")).not_to_contain_text("POST")
    screenshot(page, "provisioning-log")

    page.click("nav >> text=Audit log")
    expect(page.locator("table tbody")).to_contain_text("signin")


def test_sign_out(admin_page: Page) -> None:
    admin_page.click("text=Sign out")
    expect(admin_page.locator(".notice-ok")).to_have_text("You are signed out.")
    admin_page.goto("/console/users")
    expect(admin_page).to_have_url(re.compile(r"/console/login\?next="))


INSTANCE = {
    "id": "inst-1",
    "name": "scimhub Identity - Contoso",
    "tenantId": "7d0c8a52-0000-4000-8000-000000000001",
    "tenantDomain": "contoso.example",
    "mode": "push",
    "jobStatus": "Active",
    "autoSync": True,
    "scope": "assigned",
    "mappings": [{"source": "userPrincipalName", "target": "userName"}],
    "lastExecution": {
        "state": "Succeeded",
        "timeBegan": "2024-05-21T22:40:00Z",
        "timeEnded": "2024-05-21T22:41:00Z",
        "countExported": 4,
        "countImported": 4,
        "error": None,
    },
    "lastSuccessfulExecution": None,
    "quarantine": None,
    "counts": {"users": 4, "groups": 1},
}
STATUS = {
    "allowSync": True,
    "configured": True,
    "consentUrl": None,
    "instances": [INSTANCE],
    "trackingId": "x",
}


COST_CENTER = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:costCenter"
MAPPINGS = {
    "mappings": INSTANCE["mappings"],
    "targets": [
        {"target": "userName", "custom": False},
        {
            "target": COST_CENTER,
            "custom": True,
            "name": "costCenter",
            "type": "string",
            "multiValued": False,
        },
    ],
}

EXTENSION = "extension_0a1b2c3d4e5f60718293a4b5c6d7e8f9_costCenter"
SOURCES = {
    "sources": [
        {"source": "userPrincipalName", "extension": False},
        {
            "source": EXTENSION,
            "extension": True,
            "type": "String",
            "multiValued": False,
            "app": "HR sync",
        },
    ]
}


def fake_integration(page: Page, calls: list[dict[str, str | None]]) -> None:
    """Answer the integration API in the page, recording what the console sent."""

    def answer(route: Route) -> None:
        request = route.request
        calls.append(
            {
                "method": request.method,
                "url": request.url,
                "tracking": request.headers.get("trackingid"),
                "csrf": request.headers.get("x-csrf-token"),
                "body": request.post_data,
            }
        )
        doc = (
            STATUS
            if request.url.endswith("/status")
            else MAPPINGS
            if request.url.endswith("/mappings")
            else SOURCES
            if request.url.endswith("/mappingSources")
            else INSTANCE
        )
        route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps(doc),
            headers={"TrackingID": request.headers.get("trackingid", "")},
        )

    page.route("**/extIntegration/azureAD/*/v1/**", answer)


def test_settings_card_drives_the_integration_api(admin_page: Page) -> None:
    calls: list[dict[str, str | None]] = []
    fake_integration(admin_page, calls)
    admin_page.click("nav >> text=Organization Settings")
    row = admin_page.locator("tr[data-instance='inst-1']")
    expect(row).to_contain_text("scimhub Identity - Contoso")
    expect(row.locator(".badge")).to_have_text("Active")
    expect(row.locator(".badge")).to_have_class(re.compile("status-Active"))
    expect(row.locator("input[data-auto-sync]")).to_be_checked()
    expect(admin_page.locator("[data-allow-sync]")).to_be_checked()
    screenshot(admin_page, "settings")

    row.locator(".slider").click()  # Auto sync off
    row.locator("[data-sync-now]").click()
    expect(admin_page.locator("[data-notice]")).to_contain_text("Sync of")
    posts = [c for c in calls if c["method"] == "POST"]
    assert [p["url"].rsplit("/", 1)[1] for p in posts if p["url"]] == ["autoSync", "syncNow"]
    assert json.loads(posts[0]["body"] or "") == {"enabled": False}
    csrf = admin_page.get_attribute("meta[name=csrf-token]", "content")
    assert all(p["csrf"] == csrf for p in posts)
    ids = [c["tracking"] or "" for c in calls]
    assert all(re.fullmatch(r"CONSOLE_[0-9a-f-]{36}_\d+", t) for t in ids)
    assert [int(t.rsplit("_", 1)[1]) for t in ids] == list(range(1, len(ids) + 1))


def test_read_only_admins_see_the_controls_disabled(
    context: BrowserContext, site: ConsoleSite
) -> None:
    page = context.new_page()
    calls: list[dict[str, str | None]] = []
    fake_integration(page, calls)
    sign_in(page, site.viewer_email)
    page.goto("/console/settings")
    row = page.locator("tr[data-instance='inst-1']")
    expect(row.locator("input[data-auto-sync]")).to_be_disabled()
    expect(row.locator("[data-sync-now]")).to_be_disabled()
    expect(page.locator("[data-setup] button")).to_be_disabled()
    expect(page.locator("[data-allow-sync]")).to_be_disabled()


def test_mapping_editor_suggests_the_orgs_own_attributes(admin_page: Page) -> None:
    calls: list[dict[str, str | None]] = []
    fake_integration(admin_page, calls)
    admin_page.click("nav >> text=Organization Settings")
    admin_page.locator("tr[data-instance='inst-1'] >> text=Configure").click()
    options = admin_page.locator("datalist[data-mapping-targets] option")
    expect(options).to_have_count(2)
    expect(options.nth(1)).to_have_attribute("value", COST_CENTER)
    expect(options.nth(1)).to_have_text("costCenter: custom string")
    target = admin_page.locator("[data-mapping] input[aria-label='Target attribute']").first
    assert target.get_attribute("list") == "mapping-targets-inst-1"
    # and the tenant's directory extensions as sources
    sources = admin_page.locator("datalist[data-mapping-sources] option")
    expect(sources).to_have_count(2)
    expect(sources.nth(1)).to_have_attribute("value", EXTENSION)
    expect(sources.nth(1)).to_have_text("directory extension (String) of HR sync")
    source = admin_page.locator("[data-mapping] input[aria-label='Source attribute']").first
    assert source.get_attribute("list") == "mapping-sources-inst-1"
