"""The slice of the hub's settings the Entra integration reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...config import Settings


@dataclass(frozen=True, slots=True)
class EntraSettings:
    login_url: str
    graph_url: str
    graph_scope: str
    client_id: str
    client_secret: str = field(repr=False)
    ca_bundle: str
    app_template_id: str
    app_name: str

    @classmethod
    def from_settings(cls, s: Settings) -> EntraSettings:
        return cls(s.entra_login_url, s.entra_graph_url, s.entra_graph_scope,
                   s.entra_client_id, s.entra_client_secret, s.entra_ca_bundle,
                   s.entra_app_template_id, s.entra_app_name)

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret and self.app_template_id)

    def admin_consent_url(self, tenant: str, redirect_uri: str, state: str) -> str:
        from urllib.parse import urlencode

        query = urlencode({"client_id": self.client_id, "redirect_uri": redirect_uri,
                           "state": state})
        return f"{self.login_url}/{tenant}/adminconsent?{query}"
