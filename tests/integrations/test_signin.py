"""The ID token check that proves a tenant: each way a token can lie is refused."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from scimhub.integrations.entra.errors import IntegrationError
from scimhub.integrations.entra.oidc import IdTokens, http_session
from scimhub.integrations.entra.settings import EntraSettings
from scimhub.integrations.entra.signin import SetupSignIn
from scimhub.integrations.entra.tenants import CONSUMER_TENANT, sign_in_authority

LOGIN = "https://login.example"
CLIENT_ID = "90db942a-c1eb-4e8d-82e4-eebf64a7e2ae"
TENANT = "0c7ad2c0-7fd5-4a24-8a2c-6d9b2f0a3a11"
NONCE = "the-flow-nonce"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class KnownKey(IdTokens):
    """The tenant's published key without the HTTP round trip."""

    def signing_key(self, tenant_id: str, kid: Any) -> Any:
        assert tenant_id == TENANT
        return KEY.public_key()


@pytest.fixture
def signin() -> SetupSignIn:
    settings = EntraSettings(
        LOGIN,
        "https://graph.example",
        "https://graph.example/.default",
        CLIENT_ID,
        "secret",
        "",
        "template",
        "scimhub",
    )
    http = http_session("")
    return SetupSignIn(settings, http, KnownKey(LOGIN, http))


def token(key: rsa.RSAPrivateKey = KEY, **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "aud": CLIENT_ID,
        "iss": f"{LOGIN}/{TENANT}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "tid": TENANT,
        "oid": str(uuid.uuid4()),
        "preferred_username": "admin@contoso.example",
        "nonce": hashlib.sha256(NONCE.encode()).hexdigest(),
        "wids": [GLOBAL_ADMIN],
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def test_a_genuine_token_proves_its_tenant(signin: SetupSignIn) -> None:
    assert signin.verify_id_token(token(), nonce=NONCE)["tid"] == TENANT


@pytest.mark.parametrize(
    "lie",
    [
        {"key": OTHER_KEY},  # signed by someone else
        {"aud": "another-app"},
        {"iss": f"{LOGIN}/{uuid.uuid4()}/v2.0"},  # issued by another tenant
        {"iss": f"https://evil.example/{TENANT}/v2.0"},
        {"exp": int(time.time()) - 3600},
        {"nonce": hashlib.sha256(b"another sign-in").hexdigest()},
        {"nonce": None},
        {"tid": None},
        {"tid": "common"},
        {"tid": CONSUMER_TENANT, "iss": f"{LOGIN}/{CONSUMER_TENANT}/v2.0"},
    ],
)
def test_a_token_that_lies_proves_nothing(signin: SetupSignIn, lie: dict[str, Any]) -> None:
    with pytest.raises(IntegrationError) as err:
        signin.verify_id_token(token(**lie), nonce=NONCE)
    assert err.value.code == "701062"


def test_an_unsigned_token_proves_nothing(signin: SetupSignIn) -> None:
    unsigned = jwt.encode({"tid": TENANT, "aud": CLIENT_ID}, "", algorithm="none")
    with pytest.raises(IntegrationError):
        signin.verify_id_token(unsigned, nonce=NONCE)


@pytest.mark.parametrize("wids", [None, [], ["b79fbf4d-3ef9-4689-8143-76b194e85509"]])
def test_only_an_administrator_connects_a_tenant(signin: SetupSignIn, wids: Any) -> None:
    with pytest.raises(IntegrationError) as err:
        signin.verify_id_token(token(wids=wids), nonce=NONCE)
    assert err.value.code == "701050" and "administrator" in err.value.description


@pytest.mark.parametrize(
    ("hint", "authority"),
    [
        ("", "organizations"),
        ("common", "organizations"),
        ("Organizations", "organizations"),
        (TENANT.upper(), TENANT),
        ("Contoso.onmicrosoft.com", "contoso.onmicrosoft.com"),
    ],
)
def test_sign_in_authority(hint: str, authority: str) -> None:
    assert sign_in_authority(hint) == authority


@pytest.mark.parametrize(
    "hint",
    [
        "../../../v1.0/users",
        "a" * 3000,
        "x?y",
        "a/b",
        "%2e%2e",
        "contoso..com",
        "-x.com",
        "consumers",
        "localhost",
    ],
)
def test_sign_in_authority_refuses_what_is_not_a_tenant(hint: str) -> None:
    with pytest.raises(IntegrationError) as err:
        sign_in_authority(hint)
    assert err.value.code == "701050"
