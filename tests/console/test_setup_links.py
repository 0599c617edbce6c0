"""Setup links, attacked: a link is used once (a second use, a used, expired, revoked or
unknown link answers a page saying so, audited); what it opens is one organisation's setup
wizard and status and nothing else — no other console page, no other organisation, no other
integration route, no `/api/v1` or SCIM route; its session needs the CSRF token like the
console's, ends when it expires, when the link is revoked or when the admin finishes; and
the consent round trip it begins comes back only in the session that began it."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx2
import pytest
from sqlalchemy import update
from starlette.routing import Route
from starlette.testclient import TestClient

from scimhub.api import routes as api_routes
from scimhub.api.auth import SETUP_COOKIE
from scimhub.api.integration import CONSENT_CALLBACK
from scimhub.api.services import Hub
from scimhub.console import routes as console_routes
from scimhub.store.engine import utcnow
from scimhub.store.tables import setup_links
from tests.api.operator_client import Operator, operator
from tests.brake_setup import pull_instance
from tests.console.conftest import Console

_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
SETUP_ROUTES = {"/setup-link/{secret}", "/setup", "/setup/finish"}
# The integration routes a setup link's session may call (the wizard's): set up, status,
# scope, mappings and their sources, the preview. Every other one refuses it.
WIZARD = {
    ("GET", "/status"),
    ("POST", "/setup"),
    ("GET", "/instances/{instance_id}/scope"),
    ("PUT", "/instances/{instance_id}/scope"),
    ("GET", "/instances/{instance_id}/mappings"),
    ("PUT", "/instances/{instance_id}/mappings"),
    ("GET", "/instances/{instance_id}/mappingSources"),
    ("POST", "/instances/{instance_id}/preview"),
}


@dataclass
class Link:
    org_id: str
    id: str
    url: str

    @property
    def path(self) -> str:
        return "/" + self.url.split("/", 3)[3]

    @property
    def secret(self) -> str:
        return self.url.rsplit("/", 1)[1]


@pytest.fixture
def op(hub: Hub, app_client: TestClient) -> Operator:
    return operator(hub, app_client)


def _link(op: Operator, org_id: str | None = None) -> Link:
    org_id = org_id or op.new_org("Contoso")
    made = op.ok("POST", f"/orgs/{org_id}/setup-links", 201, json={"note": "it@contoso"})
    assert made["state"] == "active" and made["url"].startswith("https://hub.test/")
    return Link(org_id, made["id"], made["url"])


def _use(browser: Console, link: Link) -> httpx2.Response:
    """Open the link and press Continue, as a person would."""
    landing = browser.http.get(link.path)
    assert landing.status_code == 200, landing.text
    token = _FORM_TOKEN.search(landing.text)
    assert token, landing.text
    return browser.http.post(link.path, data={"csrf_token": token.group(1)}, follow_redirects=False)


def _in_setup(browser: Console, link: Link) -> str:
    """Use the link; the wizard's CSRF token."""
    used = _use(browser, link)
    assert (used.status_code, used.headers["location"]) == (303, "/console/setup")
    wizard = browser.http.get("/console/setup")
    assert wizard.status_code == 200
    match = _CSRF_META.search(wizard.text)
    assert match
    return match.group(1)


def _audit(hub: Hub, org_id: str) -> list[tuple[str, str | None]]:
    entries, _ = hub.audit.events(org_id, limit=100)
    return [(e.action, e.detail.get("reason")) for e in reversed(entries) if "setup" in e.action]


def test_a_link_opens_the_wizard_once(
    hub: Hub, op: Operator, make_console: Callable[[], Console]
) -> None:
    link = _link(op)
    browser = make_console()
    landing = browser.http.get(link.path)
    assert "Contoso" in landing.text and "Continue" in landing.text
    assert browser.http.get(link.path).status_code == 200  # looking is not using
    _in_setup(browser, link)
    wizard = browser.http.get("/console/setup").text
    assert 'id="azure-card"' in wizard and "data-wizard" in wizard
    assert f"/extIntegration/azureAD/{link.org_id}/v1" in wizard
    # no way to another page: no navigation, no console link but the static files
    assert re.findall(r'href="(/console/[^"]*)"', wizard) == ["/console/static/console.css"]
    assert "data-allow-sync" not in wizard
    listed = op.ok("GET", f"/orgs/{link.org_id}/setup-links")["data"]
    assert [(x["id"], x["state"]) for x in listed] == [(link.id, "used")]
    assert listed[0]["usedAt"] and listed[0]["sessionExpiresAt"]

    # a second use, in the same browser or another, answers that it was used
    for again in (browser, make_console()):
        page = again.http.get(link.path)
        assert page.status_code == 410 and "already used" in page.text
        assert _FORM_TOKEN.search(page.text) is None  # no Continue to press
    # and pressing Continue on a page kept open from before is refused as well
    late = make_console()
    kept_open = _FORM_TOKEN.search(late.http.get(_link(op, link.org_id).path).text)
    assert kept_open
    forced = late.http.post(link.path, data={"csrf_token": kept_open.group(1)})
    assert forced.status_code == 410 and "already used" in forced.text
    assert _audit(hub, link.org_id) == [
        ("setup_link.created", None),
        ("setup_link.used", None),
        ("setup_link.refused", "used"),
        ("setup_link.refused", "used"),
        ("setup_link.created", None),  # the one opened by the late browser
        ("setup_link.refused", "used"),
    ]


def test_two_uses_racing_make_one_session(hub: Hub, op: Operator) -> None:
    from scimhub.directory.setup_links import LinkRefused, LinkState, Visit

    link = _link(op)
    hub.setup_links.redeem(link.secret, visit=Visit(None, None))
    with pytest.raises(LinkRefused) as refused:
        hub.setup_links.redeem(link.secret, visit=Visit(None, None))
    assert refused.value.state is LinkState.USED


def test_expired_revoked_and_unknown_links_say_so(
    hub: Hub, op: Operator, make_console: Callable[[], Console]
) -> None:
    expired, revoked = _link(op), _link(op)
    with hub.db.write() as conn:
        conn.execute(
            update(setup_links)
            .where(setup_links.c.id == expired.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert op.ok("DELETE", f"/orgs/{revoked.org_id}/setup-links/{revoked.id}")["state"] == (
        "revoked"
    )
    browser = make_console()
    for link, status, words, reason in (
        (expired, 410, "has expired", "expired"),
        (revoked, 410, "was revoked", "revoked"),
    ):
        page = browser.http.get(link.path)
        assert (page.status_code, words in page.text) == (status, True), page.text
        assert "Continue" not in page.text
        assert _audit(hub, link.org_id)[-1] == ("setup_link.refused", reason)
    unknown = browser.http.get(f"/console/setup-link/{secrets.token_urlsafe(32)}")
    assert unknown.status_code == 404 and "not valid" in unknown.text
    assert browser.http.get("/console/setup").status_code == 401  # no session came of any


def test_the_continue_form_needs_its_token_and_the_hubs_origin(
    op: Operator, make_console: Callable[[], Console]
) -> None:
    link = _link(op)
    browser = make_console()
    token = _FORM_TOKEN.search(browser.http.get(link.path).text)
    assert token
    for data, headers in (
        ({}, {}),
        ({"csrf_token": "forged"}, {}),
        ({"csrf_token": token.group(1)}, {"Origin": "https://evil.example"}),
    ):
        r = browser.http.post(link.path, data=data, headers=headers, follow_redirects=False)
        assert r.status_code == 403, r.text
    # another site's forced post spent nothing: the link still works
    assert op.ok("GET", f"/orgs/{link.org_id}/setup-links")["data"][0]["state"] == "active"
    _in_setup(browser, link)


def _console_paths() -> list[tuple[str, str]]:
    """Every console route but the wizard's, with its parameters filled in."""
    found = []
    for route in console_routes.routes:
        if not isinstance(route, Route) or route.path in SETUP_ROUTES:
            continue
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            found.append((method, f"/console{path}"))
    return found


def test_the_session_opens_no_other_console_page(
    op: Operator, make_console: Callable[[], Console]
) -> None:
    link = _link(op)
    browser = make_console()
    csrf = _in_setup(browser, link)
    paths = _console_paths()
    assert ("GET", "/console/overview") in paths and ("POST", "/console/settings/admins") in paths
    for method, path in paths:
        r = browser.http.request(
            method, path, headers={"X-CSRF-Token": csrf}, follow_redirects=False
        )
        if path == "/console/login":  # anyone's: the form, as to a stranger
            assert 'action="/console/login"' in r.text or r.status_code == 403
        elif path.startswith("/console/login/"):  # Sign in with Microsoft: anyone's too
            assert r.status_code in (200, 303, 400, 403, 404), (path, r.status_code)
            assert "scimhub_session" not in r.headers.get("set-cookie", "")
        elif method == "GET" and path != "/console/":
            assert r.status_code == 303, (path, r.status_code)
            assert r.headers["location"].startswith("/console/login")
        elif method != "GET":
            assert r.status_code == 401, (method, path, r.status_code)


def _integration_routes() -> list[tuple[str, str]]:
    found = []
    for route in api_routes.routes:
        if isinstance(route, Route) and route.path.startswith("/extIntegration/azureAD/{org_id}"):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                found.append((method, route.path.split("/v1", 1)[1]))
    return found


def test_the_session_reaches_the_wizards_routes_of_its_org_and_no_other(
    hub: Hub, op: Operator, make_console: Callable[[], Console]
) -> None:
    link = _link(op)
    other = op.new_org("Fabrikam")
    instance = pull_instance(hub, link.org_id)
    theirs = pull_instance(hub, other)
    browser = make_console()
    csrf = _in_setup(browser, link)
    headers = {"X-CSRF-Token": csrf, "Accept": "application/json"}
    routes = _integration_routes()
    assert set(routes) >= WIZARD and len(routes) > len(WIZARD) + 8
    for method, path in routes:
        ids = {"instance_id": instance.id, "burst_id": "x"}
        mine = f"/extIntegration/azureAD/{link.org_id}/v1" + path.format(**ids)
        body: dict[str, str] | None = {} if method in ("POST", "PUT") else None
        r = browser.http.request(method, mine, json=body, headers=headers)
        if (method, path) in WIZARD:
            assert r.status_code not in (401, 403), (method, path, r.text)
        else:
            assert r.status_code == 401, (method, path, r.text)
            assert r.json()["error"]["message"][0]["code"] == "701061"
        elsewhere = f"/extIntegration/azureAD/{other}/v1" + path.format(
            **{**ids, "instance_id": theirs.id}
        )
        r = browser.http.request(method, elsewhere, json=body, headers=headers)
        assert r.status_code == 401, (method, path, r.text)
    # what it did is its own, in the organisation's trail
    done = browser.http.put(
        f"/extIntegration/azureAD/{link.org_id}/v1/instances/{instance.id}/scope",
        json={"scope": "assigned"},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    entries, _ = hub.audit.events(link.org_id, limit=5)
    assert entries[0].actor == f"setup-link:{link.id}"
    assert hub.instances.get(other, theirs.id) == theirs  # untouched


def test_the_session_opens_no_api_v1_or_scim_route(
    op: Operator, make_console: Callable[[], Console]
) -> None:
    link = _link(op)
    browser = make_console()
    csrf = _in_setup(browser, link)
    for route in api_routes.routes:
        if not isinstance(route, Route) or not route.path.startswith("/api/v1"):
            continue
        path = route.path.replace("{org_id}", link.org_id)
        path = re.sub(r"\{[^}]+\}", "x", path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            r = browser.http.request(method, path, json={}, headers={"X-CSRF-Token": csrf})
            assert r.status_code == 401, (method, path, r.text)
    scim = browser.http.get(f"/identity/scim/{link.org_id}/v2/Users")
    assert scim.status_code == 401


def test_the_wizards_writes_need_the_sessions_csrf_token_from_the_hub(
    hub: Hub, op: Operator, make_console: Callable[[], Console]
) -> None:
    link = _link(op)
    instance = pull_instance(hub, link.org_id)
    browser = make_console()
    csrf = _in_setup(browser, link)
    scope = f"/extIntegration/azureAD/{link.org_id}/v1/instances/{instance.id}/scope"
    for headers in (
        {},
        {"X-CSRF-Token": "forged"},
        {"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
    ):
        r = browser.http.put(scope, json={"scope": "all"}, headers=headers)
        assert r.status_code == 403 and r.json()["error"]["message"][0]["code"] == "701060"
    unchanged = hub.instances.get(link.org_id, instance.id)
    assert unchanged is not None and unchanged.scope == "all"  # as it was
    r = browser.http.put(scope, json={"scope": "assigned"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200


def test_the_session_ends_when_it_expires_is_revoked_or_finished(
    hub: Hub, op: Operator, make_console: Callable[[], Console]
) -> None:
    status = "/extIntegration/azureAD/{}/v1/status"
    expiring, revoked, finished = _link(op), _link(op), _link(op)
    browsers = {link.id: make_console() for link in (expiring, revoked, finished)}
    tokens = {link.id: _in_setup(browsers[link.id], link) for link in (expiring, revoked, finished)}
    with hub.db.write() as conn:
        conn.execute(
            update(setup_links)
            .where(setup_links.c.id == expiring.id)
            .values(session_expires_at=utcnow() - timedelta(seconds=1))
        )
    op.ok("DELETE", f"/orgs/{revoked.org_id}/setup-links/{revoked.id}")
    finish = browsers[finished.id].http
    assert finish.post("/console/setup/finish", data={"csrf_token": "forged"}).status_code == 403
    done = finish.post("/console/setup/finish", data={"csrf_token": tokens[finished.id]})
    assert done.status_code == 200 and "ended" in done.text
    for link in (expiring, revoked, finished):
        browser = browsers[link.id].http
        page = browser.get("/console/setup")
        assert page.status_code == 401 and "has ended" in page.text
        assert browser.get(status.format(link.org_id)).status_code == 401
    assert ("setup_link.session_ended", None) in _audit(hub, finished.org_id)


def test_the_consent_round_trip_comes_back_only_in_the_session_that_began_it(
    hub: Hub, op: Operator, make_console: Callable[[], Console], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The setup begun from a link is bound to that link's session: a query parameter
    proves nothing, another browser (even one signed in to the console) cannot finish it."""
    link = _link(op)
    browser = make_console()
    csrf = _in_setup(browser, link)
    cookie = browser.http.cookies.get(SETUP_COOKIE)
    assert cookie
    digest = hashlib.sha256(cookie.encode()).hexdigest()
    # Set up, from the wizard, binds the round trip to this session (Entra is not
    # configured here, so the sign-in it would start is stood in for)
    begun: dict[str, object] = {}

    def begin(org_id: str, actor: object, **kw: object) -> str:
        begun.update(kw, org_id=org_id, actor=getattr(actor, "name", None))
        return "https://login.example/authorize"

    monkeypatch.setattr(hub.entra.setup, "begin", begin)
    started = browser.http.post(
        f"/extIntegration/azureAD/{link.org_id}/v1/setup",
        json={"tenant": "common"},
        headers={"X-CSRF-Token": csrf},
    )
    assert started.status_code == 200, started.text
    assert begun["session_hash"] == digest and begun["org_id"] == link.org_id
    assert begun["actor"] == f"setup-link:{link.id}"
    state = secrets.token_urlsafe(16)
    flow = {"authority": "organizations", "msal": {"state": state, "nonce": "n"}}
    hub.instances.new_consent_state(state, link.org_id, f"setup-link:{link.id}", digest, {}, flow)
    stranger = make_console()
    stranger.http.cookies.set(SETUP_COOKIE, "someone-elses-session")
    refused = stranger.http.get(
        CONSENT_CALLBACK,
        params={"state": state, "code": "c"},
        headers={"Accept": "application/json"},
    )
    assert "browser session that started it" in refused.text
    # its own session passes the binding (and then lacks a real sign-in code), and is sent
    # back to the wizard, not to a console page it could not open
    back = browser.http.get(
        CONSENT_CALLBACK, params={"state": state, "admin_consent": "True"}, follow_redirects=False
    )
    assert back.status_code == 303
    assert back.headers["location"].startswith("/console/setup?azure=error")
