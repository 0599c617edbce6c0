"""Read-only questions to Entra, for the troubleshooter and the background checks: what
the hub may say about its own integration app, and per tenant the provisioning app and
job, the audit and provisioning logs, users and groups. Nothing here changes a tenant or
the hub; failures are the integration's error types, as everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from . import jobs
from .connection import EntraConnection
from .errors import Upstream
from .graph import GraphClient
from .settings import EntraSettings

# Entra's answer for a tenant that does not exist (the tenant's metadata says it).
_TENANT_NOT_FOUND = 90002


@dataclass(frozen=True, slots=True)
class PublicIdentity:
    """The hub's integration app as it may be shown: identifiers, never the secret."""

    configured: bool
    login_url: str
    client_id: str
    client_secret_expires: datetime | None


class EntraReader:
    def __init__(self, connection: EntraConnection) -> None:
        self.connection = connection
        self.settings: EntraSettings = connection.settings

    def public_identity(self) -> PublicIdentity:
        s = self.settings
        return PublicIdentity(s.configured, s.login_url, s.client_id, s.client_secret_expires)

    def tenant(self, tenant_id: str, *, max_wait: float = 10.0) -> TenantProbe:
        """Questions to one tenant, all under one client-request-id; `max_wait` is the
        longest Retry-After worth sitting out."""
        graph = self.connection.graph(tenant_id, max_wait=max_wait)
        return TenantProbe(graph, self.connection.http, self.settings.login_url)


class TenantProbe:
    def __init__(self, graph: GraphClient, http: httpx.Client, login_url: str) -> None:
        self._graph = graph
        self._http = http
        self._login_url = login_url

    def check(self) -> None:
        """The hub still gets a token for the tenant and an answer from Graph."""
        self._graph.get("/organization?$select=id")

    def service_principal(self, app_id: str) -> dict[str, Any] | None:
        return jobs.find_service_principal(self._graph, app_id)

    def job(self, job: jobs.JobRef) -> dict[str, Any]:
        return jobs.get_job(self._graph, job)

    def removed_service_principals(self) -> list[dict[str, Any]]:
        """The directory audit's latest "Remove service principal" records."""
        found = self._graph.get(
            "/auditLogs/directoryAudits",
            **{"$filter": "activityDisplayName eq 'Remove service principal'", "$top": "10"},
        )
        return list((found or {}).get("value", []))

    def provisioning_log(
        self, job_id: str, status: str, since: str | None = None
    ) -> list[dict[str, Any]]:
        """The job's provisioning log entries with this status ("failure", "skipped"),
        from `since` (an ISO time) when given."""
        flt = f"jobId eq '{job_id}' and provisioningStatusInfo/status eq '{status}'"
        if since:
            flt += f" and activityDateTime ge {since}"
        found = self._graph.get("/auditLogs/provisioning", **{"$filter": flt, "$top": "200"})
        return list((found or {}).get("value", []))

    def users(self, properties: str) -> Iterator[dict[str, Any]]:
        return self._objects("/users", **{"$select": properties, "$top": "999"})

    def groups(self) -> Iterator[dict[str, Any]]:
        return self._objects("/groups", **{"$select": "id,displayName", "$top": "999"})

    def members(self, group_id: str) -> Iterator[dict[str, Any]]:
        return self._objects(f"/groups/{group_id}/members")

    def assigned_to(self, sp_id: str) -> Iterator[dict[str, Any]]:
        """The app's direct assignments (users and groups)."""
        return self._objects(f"/servicePrincipals/{sp_id}/appRoleAssignedTo")

    def extension_properties(self) -> list[dict[str, Any]]:
        """The directory extension properties the tenant's users may carry (its own apps'
        and consented multi-tenant apps'), what a mapping may read as a source."""
        found = self._graph.post(
            "/directoryObjects/getAvailableExtensionProperties", {"isSyncedFromOnPremises": False}
        )
        return [
            p
            for p in (found or {}).get("value", [])
            if "User" in (p.get("targetObjects") or []) and isinstance(p.get("name"), str)
        ]

    def tenant_missing(self) -> Upstream | None:
        """What Entra says when the tenant does not exist (AADSTS90002), else None. MSAL
        reports an unknown tenant only as metadata it could not read, so the tenant's
        OpenID configuration is asked directly."""
        tenant = self._graph.tenant_id
        try:
            answer = self._http.get(
                f"{self._login_url}/{tenant}/v2.0/.well-known/openid-configuration"
            )
            body = answer.json() if answer.status_code >= 400 else {}
        except (httpx.HTTPError, ValueError):
            return None
        if _TENANT_NOT_FOUND not in (body.get("error_codes") or []):
            return None
        return Upstream(
            f"AADSTS{_TENANT_NOT_FOUND}",
            str(body.get("error_description", "")).split("\r\n")[0],
            body.get("correlation_id"),
        )

    def _objects(self, path: str, **params: str) -> Iterator[dict[str, Any]]:
        """Every object of a collection, reading the next page only when it is needed."""
        for page in self._graph.pages(path, **params):
            yield from page.get("value", [])
