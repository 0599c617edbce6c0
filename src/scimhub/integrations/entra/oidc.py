"""OpenID Connect with Entra, shared by the hub's two sign-ins (the setup's, which proves a
tenant, and the console's, which proves an administrator): the authorization code flow with
PKCE through MSAL, and the check of the ID token it ends with.

MSAL checks the state and the nonce but not the ID token's signature (it trusts its TLS
channel to the token endpoint), so the token is checked again here: RS256 signature
against the tenant's published keys (found through its discovery document, whose issuer
must match), issuer, audience, lifetime and nonce. The failures are types; each sign-in
turns them into its own errors.
"""

from __future__ import annotations

import hashlib
import warnings
from typing import Any

import jwt
import msal
import requests

from .errors import Upstream
from .tenants import CONSUMER_TENANT, is_tenant_id

LEEWAY_SECONDS = 120  # clock skew tolerated between the hub and Entra


class OidcFailure(Exception):
    """A sign-in that proves nothing; the message says why."""


class FlowMismatch(OidcFailure):
    """MSAL refused the answer: another state, another nonce, or a malformed answer."""


class EntraUnreachable(OidcFailure):
    """Entra could not be asked (network, TLS, timeout)."""


class EntraRefused(OidcFailure):
    """Entra answered the code's redemption with an error (its AADSTS code kept)."""

    def __init__(self, upstream: Upstream) -> None:
        super().__init__(upstream.message or "Entra refused the sign-in.")
        self.upstream = upstream


class InvalidIdToken(OidcFailure):
    """The ID token fails a check: signature, issuer, audience, lifetime or nonce."""


class OtherTenant(InvalidIdToken):
    """A token of another tenant than the one the sign-in was for (perhaps genuine)."""


def refusal(result: dict[str, Any]) -> Upstream:
    """What Entra's error answer (or redirect) says, as the troubleshooter keeps it."""
    codes = result.get("error_codes") or []
    description = str(result.get("error_description") or "")
    code = f"AADSTS{codes[0]}" if codes else None
    if code is None and description.startswith("AADSTS"):
        code = description.split(":", 1)[0]
    return Upstream(
        code=code or result.get("error"),
        message=description.split("\r\n")[0][:1000],
        correlation_id=result.get("correlation_id"),
    )


class CodeFlow:
    """The authorization code flow with PKCE for one app registration. A fresh MSAL
    application per call: a user's tokens are never cached or reused."""

    def __init__(
        self, login_url: str, client_id: str, client_secret: str, http: requests.Session
    ) -> None:
        self.login_url = login_url
        self.client_id = client_id
        self._secret = client_secret
        self._http = http

    def _app(self, authority: str) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            self.client_id,
            client_credential=self._secret,
            authority=f"{self.login_url}/{authority}",
            instance_discovery=False,
            http_client=self._http,
            timeout=15,
            token_cache=msal.TokenCache(),
        )

    def begin(
        self, authority: str, scopes: list[str], redirect_uri: str, state: str, **extra: Any
    ) -> dict[str, Any]:
        """MSAL's flow: `auth_uri` to send the browser to, and the PKCE verifier and nonce
        to keep on the server until it returns."""
        try:
            with warnings.catch_warnings():
                # MSAL recommends form_post; the hub takes the code from the query so the
                # cookies that bind the answer (SameSite=Lax) come back with it: a
                # cross-site POST would leave them behind.
                warnings.filterwarnings("ignore", message=".*form_post.*", category=UserWarning)
                flow = self._app(authority).initiate_auth_code_flow(
                    scopes, redirect_uri=redirect_uri, state=state, **extra
                )
        except (requests.RequestException, ValueError) as exc:
            raise EntraUnreachable(type(exc).__name__) from None
        return dict(flow)

    def redeem(self, authority: str, flow: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        """Redeem the code the browser brought back; MSAL's result, with an ID token."""
        try:
            result = self._app(authority).acquire_token_by_auth_code_flow(flow, query)
        except ValueError as exc:  # state mismatch, nonce mismatch, malformed answer
            raise FlowMismatch(f"{exc}.") from None
        except requests.RequestException as exc:
            raise EntraUnreachable(type(exc).__name__) from None
        if "id_token" not in result:
            raise EntraRefused(refusal(result))
        return dict(result)


class IdTokens:
    """Checks ID tokens against the tenants' published keys."""

    def __init__(self, login_url: str, http: requests.Session) -> None:
        self.login_url = login_url
        self._http = http

    def verify(
        self, token: str, *, audience: str, nonce: str, tenant_id: str | None = None
    ) -> dict[str, Any]:
        """The claims once signature, issuer, audience, lifetime and nonce hold; with
        `tenant_id`, the token must also be that tenant's (issuer and `tid`)."""
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            tid = str(unverified.get("tid", ""))
            if not is_tenant_id(tid) or tid.lower() == CONSUMER_TENANT:
                raise InvalidIdToken("the ID token names no organization's tenant.")
            if tenant_id is not None and tid.lower() != tenant_id.lower():
                raise OtherTenant(f"the ID token is tenant {tid}'s.")
            key = self.signing_key(tid, jwt.get_unverified_header(token).get("kid"))
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=audience,
                issuer=f"{self.login_url}/{tid}/v2.0",
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "tid", "nonce"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidIdToken(f"its ID token is not valid ({exc}).") from None
        # MSAL sends the SHA-256 of its nonce in the authorize request.
        if claims["nonce"] != hashlib.sha256(nonce.encode("ascii")).hexdigest():
            raise InvalidIdToken("the ID token was issued for another sign-in.")
        return claims

    def signing_key(self, tenant_id: str, kid: Any) -> Any:
        """The tenant's published key with this id, found through its discovery document
        (whose issuer must be the one the token claims)."""
        root = f"{self.login_url}/{tenant_id}"
        try:
            config = self._http.get(
                f"{root}/v2.0/.well-known/openid-configuration", timeout=15
            ).json()
            if config.get("issuer") != f"{root}/v2.0":
                raise InvalidIdToken("the tenant's discovery document names another issuer.")
            keys = self._http.get(str(config["jwks_uri"]), timeout=15).json()
            return jwt.PyJWKSet.from_dict(keys)[str(kid)].key
        except (requests.RequestException, ValueError, KeyError, jwt.PyJWKError):
            raise InvalidIdToken("the tenant's signing keys could not be read.") from None


def http_session(ca_bundle: str) -> requests.Session:
    """The session MSAL and the key lookups use. REQUESTS_CA_BUNDLE in the environment
    would override `verify`, so the session must not read the environment."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_bundle or True
    return session
