"""Sign in with Microsoft, in process: the hub (TestClient) against the emulator running in a
thread over HTTPS, with real MSAL in between. Each way a sign-in can lie or go wrong is
tried: another browser, a replayed answer, a token of another tenant, a forged token, a
replayed nonce, no role, Entra's own refusals; and local passwords switched off."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.testclient import TestClient
from typer.testing import CliRunner

from scimhub.api.auth import SESSION_COOKIE
from scimhub.api.services import Hub
from scimhub.app import create_app
from scimhub.cli import app as cli_app
from scimhub.config import Settings
from scimhub.directory.actor import Actor
from scimhub.directory.roles import Role
from scimhub.emulator.app_roles import assign_role, set_assignment_required
from scimhub.emulator.apps import console_secret, find_sp, grant_consent
from scimhub.emulator.constants import CONSOLE_APP_ID
from scimhub.emulator.directory import require_tenant
from scimhub.integrations.entra.oidc import CodeFlow
from tests.emulator import browserless
from tests.emulator.conftest import EmulatorHandle, emulator

from .conftest import PASSWORD

__all__ = ["emulator"]  # the fixture: the emulator in a thread, shared with its own tests

pytestmark = pytest.mark.filterwarnings(
    "ignore:response_mode='form_post' is recommended:UserWarning"
)
HUB = "https://hub.test"
CALLBACK = f"{HUB}/console/login/entra/callback"
ACTOR = Actor("tester")


@pytest.fixture(scope="module")
def entra_hub(settings: Settings, emulator: EmulatorHandle) -> Iterator[Hub]:
    """A hub (on the tests' database) whose Entra is the emulator, with the console app."""
    emulator.register_redirect(CALLBACK, CONSOLE_APP_ID)
    emulator.register_redirect(f"{HUB}/console/login/entra/signed-out", CONSOLE_APP_ID)
    hub = Hub.open(
        replace(
            settings,
            entra_login_url=emulator.base,
            entra_graph_url=emulator.base,
            entra_ca_bundle=emulator.ca,
            entra_signin_client_id=CONSOLE_APP_ID,
            entra_signin_client_secret=console_secret(emulator.emu.data_dir) or "",
        )
    )
    yield hub
    hub.close()


@dataclass
class Org:
    id: str
    tenant: dict[str, Any]
    sp_id: str

    def upn(self, i: int) -> str:
        return f"u{i}@{self.tenant['domain']}"


@pytest.fixture
def org(entra_hub: Hub, emulator: EmulatorHandle) -> Org:
    """An org whose Entra tenant consented to the console app, signing in with app roles."""
    tenant = emulator.new_tenant()
    with emulator.emu.engine.begin() as conn:
        sp_id = grant_consent(conn, require_tenant(conn, tenant["id"]), CONSOLE_APP_ID)
    org_id = entra_hub.orgs.create(f"Entra {uuid.uuid4().hex[:6]}").id
    entra_hub.signin.configure(org_id, ACTOR, enabled=True, tenant_id=tenant["id"])
    return Org(org_id, tenant, sp_id)


def assign(emulator: EmulatorHandle, org: Org, principal: str, role: str | None) -> None:
    with emulator.emu.engine.begin() as conn:
        sp = find_sp(conn, org.tenant["id"], CONSOLE_APP_ID)
        assert sp is not None
        assign_role(conn, org.tenant["id"], sp, principal, role)


@pytest.fixture
def browser(entra_hub: Hub, settings: Settings) -> Iterator[Callable[[], TestClient]]:
    made: list[TestClient] = []

    def make() -> TestClient:
        client = TestClient(
            create_app(settings, hub=entra_hub),
            base_url=HUB,
            follow_redirects=False,
            client=(f"10.9.{len(made)}.{uuid.uuid4().int % 250}", 40000),
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def to_entra(hub_client: TestClient, org: Org, **params: str) -> str:
    """Click "Sign in with Microsoft": the Entra URL the hub sends the browser to."""
    r = hub_client.get("/console/login/entra", params={"org": org.id, **params})
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def at_entra(emulator: EmulatorHandle, url: str, login: str) -> str:
    """Sign in on the emulator's page: the hub callback URL Entra redirects to."""
    with emulator.client() as c:
        answer = browserless.run(c, url, login)
    assert answer.status_code == 302, answer.text
    back = str(answer.headers["location"])
    assert back.startswith(CALLBACK), back
    return back


def callback(hub_client: TestClient, url: str) -> Any:
    parts = urlsplit(url)
    return hub_client.get(f"{parts.path}?{parts.query}")


def sign_in(hub_client: TestClient, emulator: EmulatorHandle, org: Org, login: str) -> Any:
    return callback(hub_client, at_entra(emulator, to_entra(hub_client, org), login))


def notice(page: Any) -> str:
    found = re.search(r'<div class="notice notice-error"[^>]*>(.*?)</div>', page.text, re.S)
    assert found, page.text
    return unescape(re.sub(r"<[^>]+>", " ", found.group(1)))


def test_an_assigned_admin_gets_in_and_the_account_follows_the_token(
    entra_hub: Hub, emulator: EmulatorHandle, org: Org, browser: Callable[[], TestClient]
) -> None:
    assign(emulator, org, org.upn(0), "scimhub.Admin")
    b = browser()
    done = sign_in(b, emulator, org, org.upn(0))
    assert done.status_code == 303 and done.headers["location"] == "/console/overview"
    session = entra_hub.sessions.lookup(b.cookies[SESSION_COOKIE])
    assert session is not None and session.role is Role.ADMIN and session.org_id == org.id
    [account] = entra_hub.admins.list(org.id)
    assert account.entra_tenant_id == org.tenant["id"]
    assert account.entra_object_id == org.tenant["users"][0]  # linked by (tid, oid)
    assert b.get("/console/overview").status_code == 200
    # Entra decides the role at every sign-in.
    assign(emulator, org, org.upn(0), "scimhub.ReadOnly")
    again = browser()
    assert sign_in(again, emulator, org, org.upn(0)).status_code == 303
    later = entra_hub.sessions.lookup(again.cookies[SESSION_COOKIE])
    assert later is not None and later.role is Role.READONLY and later.admin_id == account.id
    actions = [e.action for e in entra_hub.audit.events(org.id)[0]]
    assert {"admin.created", "admin.role_changed", "signin"} <= set(actions)


def test_group_members_get_the_role_their_group_maps_to(
    entra_hub: Hub, emulator: EmulatorHandle, org: Org, browser: Callable[[], TestClient]
) -> None:
    entra_hub.signin.configure(
        org.id, ACTOR, roles_from="groups", readonly_groups=[org.tenant["group"]]
    )
    b = browser()
    assert sign_in(b, emulator, org, org.upn(1)).status_code == 303  # u1 is in Team
    session = entra_hub.sessions.lookup(b.cookies[SESSION_COOKIE])
    assert session is not None and session.role is Role.READONLY
    refused = sign_in(browser(), emulator, org, org.upn(2))  # in no group
    assert refused.status_code == 403
    assert "You have no role in this organization's console." in notice(refused)
    assert [a.entra_object_id for a in entra_hub.admins.list(org.id)] == [org.tenant["users"][1]]


def test_an_unassigned_user_sees_the_aadsts50105_explanation(
    entra_hub: Hub, emulator: EmulatorHandle, org: Org, browser: Callable[[], TestClient]
) -> None:
    with emulator.emu.engine.begin() as conn:
        set_assignment_required(conn, org.sp_id, True)
    b = browser()
    page = sign_in(b, emulator, org, org.upn(2))
    assert page.status_code == 403 and SESSION_COOKIE not in b.cookies
    text = notice(page)
    assert "You are not assigned to scimhub in your organization's Microsoft Entra ID." in text
    assert "AADSTS50105: Your administrator has configured the application" in text
    tracking = re.search(r"Tracking ID:\s+(\S+)", text)
    assert tracking and page.headers["TrackingID"] == tracking.group(1)
    failed = [e for e in entra_hub.audit.events(org.id)[0] if e.action == "signin.failed"]
    assert failed[0].detail["aadsts"] == "AADSTS50105"
    assert "data-entra-other-account" in page.text  # try another account


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("AADSTS50011", "scimhub's sign-in address is not registered with Microsoft."),
        ("AADSTS65001", "Your organization has not approved scimhub's sign-in app."),
        ("AADSTS700016", "Microsoft does not know scimhub's sign-in app in your tenant."),
    ],
)
def test_entra_errors_are_explained(
    emulator: EmulatorHandle,
    org: Org,
    browser: Callable[[], TestClient],
    code: str,
    words: str,
) -> None:
    """Entra's error redirect for the started sign-in (its state, this browser)."""
    b = browser()
    state = parse_qs(urlsplit(to_entra(b, org)).query)["state"][0]
    page = b.get(
        "/console/login/entra/callback",
        params={"state": state, "error": "invalid_request"}
        | {"error_description": f"{code}: Entra's words. Trace ID: t Correlation ID: c"},
    )
    assert page.status_code == 403
    text = notice(page)
    assert words in text and f"{code}: Entra's words." in text and "Trace ID" not in text


def test_the_answer_counts_only_in_the_browser_that_asked(
    emulator: EmulatorHandle, org: Org, browser: Callable[[], TestClient]
) -> None:
    """A code obtained for one's own account, planted in a victim's browser (login CSRF),
    or a state lifted from the URL, signs nobody in elsewhere."""
    assign(emulator, org, org.upn(0), "scimhub.Admin")
    owner = browser()
    back = at_entra(emulator, to_entra(owner, org), org.upn(0))
    stranger = browser()
    refused = callback(stranger, back)
    assert refused.status_code == 403 and SESSION_COOKIE not in stranger.cookies
    assert "started in another browser" in notice(refused)
    assert callback(owner, back).status_code == 303  # still the owner's to finish
    replayed = callback(owner, back)
    assert replayed.status_code == 400 and "expired or was already used" in notice(replayed)


def _forge(monkeypatch: pytest.MonkeyPatch, make_token: Callable[[dict[str, Any]], str]) -> None:
    """Entra's token endpoint answers with the token `make_token(flow)` builds."""

    def redeem(
        self: CodeFlow, authority: str, flow: dict[str, Any], query: dict[str, str]
    ) -> dict[str, Any]:
        return {"id_token": make_token(flow)}

    monkeypatch.setattr(CodeFlow, "redeem", redeem)


def _claims(emulator: EmulatorHandle, tenant_id: str, flow: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    return {
        "aud": CONSOLE_APP_ID,
        "iss": f"{emulator.base}/{tenant_id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "tid": tenant_id,
        "oid": str(uuid.uuid4()),
        "roles": ["scimhub.Admin"],
        "nonce": hashlib.sha256(flow["nonce"].encode()).hexdigest(),
    }


def test_a_genuine_token_of_another_tenant_is_refused(
    entra_hub: Hub,
    emulator: EmulatorHandle,
    org: Org,
    browser: Callable[[], TestClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Signed by Entra's real key, for this sign-in's nonce, but tenant B's: no way into
    the org that signs in with tenant A."""
    other = emulator.new_tenant()
    key = emulator.emu.key
    _forge(
        monkeypatch,
        lambda flow: jwt.encode(
            _claims(emulator, other["id"], flow),
            key.private,
            algorithm="RS256",
            headers={"kid": key.kid},
        ),
    )
    b = browser()
    page = sign_in(b, emulator, org, org.upn(0))
    assert page.status_code == 403 and SESSION_COOKIE not in b.cookies
    assert "That account belongs to another organization." in notice(page)
    assert entra_hub.admins.list(org.id) == []


def test_a_forged_token_is_refused(
    entra_hub: Hub,
    emulator: EmulatorHandle,
    org: Org,
    browser: Callable[[], TestClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _forge(
        monkeypatch,
        lambda flow: jwt.encode(
            _claims(emulator, org.tenant["id"], flow),
            forger,
            algorithm="RS256",
            headers={"kid": emulator.emu.key.kid},
        ),
    )
    b = browser()
    page = sign_in(b, emulator, org, org.upn(0))
    assert page.status_code == 403 and "could not be verified" in notice(page)
    assert entra_hub.admins.list(org.id) == []


def test_a_token_replayed_into_another_sign_in_is_refused(
    entra_hub: Hub,
    emulator: EmulatorHandle,
    org: Org,
    browser: Callable[[], TestClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A genuine ID token captured from one sign-in, answered to the next: its nonce is the
    first sign-in's."""
    assign(emulator, org, org.upn(0), "scimhub.Admin")
    captured: list[str] = []
    real = CodeFlow.redeem

    def capture(
        self: CodeFlow, authority: str, flow: dict[str, Any], query: dict[str, str]
    ) -> dict[str, Any]:
        result = real(self, authority, flow, query)
        captured.append(str(result["id_token"]))
        return result

    monkeypatch.setattr(CodeFlow, "redeem", capture)
    assert sign_in(browser(), emulator, org, org.upn(0)).status_code == 303
    _forge(monkeypatch, lambda flow: captured[0])
    b = browser()
    page = sign_in(b, emulator, org, org.upn(0))
    assert page.status_code == 403 and SESSION_COOKIE not in b.cookies
    assert "could not be verified" in notice(page)


def test_an_org_without_sign_in_with_microsoft(
    entra_hub: Hub, browser: Callable[[], TestClient]
) -> None:
    plain = entra_hub.orgs.create("Passwords only").id
    b = browser()
    for org_id in (plain, str(uuid.uuid4())):  # an unknown org reads the same
        page = b.get("/console/login/entra", params={"org": org_id})
        assert page.status_code == 400
        assert "Sign-in with Microsoft is not set up for this organization." in notice(page)
    assert "data-entra-signin" not in b.get("/console/login", params={"org": plain}).text
    asked = b.get("/console/login/entra")  # no org yet: the page asks for it
    assert asked.status_code == 200 and "data-entra-signin-form" in asked.text


def _password_sign_in(b: TestClient, email: str, org: str | None = None) -> Any:
    form = b.get("/console/login", params={"org": org} if org else None)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    data = {"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    return b.post("/console/login", data={**data, "org": org} if org else data)


def test_local_passwords_off_and_the_operators_way_back(
    entra_hub: Hub,
    emulator: EmulatorHandle,
    org: Org,
    browser: Callable[[], TestClient],
    settings: Settings,
) -> None:
    email = f"glass-{uuid.uuid4().hex[:6]}@example.com"
    entra_hub.admins.create(org.id, email, PASSWORD, "admin")
    assert _password_sign_in(browser(), email).status_code == 303
    entra_hub.signin.configure(org.id, ACTOR, local_passwords=False)
    b = browser()
    page = b.get("/console/login", params={"org": org.id})
    assert 'name="password"' not in page.text and "data-entra-signin" in page.text
    # No form for the org; a password posted for it anyway is refused unchecked.
    token = re.search(r'name="csrf_token" value="([^"]+)"', b.get("/console/login").text)
    assert token
    posted = b.post(
        "/console/login",
        data={"email": email, "password": PASSWORD, "org": org.id, "csrf_token": token.group(1)},
    )
    assert posted.status_code == 403 and "local passwords are switched off" in posted.text
    unnamed = _password_sign_in(browser(), email)
    assert unnamed.status_code == 403 and "local passwords are switched off" in unnamed.text
    assert SESSION_COOKIE not in b.cookies
    # Break glass: the operator's CLI switches them on again.
    cli = CliRunner().invoke(
        cli_app,
        ["signin", "configure", "--org", org.id, "--local-passwords", "on", "--json"],
        env={
            "SCIMHUB_DATA_DIR": str(settings.data_dir),
            "SCIMHUB_DATABASE_URL": settings.database_url,
        },
    )
    assert cli.exit_code == 0, cli.output
    assert _password_sign_in(browser(), email).status_code == 303


def test_the_console_guards_its_sign_in_settings(
    entra_hub: Hub, emulator: EmulatorHandle, org: Org, browser: Callable[[], TestClient]
) -> None:
    """An org admin names only a tenant the org proved, and switches passwords off only
    from a session Microsoft signed in."""
    email = f"pat-{uuid.uuid4().hex[:6]}@example.com"
    entra_hub.admins.create(org.id, email, PASSWORD, "admin")
    b = browser()
    assert _password_sign_in(b, email).status_code == 303
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', b.get("/console/settings").text)
    assert csrf
    form = {
        "csrf_token": csrf.group(1),
        "enabled": "on",
        "tenant_id": org.tenant["id"],  # set by the operator (the fixture): allowed
        "roles_from": "app-roles",
        "admin_roles": "scimhub.Admin",
        "readonly_roles": "scimhub.ReadOnly",
    }
    off = b.post("/console/settings/signin", data=form)
    assert off.status_code == 400 and "Sign in with Microsoft first" in off.text
    unproven = b.post(
        "/console/settings/signin",
        data={**form, "tenant_id": str(uuid.uuid4()), "local_passwords": "on"},
    )
    assert unproven.status_code == 400 and "Connect that tenant" in unproven.text
    saved = b.post(
        "/console/settings/signin", data={**form, "local_passwords": "on", "admin_roles": "X.Own"}
    )
    assert saved.status_code == 303
    assert entra_hub.signin.get(org.id).admin_roles == ("X.Own",)
    assign(emulator, org, org.upn(0), "scimhub.Admin")
    e = browser()
    assert sign_in(e, emulator, org, org.upn(0)).status_code == 403  # scimhub.Admin: no role now
    entra_hub.signin.configure(org.id, ACTOR, admin_roles=["scimhub.Admin"])
    assert sign_in(e, emulator, org, org.upn(0)).status_code == 303
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', e.get("/console/settings").text)
    assert csrf
    done = e.post(
        "/console/settings/signin", data={**form, "csrf_token": csrf.group(1)}
    )  # no local_passwords: off, from a Microsoft session
    assert done.status_code == 303 and not entra_hub.signin.get(org.id).local_passwords
    assert entra_hub.sessions.lookup(b.cookies[SESSION_COOKIE]) is None  # password session


def test_sign_out_ends_the_hub_session_and_offers_entras(
    entra_hub: Hub, emulator: EmulatorHandle, org: Org, browser: Callable[[], TestClient]
) -> None:
    assign(emulator, org, org.upn(0), "scimhub.Admin")
    b = browser()
    assert sign_in(b, emulator, org, org.upn(0)).status_code == 303
    cookie = b.cookies[SESSION_COOKIE]
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', b.get("/console/overview").text)
    assert csrf
    out = b.post("/console/logout", data={"csrf_token": csrf.group(1)})
    assert out.status_code == 303 and entra_hub.sessions.lookup(cookie) is None
    page = b.get(out.headers["location"])
    link = re.search(r'<a href="([^"]+)" data-entra-logout>', page.text)
    assert link, page.text
    target = urlsplit(unescape(link.group(1)))
    assert f"{target.scheme}://{target.netloc}" == emulator.base
    assert target.path == f"/{org.tenant['id']}/oauth2/v2.0/logout"
    query = parse_qs(target.query)
    assert query["post_logout_redirect_uri"] == [f"{HUB}/console/login/entra/signed-out"]
    assert query["client_id"] == [CONSOLE_APP_ID]
    with emulator.client() as c:  # Entra sends the browser back to the hub
        answer = c.get(unescape(link.group(1)))
    assert answer.status_code == 302
    back = b.get(urlsplit(answer.headers["location"]).path)
    assert back.status_code == 303 and back.headers["location"] == "/console/login?signed_out=1"
