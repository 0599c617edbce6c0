"""The slice of the hub's settings the Entra integration reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ...config import Settings

# How long before the hub's client secret expires the troubleshooter and the background
# work start warning (Entra's portal suggests renewing well ahead too).
SECRET_WARNING = timedelta(days=30)


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
    client_secret_expires: datetime | None = None
    # the console sign-in app ("scimhub Console"): another registration, see console_signin
    signin_client_id: str = ""
    signin_client_secret: str = field(default="", repr=False)

    @classmethod
    def from_settings(cls, s: Settings) -> EntraSettings:
        return cls(
            s.entra_login_url,
            s.entra_graph_url,
            s.entra_graph_scope,
            s.entra_client_id,
            s.entra_client_secret,
            s.entra_ca_bundle,
            s.entra_app_template_id,
            s.entra_app_name,
            s.entra_client_secret_expires,
            s.entra_signin_client_id,
            s.entra_signin_client_secret,
        )

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret and self.app_template_id)

    @property
    def signin_configured(self) -> bool:
        return bool(self.signin_client_id and self.signin_client_secret)
