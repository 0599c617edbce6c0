"""Tokens through real MSAL, and each AADSTS failure as MSAL surfaces it."""

from __future__ import annotations

from typing import Any

import jwt
import msal
import pytest
import requests

from scimhub.emulator.apps import add_client_secret, find_sp, set_sp_enabled
from scimhub.emulator.constants import GRAPH_AUDIENCE, INTEGRATION_APP_ID, INTEGRATION_APP_ROLES
from scimhub.emulator.schema import grants

from .conftest import EmulatorHandle

SCOPE = ["https://graph.microsoft.com/.default"]


def acquire(
    emulator: EmulatorHandle,
    tenant: str,
    secret: str | None = None,
    client_id: str = INTEGRATION_APP_ID,
) -> dict[str, Any]:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    session.verify = emulator.ca
    app = msal.ConfidentialClientApplication(
        client_id,
        client_credential=secret or emulator.secret,
        authority=f"{emulator.base}/{tenant}",
        instance_discovery=False,
        http_client=session,
    )
    try:
        return dict(app.acquire_token_for_client(scopes=SCOPE))
    finally:
        session.close()


def test_msal_gets_a_graph_token_with_the_granted_roles(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    result = acquire(emulator, t["id"])
    assert result["token_type"] == "Bearer"
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["tid"] == t["id"]
    assert claims["aud"] == GRAPH_AUDIENCE
    assert claims["appid"] == INTEGRATION_APP_ID
    assert sorted(claims["roles"]) == sorted(INTEGRATION_APP_ROLES)
    assert claims["exp"] - claims["iat"] == 3599
    assert claims["iss"] == f"{emulator.base}/{t['id']}/v2.0"
    # The signature verifies against the published JWKS.
    with emulator.client() as c:
        jwks = c.get(f"/{t['id']}/discovery/v2.0/keys").json()
    key = jwt.PyJWK(jwks["keys"][0]).key
    jwt.decode(result["access_token"], key, algorithms=["RS256"], audience=GRAPH_AUDIENCE)


def test_msal_accepts_the_domain_as_authority(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    assert "access_token" in acquire(emulator, t["domain"])


def _codes(result: dict[str, Any]) -> list[int]:
    assert "access_token" not in result
    assert result["error_description"].startswith(f"AADSTS{result['error_codes'][0]}: ")
    for key in ("error", "timestamp", "trace_id", "correlation_id", "error_uri"):
        assert result[key]
    return list(result["error_codes"])


def test_700016_when_the_service_principal_is_missing(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant(consent=False)
    result = acquire(emulator, t["id"])
    assert _codes(result) == [700016]
    assert result["error"] == "unauthorized_client"


def test_7000215_bad_secret(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    result = acquire(emulator, t["id"], secret="not-the-secret")
    assert _codes(result) == [7000215]
    assert result["error"] == "invalid_client"


def test_7000222_expired_secret(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    with emulator.emu.engine.begin() as conn:
        _, expired = add_client_secret(conn, INTEGRATION_APP_ID, days_valid=-1)
    assert _codes(acquire(emulator, t["id"], secret=expired)) == [7000222]


def test_90002_unknown_tenant(emulator: EmulatorHandle) -> None:
    unknown = "00000000-1111-2222-3333-444444444444"
    # Like with real Entra, MSAL already fails on the authority's discovery document.
    with pytest.raises(ValueError) as info:
        acquire(emulator, unknown)
    assert "AADSTS90002" in str(info.value.__context__)
    with emulator.client() as c:
        r = c.post(
            f"/{unknown}/oauth2/v2.0/token",
            data={
                "client_id": INTEGRATION_APP_ID,
                "client_secret": emulator.secret,
                "scope": SCOPE[0],
                "grant_type": "client_credentials",
            },
        )
    assert r.status_code == 400
    assert r.json()["error_codes"] == [90002]
    assert r.json()["error"] == "invalid_request"


def test_7000112_disabled_service_principal(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    with emulator.emu.engine.begin() as conn:
        set_sp_enabled(conn, t["id"], t["sp_id"], False)
    assert _codes(acquire(emulator, t["id"])) == [7000112]


def test_65001_no_roles_granted(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    with emulator.emu.engine.begin() as conn:
        sp = find_sp(conn, t["id"], INTEGRATION_APP_ID)
        assert sp is not None
        conn.execute(grants.delete().where(grants.c.sp_id == sp.id))
    assert _codes(acquire(emulator, t["id"])) == [65001]


@pytest.mark.parametrize(
    ("form", "code"),
    [
        (
            {"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"},
            900144,
        ),
        ({"grant_type": "password", "client_id": INTEGRATION_APP_ID}, 70003),
        (
            {
                "grant_type": "client_credentials",
                "client_id": INTEGRATION_APP_ID,
                "scope": "User.Read",
            },
            1002012,
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_id": INTEGRATION_APP_ID,
                "scope": "https://management.azure.com/.default",
            },
            500011,
        ),
    ],
)
def test_bad_token_requests_get_aadsts_errors(
    emulator: EmulatorHandle, form: dict[str, str], code: int
) -> None:
    t = emulator.new_tenant()
    with emulator.client() as c:
        r = c.post(
            f"/{t['id']}/oauth2/v2.0/token", data=form, headers={"client-request-id": "abc-123"}
        )
    assert r.status_code == 400
    body = r.json()
    assert body["error_codes"] == [code]
    assert body["correlation_id"] == "abc-123"
    assert body["error_description"].startswith(f"AADSTS{code}: ")


def test_garbage_body_is_not_a_500(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    with emulator.client() as c:
        r = c.post(
            f"/{t['id']}/oauth2/v2.0/token",
            content=b"\xff\x00{",
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 400
    assert r.json()["error_codes"] == [70003] or r.json()["error_codes"] == [900144]
