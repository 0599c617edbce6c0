"""The setup sign-in: proof of which Entra tenant an organisation connects.

The admin-consent redirect (`?admin_consent=True&tenant=...`) proves nothing: anyone can
type it. So setup is an OpenID Connect sign-in (authorization code with PKCE, through
MSAL: `oidc.py`) in which the admin also grants consent (`prompt=consent` with the app's
`.default` scope), and the tenant is the `tid` of the ID token the hub redeems the code
for, checked in `oidc.IdTokens` (signature, issuer, audience, lifetime, nonce), plus here an
administrator role of that tenant in `wids`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import requests

from .errors import BadRequest, NotProven, Unavailable, Upstream
from .oidc import (
    CodeFlow,
    EntraRefused,
    EntraUnreachable,
    IdTokens,
    InvalidIdToken,
    OidcFailure,
)
from .settings import EntraSettings

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


@dataclass(frozen=True, slots=True)
class TenantProof:
    """Who signed in, and the tenant their signed ID token names."""

    tenant_id: str
    object_id: str
    user: str  # preferred_username, for the audit trail


def _not_proven(failure: OidcFailure) -> NotProven | Unavailable:
    if isinstance(failure, EntraUnreachable):
        return Unavailable(str(uuid.uuid4()), Upstream(message=str(failure)))
    if isinstance(failure, EntraRefused):
        return NotProven("Entra refused the sign-in.", failure.upstream)
    return NotProven(str(failure))


class SetupSignIn:
    def __init__(
        self, settings: EntraSettings, http: requests.Session, tokens: IdTokens | None = None
    ) -> None:
        self.settings = settings
        self.flow = CodeFlow(settings.login_url, settings.client_id, settings.client_secret, http)
        self.tokens = tokens or IdTokens(settings.login_url, http)

    def begin(self, authority: str, redirect_uri: str, state: str) -> tuple[str, dict[str, Any]]:
        """The authorize URL to send the admin to, and the flow to keep until they return
        (it holds the PKCE verifier and nonce: server-side only)."""
        try:
            flow = self.flow.begin(
                authority, [self.settings.graph_scope], redirect_uri, state, prompt="consent"
            )
        except OidcFailure as failure:
            raise _not_proven(failure) from None
        return str(flow["auth_uri"]), {"authority": authority, "msal": flow}

    def finish(self, flow: dict[str, Any], query: dict[str, str]) -> TenantProof:
        """Redeem the code Entra sent back and check the ID token it answers with."""
        msal_flow = flow["msal"]
        try:
            result = self.flow.redeem(flow["authority"], msal_flow, query)
        except OidcFailure as failure:
            raise _not_proven(failure) from None
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
            claims = self.tokens.verify(token, audience=self.settings.client_id, nonce=nonce)
        except InvalidIdToken as failure:
            raise NotProven(str(failure)) from None
        if not CONSENT_ROLES & set(claims.get("wids") or []):
            raise BadRequest(
                "Sign in as an administrator of the Entra tenant (Global, "
                "Privileged Role, Application or Cloud Application "
                "Administrator) to connect it."
            )
        return claims
