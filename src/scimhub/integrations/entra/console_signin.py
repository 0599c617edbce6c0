"""The console's OpenID Connect client: administrators sign in with the "scimhub Console"
app registration (SCIMHUB_ENTRA_SIGNIN_CLIENT_ID), not with the integration app.

Why a second app: the integration app holds Graph application permissions in every tenant
that connected it and is the one the seed's incident deletes; signing administrators in
with it would lock them out of the console at the very moment they need it to repair the
integration, and would make the console's roles (its app roles, "Assignment required?")
settings of the app that pushes the directory. The console app asks for nothing but
`openid profile` and defines the console's app roles (`scimhub.Admin`, `scimhub.ReadOnly`).

The authority is always the organisation's own tenant (never `common`/`organizations`),
and the ID token must be that tenant's: its issuer and `tid`, besides the checks of
`oidc.IdTokens`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import requests

from .oidc import CodeFlow, IdTokens
from .settings import EntraSettings


class ConsoleSignIn:
    def __init__(self, settings: EntraSettings, http: requests.Session, tokens: IdTokens) -> None:
        self.settings = settings
        self.flow = CodeFlow(
            settings.login_url, settings.signin_client_id, settings.signin_client_secret, http
        )
        self.tokens = tokens

    @property
    def configured(self) -> bool:
        return self.settings.signin_configured

    def begin(
        self, tenant_id: str, redirect_uri: str, state: str, *, other_account: bool = False
    ) -> dict[str, Any]:
        """MSAL's flow for a sign-in to `tenant_id` (its `auth_uri` is where the browser
        goes). No scope beyond the ones MSAL always asks for (openid, profile,
        offline_access): the console reads nothing of the user's but the ID token."""
        extra = {"prompt": "select_account"} if other_account else {}
        return self.flow.begin(tenant_id, [], redirect_uri, state, **extra)

    def finish(self, tenant_id: str, flow: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        """Redeem the code and check the ID token: the verified claims, of `tenant_id`."""
        result = self.flow.redeem(tenant_id, flow, query)
        return self.tokens.verify(
            str(result["id_token"]),
            audience=self.settings.signin_client_id,
            nonce=str(flow["nonce"]),
            tenant_id=tenant_id,
        )

    def logout_url(self, tenant_id: str, post_logout_redirect_uri: str) -> str:
        """Entra's sign-out for the tenant, coming back to the hub when it is done."""
        query = urlencode(
            {
                "post_logout_redirect_uri": post_logout_redirect_uri,
                "client_id": self.settings.signin_client_id,
            }
        )
        return f"{self.settings.login_url}/{tenant_id}/oauth2/v2.0/logout?{query}"
