"""The admin-consent page, followed as a browser would with httpx."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from scimhub.emulator.apps import delete_sp, find_sp
from scimhub.emulator.constants import INTEGRATION_APP_ID

from . import browserless
from .conftest import EmulatorHandle

REDIRECT = "https://hub.example/consent-callback"


@pytest.fixture(autouse=True)
def registered(emulator: EmulatorHandle) -> None:
    emulator.register_redirect(REDIRECT)


def _consent_page(
    c: httpx.Client, segment: str, login: str, path: str = "adminconsent", **extra: str
) -> httpx.Response:
    params = {"client_id": INTEGRATION_APP_ID, "redirect_uri": REDIRECT, "state": "s-42", **extra}
    page = browserless.sign_in(c, c.get(f"/{segment}/{path}?{urlencode(params)}"), login)
    assert browserless.is_consent(page) and "Read all audit log data" in page.text
    return page


def test_accept_recreates_the_service_principal_and_audits(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    with emulator.emu.engine.begin() as conn:
        delete_sp(conn, t["id"], t["sp_id"], t["admin"])
    with emulator.client() as c:
        r = browserless.decide(c, _consent_page(c, "common", f"admin@{t['domain']}"))
    assert r.status_code == 302
    target = urlsplit(r.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    assert parse_qs(target.query) == {
        "admin_consent": ["True"],
        "tenant": [t["id"]],
        "state": ["s-42"],
    }
    with emulator.graph(t["id"]) as g:  # the new SP gets tokens again
        audits = g.get("/v1.0/auditLogs/directoryAudits").json()["value"]
    names = [a["activityDisplayName"] for a in audits]
    assert names[:1] == ["Consent to application"]
    assert "Add service principal" in names and "Remove service principal" in names
    assert names.count("Add app role assignment to service principal") == 10  # 5 roles x 2


def test_v2_admin_consent_returns_the_scope(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(consent=False)
    scope = "https://graph.microsoft.com/.default"
    with emulator.client() as c:
        page = _consent_page(
            c, "organizations", f"admin@{t['domain']}", "v2.0/adminconsent", scope=scope
        )
        r = browserless.decide(c, page)
        assert r.status_code == 302
        assert parse_qs(urlsplit(r.headers["location"]).query) == {
            "admin_consent": ["True"],
            "tenant": [t["id"]],
            "scope": [scope],
            "state": ["s-42"],
        }
        missing = c.get(f"/common/v2.0/adminconsent?client_id={INTEGRATION_APP_ID}")
        assert missing.status_code == 400 and "AADSTS900144" in missing.text


def test_without_redirect_uri_the_page_says_done(emulator: EmulatorHandle) -> None:
    """What the troubleshooter links to: no redirect URI, a closing page."""
    t = emulator.new_tenant(consent=False)
    with emulator.client() as c:
        page = browserless.sign_in(
            c, c.get(f"/common/adminconsent?client_id={INTEGRATION_APP_ID}"), f"admin@{t['domain']}"
        )
        done = browserless.decide(c, page)
    assert done.status_code == 200 and "Permissions granted" in done.text
    with emulator.emu.engine.connect() as conn:
        assert find_sp(conn, t["id"], INTEGRATION_APP_ID) is not None


def test_cancel_redirects_with_access_denied(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(consent=False)
    with emulator.client() as c:
        page = _consent_page(c, t["id"], f"admin@{t['domain']}")
        r = browserless.decide(c, page, "cancel")
    assert r.status_code == 302
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["error"] == ["access_denied"] and query["error_subcode"] == ["cancel"]
    assert query["state"] == ["s-42"]
    assert query["error_description"][0].startswith("AADSTS65004")


def test_forged_or_replayed_decision_is_refused(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(consent=False)
    with emulator.client() as c:
        page = _consent_page(c, t["id"], f"admin@{t['domain']}")
        form = browserless.hidden(page.text)
        tampered = {"csrf": form["csrf"][:-2] + "xx", "decision": "accept"}
        assert c.post(f"/{t['id']}/adminconsent", data=tampered).status_code == 403
        # Posted to another flow's endpoint: refused, the token names its own.
        assert (
            c.post(f"/{t['id']}/v2.0/adminconsent", data={**form, "decision": "accept"}).status_code
            == 403
        )
        with emulator.client() as other:  # no session cookie: the token alone is not enough
            r = other.post(f"/{t['id']}/adminconsent", data={**form, "decision": "accept"})
            assert r.status_code == 403
        assert browserless.decide(c, page, "cancel").status_code == 302
        replay = browserless.decide(c, page, "accept")
        assert replay.status_code == 403 and "could not be verified" in replay.text
    with emulator.emu.engine.connect() as conn:
        assert find_sp(conn, t["id"], INTEGRATION_APP_ID) is None


def test_wrong_password_and_bad_redirect(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(consent=False)
    with emulator.client() as c:
        page = c.get(f"/{t['id']}/adminconsent?client_id={INTEGRATION_APP_ID}")
        r = c.post(
            browserless.action(page.text),
            data={
                **browserless.hidden(page.text),
                "username": f"admin@{t['domain']}",
                "password": "nope",
            },
        )
        assert r.status_code == 200 and "incorrect" in r.text
        for redirect in ("javascript:alert(1)", "https://evil.example/consent-callback"):
            r = c.get(
                f"/{t['id']}/adminconsent",
                params={"client_id": INTEGRATION_APP_ID, "redirect_uri": redirect},
            )
            assert r.status_code == 400 and "AADSTS50011" in r.text
        r = c.get(f"/{t['id']}/adminconsent", params={"client_id": "nope"})
        assert r.status_code == 400 and "AADSTS700016" in r.text
