"""The Azure AD integration of one hub, assembled once per process from the settings and
the directory: the connections to Entra and the services built on them.

Every call is synchronous (MSAL and Graph calls block); the API runs them in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ...config import Settings
from ...directory.admins import Admins
from ...directory.audit import Audit
from ...directory.instances import Instances
from ...directory.orgs import Orgs
from ...directory.signin_flows import SignInFlows
from ...directory.signin_settings import SignInSettings
from ...directory.tokens import Tokens
from .admin_signin import AdminSignIn
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
    admin_signin: AdminSignIn  # the console's "Sign in with Microsoft"

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        orgs: Orgs,
        tokens: Tokens,
        instances: Instances,
        audit: Audit,
        admins: Admins,
        signin_settings: SignInSettings,
        signin_flows: SignInFlows,
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
        admin_signin = AdminSignIn(
            connection, settings=signin_settings, flows=signin_flows, admins=admins, audit=audit
        )
        return cls(
            connection, EntraReader(connection), status, provisioning, setup, control, admin_signin
        )

    def close(self) -> None:
        self.connection.close()
