"""The admin-consent page, followed as a browser would with httpx."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx

from scimhub.emulator.apps import delete_sp
from scimhub.emulator.constants import DEFAULT_ADMIN_PASSWORD, INTEGRATION_APP_ID

from .conftest import EmulatorHandle

REDIRECT = "https://hub.example/consent-callback"


def _hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def _sign_in(c: httpx.Client, segment: str, login: str) -> str:
    r = c.get(f"/{segment}/adminconsent", params={
        "client_id": INTEGRATION_APP_ID, "redirect_uri": REDIRECT, "state": "s-42"})
    assert r.status_code == 200 and 'name="password"' in r.text
    form = _hidden(r.text)
    r = c.post(f"/{segment}/login", data={"username": login, "password": DEFAULT_ADMIN_PASSWORD,
                                          "return_to": form["return_to"].replace("&amp;", "&")})
    assert r.status_code == 303
    r = c.get(r.headers["location"])
    assert r.status_code == 200 and "Permissions requested" in r.text
    assert "Read all audit log data" in r.text
    return r.text


def test_accept_recreates_the_service_principal_and_audits(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    with emulator.emu.engine.begin() as conn:
        delete_sp(conn, t["id"], t["sp_id"], t["admin"])
    login = f"admin@{t['domain']}"
    with emulator.client() as c:
        page = _sign_in(c, "common", login)
        r = c.post("/common/adminconsent", data={**_hidden(page), "decision": "accept"})
    assert r.status_code == 302
    target = urlsplit(r.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    assert parse_qs(target.query) == {"admin_consent": ["True"], "tenant": [t["id"]],
                                      "state": ["s-42"]}
    with emulator.graph(t["id"]) as g:  # the new SP gets tokens again
        audits = g.get("/v1.0/auditLogs/directoryAudits").json()["value"]
    names = [a["activityDisplayName"] for a in audits]
    assert names[:1] == ["Consent to application"]
    assert "Add service principal" in names and "Remove service principal" in names
    assert names.count("Add app role assignment to service principal") == 10  # 5 roles x 2


def test_cancel_redirects_with_access_denied(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(consent=False)
    with emulator.client() as c:
        page = _sign_in(c, t["id"], f"admin@{t['domain']}")
        r = c.post(f"/{t['id']}/adminconsent", data={**_hidden(page), "decision": "cancel"})
    assert r.status_code == 302
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["s-42"]
    assert query["error_description"][0].startswith("AADSTS65004")


def test_forged_decision_is_refused(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(consent=False)
    with emulator.client() as c:
        page = _sign_in(c, t["id"], f"admin@{t['domain']}")
        form = {**_hidden(page), "decision": "accept", "redirect_uri": "https://evil.example/"}
        assert c.post(f"/{t['id']}/adminconsent", data=form).status_code == 403
    with emulator.client() as other:  # no session cookie: CSRF token alone is not enough
        r = other.post(f"/{t['id']}/adminconsent", data={**_hidden(page), "decision": "accept"})
        assert r.status_code == 403


def test_wrong_password_and_bad_redirect(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(consent=False)
    with emulator.client() as c:
        r = c.post(f"/{t['id']}/login", data={"username": f"admin@{t['domain']}",
                                              "password": "nope", "return_to": "/x"})
        assert r.status_code == 200 and "incorrect" in r.text
        r = c.get(f"/{t['id']}/adminconsent", params={
            "client_id": INTEGRATION_APP_ID, "redirect_uri": "javascript:alert(1)"})
        assert r.status_code == 400 and "AADSTS50011" in r.text
        r = c.get(f"/{t['id']}/adminconsent", params={"client_id": "nope"})
        assert r.status_code == 400 and "AADSTS700016" in r.text
