"""App-only tokens for Microsoft Graph from Entra, with MSAL (client credentials).

MSAL keeps a token cache per application object; one object per tenant reuses tokens
until they expire. A refused token request becomes `Unauthorized` (401/701018) carrying
the AADSTS code, which is what tells a deleted service principal (700016) from an expired
secret (7000222).
"""

from __future__ import annotations

import threading
from typing import Any

import msal
import requests

from .errors import Unauthorized, Unavailable, Upstream
from .settings import EntraSettings

# AADSTS codes that mean Entra is throttling the tenant's token requests (90055): transient,
# unlike a refusal of the credentials.
_THROTTLED = {90055}


class CredentialSource:
    def __init__(self, settings: EntraSettings) -> None:
        self.settings = settings
        self._apps: dict[str, msal.ConfidentialClientApplication] = {}
        self._lock = threading.Lock()
        # REQUESTS_CA_BUNDLE would override `verify`; the session must not read the env.
        self._http = requests.Session()
        self._http.trust_env = False
        self._http.verify = settings.ca_bundle or True

    def _app(self, tenant_id: str) -> msal.ConfidentialClientApplication:
        with self._lock:
            app = self._apps.get(tenant_id)
            if app is None:
                app = msal.ConfidentialClientApplication(
                    self.settings.client_id,
                    client_credential=self.settings.client_secret,
                    authority=f"{self.settings.login_url}/{tenant_id}",
                    instance_discovery=False,
                    http_client=self._http,
                    timeout=15,
                )
                self._apps[tenant_id] = app
            return app

    def token(self, tenant_id: str, client_request_id: str) -> str:
        try:
            result: dict[str, Any] = self._app(tenant_id).acquire_token_for_client(
                scopes=[self.settings.graph_scope]
            )
        except (requests.RequestException, ValueError) as exc:
            # ValueError: MSAL could not read the authority's metadata (tenant unknown or
            # the server is not answering like Entra).
            self.forget(tenant_id)
            raise Unavailable(client_request_id, Upstream(message=type(exc).__name__)) from None
        if "access_token" in result:
            return str(result["access_token"])
        self.forget(tenant_id)
        codes = result.get("error_codes") or []
        upstream = Upstream(
            code=f"AADSTS{codes[0]}" if codes else result.get("error"),
            message=(result.get("error_description") or "").split("\r\n")[0],
            correlation_id=result.get("correlation_id"),
        )
        if codes and codes[0] in _THROTTLED:
            raise Unavailable(client_request_id, upstream)
        raise Unauthorized(client_request_id, upstream)

    def close(self) -> None:
        """Close the kept-alive connections to Entra's login endpoint."""
        self._http.close()

    def forget(self, tenant_id: str) -> None:
        """Drop a tenant's cached app (and tokens), e.g. after Graph answered 401."""
        with self._lock:
            self._apps.pop(tenant_id, None)
