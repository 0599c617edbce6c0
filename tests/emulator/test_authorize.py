"""The OpenID Connect sign-in with admin consent: real MSAL for the code flow, httpx for
the pages (as a browser), PyJWT for the ID token, and every refusal on the way."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import msal
import pytest
import requests

from scimhub.emulator.apps import add_client_secret, find_sp, sp_roles
from scimhub.emulator.constants import (
    GLOBAL_ADMINISTRATOR_ROLE,
    GRAPH_AUDIENCE,
    INTEGRATION_APP_ID,
    INTEGRATION_APP_ROLES,
)
from scimhub.emulator.db import new_id, now_iso
from scimhub.emulator.passwords import hash_secret
from scimhub.emulator.schema import applications, auth_codes

from . import browserless
from .conftest import EmulatorHandle

# MSAL nudges towards form_post; the hub reads the query (what the emulator answers with).
pytestmark = pytest.mark.filterwarnings(
    "ignore:response_mode='form_post' is recommended:UserWarning"
)

REDIRECT = "https://hub.example/extIntegration/azureAD/consent/callback"
SCOPES = ["https://graph.microsoft.com/.default"]


@pytest.fixture(autouse=True)
def registered(emulator: EmulatorHandle) -> None:
    emulator.register_redirect(REDIRECT)


@pytest.fixture
def http(emulator: EmulatorHandle) -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    session.verify = emulator.ca
    yield session
    session.close()


def msal_app(
    emulator: EmulatorHandle, http: requests.Session, authority: str
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        INTEGRATION_APP_ID,
        client_credential=emulator.secret,
        authority=f"{emulator.base}/{authority}",
        instance_discovery=False,
        http_client=http,
    )


def query(location: str) -> dict[str, str]:
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT, location
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def jwks_key(emulator: EmulatorHandle, token: str) -> Any:
    with emulator.client() as c:
        jwks = c.get("/organizations/discovery/v2.0/keys").json()
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid)).key


def test_msal_code_flow_with_admin_consent(
    emulator: EmulatorHandle, http: requests.Session
) -> None:
    t = emulator.new_tenant(consent=False)
    login = f"admin@{t['domain']}"
    app = msal_app(emulator, http, "organizations")
    flow = app.initiate_auth_code_flow(
        scopes=SCOPES, redirect_uri=REDIRECT, state="st-1", prompt="consent"
    )
    with emulator.client() as c:
        page = c.get(flow["auth_uri"])
        assert browserless.is_login(page)
        consent = browserless.sign_in(c, page, login)
        assert "Consent on behalf of your organization" in consent.text
        assert "Read all audit log data" in consent.text
        assert "Maintain access to data you have given it access to" in consent.text
        answer = browserless.decide(c, consent)
    assert answer.status_code == 302
    back = query(answer.headers["location"])
    assert back["state"] == "st-1" and back["code"] and back["session_state"]
    result = app.acquire_token_by_auth_code_flow(flow, back)
    assert "error" not in result, result
    claims = result["id_token_claims"]
    assert claims["tid"] == t["id"]
    assert claims["preferred_username"] == login
    assert claims["wids"] == [GLOBAL_ADMINISTRATOR_ROLE]
    assert claims["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()
    assert claims["ver"] == "2.0"
    # The hub's own verification: signature against the JWKS, issuer, audience, expiry.
    verified = jwt.decode(
        result["id_token"],
        jwks_key(emulator, result["id_token"]),
        algorithms=["RS256"],
        audience=INTEGRATION_APP_ID,
        issuer=f"{emulator.base}/{t['id']}/v2.0",
        options={"require": ["exp", "iat", "nbf", "sub", "oid", "tid"]},
    )
    assert verified["oid"] == claims["oid"] and verified["exp"] - verified["iat"] == 3600
    access = jwt.decode(
        result["access_token"],
        jwks_key(emulator, result["access_token"]),
        algorithms=["RS256"],
        audience=GRAPH_AUDIENCE,
    )
    assert access["idtyp"] == "user" and "User.Read" in access["scp"].split()
    assert access["oid"] == claims["oid"] and access["sub"] != claims["sub"]
    assert result["refresh_token"]
    account = app.get_accounts()[0]
    assert account["home_account_id"] == f"{claims['oid']}.{t['id']}"
    assert account["username"] == login
    # Consent at sign-in is tenant-wide: application permissions included.
    with emulator.emu.engine.connect() as conn:
        sp = find_sp(conn, t["id"], INTEGRATION_APP_ID)
        assert sp is not None and sp_roles(conn, sp.id) == sorted(INTEGRATION_APP_ROLES)
    with emulator.graph(t["id"]) as g:
        audits = g.get("/v1.0/auditLogs/directoryAudits").json()["value"]
    assert audits[0]["activityDisplayName"] == "Consent to application"
    assert audits[0]["initiatedBy"]["user"]["userPrincipalName"] == login


def test_guid_authority_without_prompt_skips_consent_once_granted(
    emulator: EmulatorHandle, http: requests.Session
) -> None:
    t = emulator.new_tenant()  # already consented
    app = msal_app(emulator, http, t["id"])
    flow = app.initiate_auth_code_flow(scopes=SCOPES, redirect_uri=REDIRECT)
    with emulator.client() as c:
        answer = browserless.sign_in(c, c.get(flow["auth_uri"]), f"admin@{t['domain']}")
        assert answer.status_code == 302  # straight back: no consent page
        result = app.acquire_token_by_auth_code_flow(flow, query(answer.headers["location"]))
        assert result["id_token_claims"]["tid"] == t["id"]
        # The session is reused; prompt=consent shows the page again without a sign-in.
        again = app.initiate_auth_code_flow(scopes=SCOPES, redirect_uri=REDIRECT, prompt="consent")
        assert browserless.is_consent(c.get(again["auth_uri"]))
        # prompt=login asks for the password even with a session.
        fresh = app.initiate_auth_code_flow(scopes=SCOPES, redirect_uri=REDIRECT, prompt="login")
        page = c.get(fresh["auth_uri"])
        assert browserless.is_login(page)
        assert browserless.sign_in(c, page, f"admin@{t['domain']}").status_code == 302


def test_the_signed_in_tenant_is_the_one_in_the_token(
    emulator: EmulatorHandle, http: requests.Session
) -> None:
    """A session in tenant A does not answer a sign-in addressed to tenant B."""
    a, b = emulator.new_tenant(), emulator.new_tenant()
    with emulator.client() as c:
        first = msal_app(emulator, http, a["id"]).initiate_auth_code_flow(
            scopes=SCOPES, redirect_uri=REDIRECT
        )
        assert browserless.run(c, first["auth_uri"], f"admin@{a['domain']}").status_code == 302
        page = c.get(
            msal_app(emulator, http, b["id"]).initiate_auth_code_flow(
                scopes=SCOPES, redirect_uri=REDIRECT
            )["auth_uri"]
        )
        assert browserless.is_login(page)
        refused = c.post(
            browserless.action(page.text),
            data={
                **browserless.hidden(page.text),
                "username": f"admin@{a['domain']}",
                "password": "Emulator!1",
            },
        )
        assert "AADSTS50020" in refused.text


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def get_code(
    emulator: EmulatorHandle,
    t: dict[str, Any],
    verifier: str,
    segment: str = "organizations",
    **extra: str,
) -> str:
    params = {
        "client_id": INTEGRATION_APP_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid profile offline_access https://graph.microsoft.com/.default",
        "state": "s",
        "nonce": "n-1",
        "code_challenge": _challenge(verifier),
        "code_challenge_method": "S256",
        **extra,
    }
    with emulator.client() as c:
        answer = browserless.run(
            c, f"/{segment}/oauth2/v2.0/authorize?{urlencode(params)}", f"admin@{t['domain']}"
        )
    assert answer.status_code == 302, answer.text
    return query(answer.headers["location"])["code"]


def redeem(
    emulator: EmulatorHandle,
    issued: str,
    verifier: str,
    segment: str = "organizations",
    **overrides: str,
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "client_id": INTEGRATION_APP_ID,
        "client_secret": emulator.secret,
        "code": issued,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "scope": "openid https://graph.microsoft.com/.default",
        **overrides,
    }
    with emulator.client() as c:
        return c.post(f"/{segment}/oauth2/v2.0/token", data={k: v for k, v in form.items() if v})


def error_code(r: httpx.Response) -> tuple[str, int]:
    assert r.status_code in (400, 401), r.text
    body = r.json()
    return body["error"], body["error_codes"][0]


def test_a_code_is_redeemed_once(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    verifier = secrets.token_urlsafe(40)
    code = get_code(emulator, t, verifier)
    ok = redeem(emulator, code, verifier)
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert {"access_token", "id_token", "refresh_token", "scope", "ext_expires_in"} <= set(body)
    assert "client_info" not in body  # only when asked for (client_info=1)
    id_claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert id_claims["nonce"] == "n-1" and id_claims["aud"] == INTEGRATION_APP_ID
    assert error_code(redeem(emulator, code, verifier)) == ("invalid_grant", 54005)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"code_verifier": secrets.token_urlsafe(40)}, ("invalid_grant", 50148)),
        ({"code_verifier": ""}, ("invalid_grant", 50148)),
        ({"client_secret": "not-the-secret"}, ("invalid_client", 7000215)),
        ({"client_secret": ""}, ("invalid_client", 7000218)),
        ({"redirect_uri": "https://hub.example/other"}, ("invalid_grant", 70000)),
        ({"redirect_uri": ""}, ("invalid_grant", 70000)),
        ({"code": "forged"}, ("invalid_grant", 70008)),
    ],
)
def test_refused_redemptions(
    emulator: EmulatorHandle, overrides: dict[str, str], expected: tuple[str, int]
) -> None:
    t = emulator.new_tenant()
    verifier = secrets.token_urlsafe(40)
    code = get_code(emulator, t, verifier)
    assert error_code(redeem(emulator, code, verifier, **overrides)) == expected
    # A refused attempt does not burn the code.
    assert redeem(emulator, code, verifier).status_code == 200


def test_an_expired_code_is_refused(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    verifier = secrets.token_urlsafe(40)
    code = get_code(emulator, t, verifier)
    with emulator.emu.engine.begin() as conn:
        conn.execute(
            auth_codes.update()
            .where(auth_codes.c.code_hash == hash_secret(code))
            .values(expires_at=time.time() - 1)
        )
    assert error_code(redeem(emulator, code, verifier)) == ("invalid_grant", 70008)


def test_code_bound_to_its_tenant_and_client(emulator: EmulatorHandle) -> None:
    t, other = emulator.new_tenant(), emulator.new_tenant()
    verifier = secrets.token_urlsafe(40)
    code = get_code(emulator, t, verifier, segment=t["id"])
    assert error_code(redeem(emulator, code, verifier, segment=other["id"])) == (
        "invalid_grant",
        700005,
    )
    second = new_id()
    with emulator.emu.engine.begin() as conn:
        conn.execute(
            applications.insert().values(
                id=new_id(),
                app_id=second,
                tenant_id=t["id"],
                display_name="Other app",
                sign_in_audience="AzureADMultipleOrgs",
                required_roles=[],
                disabled=False,
                created_at=now_iso(),
            )
        )
        _, second_secret = add_client_secret(conn, second, days_valid=1)
    assert error_code(
        redeem(emulator, code, verifier, client_id=second, client_secret=second_secret)
    ) == ("invalid_grant", 70000)
    assert redeem(emulator, code, verifier, segment=t["domain"]).status_code == 200


def test_client_secret_basic(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    verifier = secrets.token_urlsafe(40)
    code = get_code(emulator, t, verifier)
    basic = base64.b64encode(f"{INTEGRATION_APP_ID}:{emulator.secret}".encode()).decode()
    with emulator.client() as c:
        r = c.post(
            "/organizations/oauth2/v2.0/token",
            headers={"Authorization": f"Basic {basic}"},
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
                "client_info": "1",
            },
        )
    assert r.status_code == 200, r.text
    info = json.loads(base64.urlsafe_b64decode(r.json()["client_info"] + "=="))
    assert info["utid"] == t["id"] and info["uid"]


def test_declined_consent_redirects_with_access_denied(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(consent=False)
    params = {
        "client_id": INTEGRATION_APP_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid https://graph.microsoft.com/.default",
        "state": "st-9",
    }
    with emulator.client() as c:
        answer = browserless.run(
            c,
            f"/organizations/oauth2/v2.0/authorize?{urlencode(params)}",
            f"admin@{t['domain']}",
            decision="cancel",
        )
    assert answer.status_code == 302
    back = query(answer.headers["location"])
    assert (back["error"], back["error_subcode"], back["state"]) == (
        "access_denied",
        "cancel",
        "st-9",
    )
    assert back["error_description"].startswith("AADSTS65004: ")
    assert "code" not in back
    with emulator.emu.engine.connect() as conn:
        assert find_sp(conn, t["id"], INTEGRATION_APP_ID) is None


def test_replayed_consent_form_grants_nothing(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(consent=False)
    params = {
        "client_id": INTEGRATION_APP_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "prompt": "consent",
    }
    with emulator.client() as c:
        page = browserless.sign_in(
            c,
            c.get(f"/organizations/oauth2/v2.0/authorize?{urlencode(params)}"),
            f"admin@{t['domain']}",
        )
        assert browserless.decide(c, page, "cancel").status_code == 302
        replay = browserless.decide(c, page, "accept")
        assert replay.status_code == 403 and "could not be verified" in replay.text
    with emulator.emu.engine.connect() as conn:
        assert find_sp(conn, t["id"], INTEGRATION_APP_ID) is None


def test_unregistered_redirect_uri_is_never_followed(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    evil = "https://evil.example/callback"
    params = {
        "client_id": INTEGRATION_APP_ID,
        "response_type": "code",
        "redirect_uri": evil,
        "scope": "openid",
    }
    with emulator.client() as c:
        for url in (
            f"/{t['id']}/oauth2/v2.0/authorize?{urlencode(params)}",
            f"/common/adminconsent?client_id={INTEGRATION_APP_ID}&redirect_uri={evil}",
            f"/common/v2.0/adminconsent?client_id={INTEGRATION_APP_ID}"
            f"&redirect_uri={evil}&scope=https://graph.microsoft.com/.default",
        ):
            r = c.get(url)
            assert r.status_code == 400 and "AADSTS50011" in r.text, url
            assert "location" not in r.headers
        # A prefix or a different case is not the registered URI either.
        for near in (REDIRECT + "/x", REDIRECT.upper(), REDIRECT + "?a=1"):
            r = c.get(
                f"/{t['id']}/oauth2/v2.0/authorize?" + urlencode({**params, "redirect_uri": near})
            )
            assert r.status_code == 400 and "AADSTS50011" in r.text


@pytest.mark.parametrize(
    ("extra", "error", "code"),
    [
        ({"response_type": "token"}, "unsupported_response_type", 700051),
        ({"scope": "openid https://management.azure.com/.default"}, "invalid_scope", 70011),
        ({"code_challenge_method": "S256"}, "invalid_request", 9002313),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request", 9002313),
        ({"prompt": "sometimes"}, "invalid_request", 9002313),
        ({"prompt": "none"}, "login_required", 50058),
    ],
)
def test_bad_requests_go_back_to_the_app(
    emulator: EmulatorHandle, extra: dict[str, str], error: str, code: int
) -> None:
    params = {
        "client_id": INTEGRATION_APP_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "st",
        **extra,
    }
    with emulator.client() as c:
        r = c.get(f"/organizations/oauth2/v2.0/authorize?{urlencode(params)}")
    assert r.status_code == 302, r.text
    back = query(r.headers["location"])
    assert back["error"] == error and back["state"] == "st"
    assert back["error_description"].startswith(f"AADSTS{code}: ")


def test_pages_for_what_cannot_go_back(emulator: EmulatorHandle) -> None:
    base = {
        "client_id": INTEGRATION_APP_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
    }
    with emulator.client() as c:
        for segment, extra, text in [
            ("organizations", {"client_id": new_id()}, "AADSTS700016"),
            (new_id(), {}, "AADSTS90002"),
            ("organizations", {"response_mode": "form_post"}, "response_mode=query only"),
            ("organizations", {"redirect_uri": ""}, "AADSTS900144"),
        ]:
            r = c.get(f"/{segment}/oauth2/v2.0/authorize?{urlencode({**base, **extra})}")
            assert r.status_code == 400 and text in r.text, (segment, extra)


def test_discovery_for_any_organization(emulator: EmulatorHandle) -> None:
    with emulator.client() as c:
        for segment in ("organizations", "common"):
            doc = c.get(f"/{segment}/v2.0/.well-known/openid-configuration").json()
            assert doc["issuer"] == f"{emulator.base}/{{tenantid}}/v2.0"
            assert doc["authorization_endpoint"] == (
                f"{emulator.base}/{segment}/oauth2/v2.0/authorize"
            )
            assert doc["token_endpoint"] == f"{emulator.base}/{segment}/oauth2/v2.0/token"
            assert doc["jwks_uri"] == f"{emulator.base}/{segment}/discovery/v2.0/keys"


def _csp(r: httpx.Response) -> dict[str, str]:
    policy = r.headers["content-security-policy"]
    return {d.split()[0]: " ".join(d.split()[1:]) for d in policy.split("; ")}


def test_pages_send_a_content_security_policy(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(consent=False)
    params = {
        "client_id": INTEGRATION_APP_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "prompt": "consent",
    }
    with emulator.client() as c:
        login = c.get(f"/organizations/oauth2/v2.0/authorize?{urlencode(params)}")
        consent = browserless.sign_in(c, login, f"admin@{t['domain']}")
        message = c.get(f"/common/adminconsent?client_id={new_id()}")
        tenant = c.get(f"/_emulator/tenants/{t['id']}")
        css = c.get("/_emulator/static/emulator.css")
    for page in (login, consent, message, tenant):
        csp = _csp(page)
        assert csp["default-src"] == "'none'" and csp["style-src"] == "'self'"
        assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'"
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "<style" not in page.text and " style=" not in page.text
    # The sign-in and consent forms end in a redirect to the app: Chromium checks it too.
    assert _csp(login)["form-action"] == "'self' https://hub.example"
    assert _csp(consent)["form-action"] == "'self' https://hub.example"
    assert _csp(message)["form-action"] == "'self'"
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_login_form_needs_its_own_page(emulator: EmulatorHandle) -> None:
    """A sign-in POSTed from elsewhere (login CSRF) is refused: no session is made."""
    t = emulator.new_tenant()
    with emulator.client() as c:
        r = c.post(
            "/organizations/login",
            data={"username": f"admin@{t['domain']}", "password": "Emulator!1", "return_to": "/x"},
        )
        assert r.status_code == 200 and "Sign in again" in r.text
        assert "emu_admin_session" not in c.cookies


def test_redirect_uri_admin_endpoint(emulator: EmulatorHandle) -> None:
    with emulator.client() as c:
        r = c.post(
            f"/_emulator/apps/{INTEGRATION_APP_ID}/redirectUris",
            json={"uri": "http://127.0.0.1:8123/callback"},
        )
        assert r.status_code == 201 and "http://127.0.0.1:8123/callback" in r.json()["redirectUris"]
        listed = c.get(f"/_emulator/apps/{INTEGRATION_APP_ID}/redirectUris").json()
        assert REDIRECT in listed["redirectUris"]
        for body, status in (
            ({"uri": "http://hub.example/cb"}, 400),
            ({"uri": "https://hub.example/cb#x"}, 400),
            ({}, 400),
        ):
            assert (
                c.post(f"/_emulator/apps/{INTEGRATION_APP_ID}/redirectUris", json=body).status_code
                == status
            )
        assert (
            c.post(f"/_emulator/apps/{new_id()}/redirectUris", json={"uri": REDIRECT}).status_code
            == 404
        )
