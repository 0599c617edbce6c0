"""The setup sign-in: proof of which Entra tenant an organisation connects.

The admin-consent redirect (`?admin_consent=True&tenant=...`) proves nothing: anyone can
type it. So setup is an OpenID Connect sign-in (authorization code with PKCE, through
MSAL) in which the admin also grants consent (`prompt=consent` with the app's `.default`
scope), and the tenant is the `tid` of the ID token the hub redeems the code for, checked
here: RS256 signature against the tenant's published keys, issuer, audience, lifetime,
nonce, and an administrator role of that tenant in `wids`. MSAL checks the nonce but not
the signature (it trusts its TLS channel to the token endpoint), hence the second look.
"""

from __future__ import annotations

import hashlib
import uuid
import warnings
from dataclasses import dataclass
from typing import Any

import jwt
import msal
import requests

from .errors import BadRequest, NotProven, Unavailable, Upstream
from .settings import EntraSettings
from .tenants import CONSUMER_TENANT, is_tenant_id

# Directory roles (template ids, as `wids` lists them) that may grant tenant-wide admin
# consent to application permissions.
CONSENT_ROLES = frozenset(
    {
        "62e90394-69f5-4237-9190-012177145e10",  # Global Administrator
        "e8611ab8-c189-46e8-94e1-60213ab1f814",  # Privileged Role Administrator
        "158c047a-c907-4556-b7ef-446551a6b5f7",  # Cloud Application Administrator
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",  # Application Administrator
    }
)
_LEEWAY_SECONDS = 120  # clock skew tolerated between the hub and Entra


@dataclass(frozen=True, slots=True)
class TenantProof:
    """Who signed in, and the tenant their signed ID token names."""

    tenant_id: str
    object_id: str
    user: str  # preferred_username, for the audit trail


class SetupSignIn:
    def __init__(self, settings: EntraSettings) -> None:
        self.settings = settings
        # REQUESTS_CA_BUNDLE would override `verify`; the session must not read the env.
        self._http = requests.Session()
        self._http.trust_env = False
        self._http.verify = settings.ca_bundle or True

    def close(self) -> None:
        self._http.close()

    def _app(self, authority: str) -> msal.ConfidentialClientApplication:
        # A fresh application per sign-in: the admin's tokens are never cached or reused.
        return msal.ConfidentialClientApplication(
            self.settings.client_id,
            client_credential=self.settings.client_secret,
            authority=f"{self.settings.login_url}/{authority}",
            instance_discovery=False,
            http_client=self._http,
            timeout=15,
            token_cache=msal.TokenCache(),
        )

    def begin(self, authority: str, redirect_uri: str, state: str) -> tuple[str, dict[str, Any]]:
        """The authorize URL to send the admin to, and the flow to keep until they return
        (it holds the PKCE verifier and nonce: server-side only)."""
        try:
            with warnings.catch_warnings():
                # MSAL recommends form_post; the hub takes the code from the query so the
                # console's SameSite=Lax session cookie comes back with it (a cross-site
                # POST would leave it behind, and the state is bound to that session).
                warnings.filterwarnings("ignore", message=".*form_post.*", category=UserWarning)
                flow = self._app(authority).initiate_auth_code_flow(
                    [self.settings.graph_scope],
                    redirect_uri=redirect_uri,
                    state=state,
                    prompt="consent",
                )
        except (requests.RequestException, ValueError) as exc:
            raise Unavailable(str(uuid.uuid4()), Upstream(message=type(exc).__name__)) from None
        return str(flow["auth_uri"]), {"authority": authority, "msal": flow}

    def finish(self, flow: dict[str, Any], query: dict[str, str]) -> TenantProof:
        """Redeem the code Entra sent back and check the ID token it answers with."""
        msal_flow = flow["msal"]
        try:
            result = self._app(flow["authority"]).acquire_token_by_auth_code_flow(msal_flow, query)
        except ValueError as exc:  # state mismatch, nonce mismatch, malformed answer
            raise NotProven(f"{exc}.") from None
        except requests.RequestException as exc:
            raise Unavailable(str(uuid.uuid4()), Upstream(message=type(exc).__name__)) from None
        if "id_token" not in result:
            codes = result.get("error_codes") or []
            raise NotProven(
                "Entra refused the sign-in.",
                Upstream(
                    code=f"AADSTS{codes[0]}" if codes else result.get("error"),
                    message=(result.get("error_description") or "").split("\r\n")[0],
                    correlation_id=result.get("correlation_id"),
                ),
            )
        claims = self.verify_id_token(str(result["id_token"]), nonce=str(msal_flow["nonce"]))
        return TenantProof(
            claims["tid"],
            str(claims.get("oid", "")),
            str(claims.get("preferred_username") or claims.get("oid", "")),
        )

    def verify_id_token(self, token: str, *, nonce: str) -> dict[str, Any]:
        """The ID token's claims, once signature, issuer, audience, lifetime, nonce and
        the signer's admin role all hold."""
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            tenant_id = str(unverified.get("tid", ""))
            if not is_tenant_id(tenant_id) or tenant_id.lower() == CONSUMER_TENANT:
                raise NotProven("the ID token names no organization's tenant.")
            issuer = f"{self.settings.login_url}/{tenant_id}/v2.0"
            key = self._signing_key(tenant_id, jwt.get_unverified_header(token).get("kid"))
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.settings.client_id,
                issuer=issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "tid", "nonce"]},
            )
        except jwt.PyJWTError as exc:
            raise NotProven(f"its ID token is not valid ({exc}).") from None
        # MSAL sends the SHA-256 of its nonce in the authorize request.
        if claims["nonce"] != hashlib.sha256(nonce.encode("ascii")).hexdigest():
            raise NotProven("the ID token was issued for another sign-in.")
        if not CONSENT_ROLES & set(claims.get("wids") or []):
            raise BadRequest(
                "Sign in as an administrator of the Entra tenant (Global, "
                "Privileged Role, Application or Cloud Application "
                "Administrator) to connect it."
            )
        return claims

    def _signing_key(self, tenant_id: str, kid: Any) -> Any:
        """The tenant's published key with this id, found through its discovery document
        (whose issuer must be the one the token claims)."""
        root = f"{self.settings.login_url}/{tenant_id}"
        try:
            config = self._http.get(
                f"{root}/v2.0/.well-known/openid-configuration", timeout=15
            ).json()
            if config.get("issuer") != f"{root}/v2.0":
                raise NotProven("the tenant's discovery document names another issuer.")
            keys = self._http.get(str(config["jwks_uri"]), timeout=15).json()
            return jwt.PyJWKSet.from_dict(keys)[str(kid)].key
        except (requests.RequestException, ValueError, KeyError, jwt.PyJWKError):
            raise NotProven("the tenant's signing keys could not be read.") from None
