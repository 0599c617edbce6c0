"""Users of a tenant's directory signing in to the console app: real MSAL for the code flow
with PKCE, the claims a console needs (oid, tid, roles from app role assignments, groups,
nonce), "Assignment required?" (AADSTS50105), and the sign-out endpoint."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import msal
import pytest
import requests

from scimhub.emulator.accounts import set_password
from scimhub.emulator.app_roles import assign_role, set_assignment_required
from scimhub.emulator.apps import console_secret, find_sp, grant_consent
from scimhub.emulator.constants import CONSOLE_APP_ID, CONSOLE_APP_ROLES, DEFAULT_USER_PASSWORD
from scimhub.emulator.directory import add_group, add_member, require_tenant, update_user

from . import browserless
from .conftest import EmulatorHandle

pytestmark = pytest.mark.filterwarnings(
    "ignore:response_mode='form_post' is recommended:UserWarning"
)

REDIRECT = "https://hub.example/console/login/entra/callback"
SIGNED_OUT = "https://hub.example/console/login/entra/signed-out"


@pytest.fixture(autouse=True)
def registered(emulator: EmulatorHandle) -> None:
    emulator.register_redirect(REDIRECT, CONSOLE_APP_ID)
    emulator.register_redirect(SIGNED_OUT, CONSOLE_APP_ID)


@pytest.fixture
def http(emulator: EmulatorHandle) -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    session.verify = emulator.ca
    yield session
    session.close()


def tenant(emulator: EmulatorHandle, *, consent: bool = True) -> dict[str, Any]:
    """A tenant whose admin consented to the console app (its enterprise app exists)."""
    t = emulator.new_tenant()
    if consent:
        with emulator.emu.engine.begin() as conn:
            t["console_sp"] = grant_consent(conn, require_tenant(conn, t["id"]), CONSOLE_APP_ID)
    return t


def upn(t: dict[str, Any], i: int) -> str:
    return f"u{i}@{t['domain']}"


def assign(emulator: EmulatorHandle, t: dict[str, Any], principal: str, role: str | None) -> None:
    with emulator.emu.engine.begin() as conn:
        sp = find_sp(conn, t["id"], CONSOLE_APP_ID)
        assert sp is not None
        assign_role(conn, t["id"], sp, principal, role)


def require_assignment(emulator: EmulatorHandle, t: dict[str, Any]) -> None:
    with emulator.emu.engine.begin() as conn:
        set_assignment_required(conn, t["console_sp"], True)


def console_app(
    emulator: EmulatorHandle, http: requests.Session, t: dict[str, Any]
) -> msal.ConfidentialClientApplication:
    secret = console_secret(emulator.emu.data_dir)
    assert secret
    return msal.ConfidentialClientApplication(
        CONSOLE_APP_ID,
        client_credential=secret,
        authority=f"{emulator.base}/{t['id']}",
        instance_discovery=False,
        http_client=http,
    )


def back(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 302, answer.text
    parts = urlsplit(answer.headers["location"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def sign_in(
    emulator: EmulatorHandle, http: requests.Session, t: dict[str, Any], login: str
) -> dict[str, Any]:
    """The whole flow through MSAL; the ID token's verified claims."""
    app = console_app(emulator, http, t)
    flow = app.initiate_auth_code_flow(scopes=[], redirect_uri=REDIRECT, state="st")
    with emulator.client() as c:
        answer = browserless.run(c, flow["auth_uri"], login)
    result = app.acquire_token_by_auth_code_flow(flow, back(answer))
    assert "id_token" in result, result
    assert result["id_token_claims"]["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()
    with emulator.client() as c:
        jwks = c.get(f"/{t['id']}/discovery/v2.0/keys").json()
    kid = jwt.get_unverified_header(result["id_token"])["kid"]
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid)).key
    return dict(
        jwt.decode(
            result["id_token"],
            key,
            algorithms=["RS256"],
            audience=CONSOLE_APP_ID,
            issuer=f"{emulator.base}/{t['id']}/v2.0",
        )
    )


def test_an_assigned_user_gets_oid_tid_roles_and_groups(
    emulator: EmulatorHandle, http: requests.Session
) -> None:
    t = tenant(emulator)
    assign(emulator, t, upn(t, 0), "scimhub.Admin")
    claims = sign_in(emulator, http, t, upn(t, 0))
    assert claims["oid"] == t["users"][0] and claims["tid"] == t["id"]
    assert claims["preferred_username"] == upn(t, 0) and claims["name"] == "User 0"
    assert claims["roles"] == ["scimhub.Admin"]
    assert claims["groups"] == [t["group"]]  # the console app asks for SecurityGroup ids
    assert "wids" not in claims  # a user holds no directory role


def test_roles_through_a_group_and_groups_through_nesting(
    emulator: EmulatorHandle, http: requests.Session
) -> None:
    t = tenant(emulator)
    with emulator.emu.engine.begin() as conn:
        outer = add_group(conn, t["id"], {"displayName": "Outer"})
        add_member(conn, t["id"], outer, t["group"])
    assign(emulator, t, "Team", "scimhub.ReadOnly")
    assign(emulator, t, "Outer", "scimhub.Admin")  # nested: not inherited by Team's members
    claims = sign_in(emulator, http, t, upn(t, 1))
    assert claims["roles"] == ["scimhub.ReadOnly"]
    assert claims["groups"] == sorted([t["group"], outer])
    # u2 is in no group and has no assignment: no roles claim at all
    assert "roles" not in sign_in(emulator, http, t, upn(t, 2))
    # assigning again changes the role
    assign(emulator, t, "Team", "scimhub.Admin")
    assert sign_in(emulator, http, t, upn(t, 1))["roles"] == ["scimhub.Admin"]


def test_assignment_required_refuses_the_unassigned_with_aadsts50105(
    emulator: EmulatorHandle,
) -> None:
    t = tenant(emulator)
    require_assignment(emulator, t)
    assign(emulator, t, "Team", None)  # Default Access for u0 and u1
    params = {
        "client_id": CONSOLE_APP_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid profile",
        "state": "keep-me",
    }
    url = f"/{t['id']}/oauth2/v2.0/authorize?{urlencode(params)}"
    for login in (upn(t, 2), f"admin@{t['domain']}"):  # admins are not exempt
        with emulator.client() as c:
            refused = back(browserless.run(c, url, login))
        assert refused["error"] == "access_denied" and refused["state"] == "keep-me"
        assert refused["error_description"].startswith("AADSTS50105: ")
        assert f"The signed in user '{login}' is blocked" in refused["error_description"]
        assert "Trace ID: " in refused["error_description"] and "code" not in refused
    with emulator.client() as c:
        assert "code" in back(browserless.run(c, url, upn(t, 0)))


def _challenge(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def test_pkce_s256_is_verified_when_a_user_code_is_redeemed(emulator: EmulatorHandle) -> None:
    t = tenant(emulator)
    verifier = secrets.token_urlsafe(40)
    params = {
        "client_id": CONSOLE_APP_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "nonce": "n-7",
        "code_challenge": _challenge(verifier),
        "code_challenge_method": "S256",
    }
    with emulator.client() as c:
        code = back(
            browserless.run(c, f"/{t['id']}/oauth2/v2.0/authorize?{urlencode(params)}", upn(t, 0))
        )["code"]
    form = {
        "grant_type": "authorization_code",
        "client_id": CONSOLE_APP_ID,
        "client_secret": console_secret(emulator.emu.data_dir) or "",
        "code": code,
        "redirect_uri": REDIRECT,
    }
    with emulator.client() as c:
        for wrong in ("", secrets.token_urlsafe(40), _challenge(verifier)):
            r = c.post(f"/{t['id']}/oauth2/v2.0/token", data={**form, "code_verifier": wrong})
            assert r.status_code == 400 and r.json()["error_codes"] == [50148], r.text
        ok = c.post(f"/{t['id']}/oauth2/v2.0/token", data={**form, "code_verifier": verifier})
    assert ok.status_code == 200, ok.text
    claims = jwt.decode(ok.json()["id_token"], options={"verify_signature": False})
    assert claims["nonce"] == "n-7" and claims["oid"] == t["users"][0]


def test_a_user_cannot_consent_for_the_organization(emulator: EmulatorHandle) -> None:
    t = tenant(emulator, consent=False)
    params = {
        "client_id": CONSOLE_APP_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "prompt": "consent",
    }
    url = f"/{t['id']}/oauth2/v2.0/authorize?{urlencode(params)}"
    with emulator.client() as c:
        refused = back(browserless.run(c, url, upn(t, 0)))
    assert refused["error"] == "consent_required"
    assert refused["error_description"].startswith("AADSTS65001: ")
    with emulator.client() as c:  # nor on the admin-consent page
        page = browserless.sign_in(
            c, c.get(f"/{t['id']}/adminconsent?client_id={CONSOLE_APP_ID}"), upn(t, 0)
        )
        assert browserless.is_login(page) and "administrator account" in page.text


def test_passwords_and_disabled_users(emulator: EmulatorHandle) -> None:
    t = tenant(emulator)
    with emulator.emu.engine.begin() as conn:
        set_password(conn, t["id"], upn(t, 0), "A password of her own")
        update_user(conn, t["id"], upn(t, 1), {"accountEnabled": False})
    url = f"/{t['id']}/oauth2/v2.0/authorize?" + urlencode(
        {"client_id": CONSOLE_APP_ID, "response_type": "code", "redirect_uri": REDIRECT}
        | {"scope": "openid"}
    )
    with emulator.client() as c:
        page = c.get(url)
        form = {**browserless.hidden(page.text), "username": upn(t, 0)}
        wrong = c.post(
            browserless.action(page.text), data={**form, "password": DEFAULT_USER_PASSWORD}
        )
        assert "Your account or password is incorrect." in wrong.text
        page = c.get(url)
        disabled = c.post(
            browserless.action(page.text),
            data={
                **browserless.hidden(page.text),
                "username": upn(t, 1),
                "password": DEFAULT_USER_PASSWORD,
            },
        )
        assert "AADSTS50057" in disabled.text
        page = c.get(url)
        ok = browserless.sign_in(c, page, upn(t, 0), "A password of her own")
        assert "code" in back(ok)


def test_groups_overage_points_to_graph(emulator: EmulatorHandle, http: requests.Session) -> None:
    t = tenant(emulator)
    with emulator.emu.engine.begin() as conn:
        for n in range(201):
            gid = add_group(conn, t["id"], {"displayName": f"Many {n}"})
            add_member(conn, t["id"], gid, t["users"][2])
    claims = sign_in(emulator, http, t, upn(t, 2))
    assert "groups" not in claims and claims["_claim_names"] == {"groups": "src1"}
    assert t["users"][2] in claims["_claim_sources"]["src1"]["endpoint"]


def test_sign_out_ends_the_session_and_redirects_only_where_registered(
    emulator: EmulatorHandle, http: requests.Session
) -> None:
    t = tenant(emulator)
    url = f"/{t['id']}/oauth2/v2.0/authorize?" + urlencode(
        {"client_id": CONSOLE_APP_ID, "response_type": "code", "redirect_uri": REDIRECT}
        | {"scope": "openid"}
    )
    with emulator.client() as c:
        assert "code" in back(browserless.run(c, url, upn(t, 0)))
        assert "code" in back(c.get(url))  # the session answers without a login page
        out = c.get(
            f"/{t['id']}/oauth2/v2.0/logout",
            params={"post_logout_redirect_uri": SIGNED_OUT, "client_id": CONSOLE_APP_ID}
            | {"state": "s1"},
        )
        assert out.status_code == 302 and out.headers["location"] == f"{SIGNED_OUT}?state=s1"
        assert browserless.is_login(c.get(url))  # signed out
        elsewhere = c.get(
            f"/{t['id']}/oauth2/v2.0/logout",
            params={
                "post_logout_redirect_uri": "https://evil.example/",
                "client_id": CONSOLE_APP_ID,
            },
        )
        assert elsewhere.status_code == 200 and "You signed out" in elsewhere.text
        unnamed = c.get(
            f"/{t['id']}/oauth2/v2.0/logout", params={"post_logout_redirect_uri": SIGNED_OUT}
        )
        assert unnamed.status_code == 200  # no app named: no redirect


def test_app_role_assignments_are_listed_with_their_role(emulator: EmulatorHandle) -> None:
    t = tenant(emulator)
    assign(emulator, t, upn(t, 0), "scimhub.ReadOnly")
    assign(emulator, t, "Team", None)
    with emulator.graph(t["id"]) as g:
        listed = g.get(f"/v1.0/servicePrincipals/{t['console_sp']}/appRoleAssignedTo").json()
    by_principal = {a["principalId"]: a["appRoleId"] for a in listed["value"]}
    assert by_principal == {
        t["users"][0]: CONSOLE_APP_ROLES["scimhub.ReadOnly"][0],
        t["group"]: "00000000-0000-0000-0000-000000000000",
    }
