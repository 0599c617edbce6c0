"""The hub's connections to Entra, opened once per process: MSAL credentials for app-only
Graph tokens, the HTTP client for Graph and the tenants' login metadata, and the two
OpenID Connect sign-ins (setup's and the console's, sharing one HTTP session for MSAL and
the signing keys)."""

from __future__ import annotations

import ssl
import uuid

import httpx

from .console_signin import ConsoleSignIn
from .credentials import CredentialSource
from .errors import NotConfigured
from .graph import GraphClient
from .oidc import IdTokens, http_session
from .settings import EntraSettings
from .signin import SetupSignIn
from .tenants import require_tenant_id


class EntraConnection:
    def __init__(self, settings: EntraSettings) -> None:
        self.settings = settings
        self.credentials = CredentialSource(settings)
        self._signin_http = http_session(settings.ca_bundle)
        tokens = IdTokens(settings.login_url, self._signin_http)
        self.signin = SetupSignIn(settings, self._signin_http, tokens)
        self.console_signin = ConsoleSignIn(settings, self._signin_http, tokens)
        verify: ssl.SSLContext | bool = True
        if settings.ca_bundle:
            verify = ssl.create_default_context(cafile=settings.ca_bundle)
        self.http = httpx.Client(verify=verify, trust_env=False, timeout=20)

    def graph(
        self, tenant_id: str, client_request_id: str | None = None, *, max_wait: float = 10.0
    ) -> GraphClient:
        """Graph as the integration app in one tenant; every call of the client shares one
        client-request-id (a new one unless given)."""
        if not self.settings.configured:
            raise NotConfigured()
        return GraphClient(
            self.credentials,
            self.http,
            require_tenant_id(tenant_id),
            client_request_id or str(uuid.uuid4()),
            max_wait=max_wait,
        )

    def close(self) -> None:
        self.http.close()
        self.credentials.close()
        self._signin_http.close()
