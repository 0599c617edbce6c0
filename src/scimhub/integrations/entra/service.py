"""The Azure AD integration of one hub, assembled once per process from the settings and
the directory: the connections to Entra and the services built on them.

Every call is synchronous (MSAL and Graph calls block); the API runs them in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ...config import Settings
from ...directory.audit import Audit
from ...directory.instances import Instances
from ...directory.orgs import Orgs
from ...directory.tokens import Tokens
from .connection import EntraConnection
from .control import Control
from .provisioning import Provisioning
from .reader import EntraReader
from .settings import EntraSettings
from .setup import Setup
from .status_view import StatusView


@dataclass(frozen=True, slots=True)
class EntraIntegration:
    connection: EntraConnection
    reader: EntraReader  # read-only: the troubleshooter and the background checks
    status: StatusView
    provisioning: Provisioning
    setup: Setup
    control: Control

    @classmethod
    def open(
        cls, settings: Settings, *, orgs: Orgs, tokens: Tokens, instances: Instances, audit: Audit
    ) -> EntraIntegration:
        connection = EntraConnection(EntraSettings.from_settings(settings))
        status = StatusView(connection, orgs=orgs, instances=instances)
        provisioning = Provisioning(
            connection,
            tokens=tokens,
            instances=instances,
            audit=audit,
            status=status,
            job_token_lifetime=timedelta(days=settings.job_token_days),
        )
        setup = Setup(
            connection,
            instances=instances,
            audit=audit,
            provisioning=provisioning,
            shared_tenants=frozenset(t.lower() for t in settings.entra_shared_tenants),
        )
        control = Control(
            connection,
            orgs=orgs,
            instances=instances,
            audit=audit,
            provisioning=provisioning,
            status=status,
        )
        return cls(connection, EntraReader(connection), status, provisioning, setup, control)

    def close(self) -> None:
        self.connection.close()
