"""Small builders of evidence objects, so each classification test states only the facts
that matter to it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from scimhub.diagnose.evidence import Evidence, GraphProblem, InstanceEvidence
from scimhub.directory.instances import Dialect, Instance, IntegrationFailure, Mode
from scimhub.directory.request_log import RequestEntry
from scimhub.directory.tokens import TokenInfo, TokenKind

NOW = datetime(2026, 5, 21, 22, 44, 59, tzinfo=UTC)
TENANT = "2fdb923e-1d23-4e1b-a30f-e9cd88845744"
CLIENT_ID = "90db942a-c1eb-4e8d-82e4-eebf64a7e2ae"
LOGIN = "https://login.example"


def instance(**kw: Any) -> Instance:
    base = Instance(
        "inst-1",
        "org-1",
        TENANT,
        "contoso.onmicrosoft.com",
        "scimhub Identity - contoso.onmicrosoft.com",
        Mode.PUSH,
        Dialect.DEFAULT,
        "prov-app",
        "prov-sp",
        "job-1",
        "scimhubIdentity",
        "assigned",
        [{"source": "userPrincipalName", "target": "userName"}],
        True,
        "tok-1",
        "https://hub.example",
        None,
        None,
        None,
        None,
        NOW - timedelta(days=3),
        NOW - timedelta(days=3),
    )
    return replace(base, **kw)


def evidence(*instances: InstanceEvidence, **kw: Any) -> Evidence:
    kw = {"configured": True, "login_url": LOGIN, "client_id": CLIENT_ID, **kw}
    return Evidence("org-1", NOW, instances=list(instances), **kw)


def job(code: str = "Active", **status: Any) -> dict[str, Any]:
    return {
        "id": "job-1",
        "status": {"code": code, "lastExecution": {"timeBegan": "2026-05-21T22:40:00Z"}, **status},
        "schedule": {"state": "Active"},
    }


def healthy_instance(**kw: Any) -> InstanceEvidence:
    return InstanceEvidence(
        instance(), provisioning_sp_found=True, job=job(), scim_token=token(), **kw
    )


def problem(upstream_code: str | None, status: int = 401, code: str = "701018") -> GraphProblem:
    return GraphProblem(
        "find provisioning app",
        status,
        code,
        upstream_code,
        f"{upstream_code}: refused" if upstream_code else None,
        "corr-1",
        "crid-1",
    )


def failure(
    upstream_code: str | None = "AADSTS700016",
    *,
    status: int = 401,
    code: str = "701018",
    ago: timedelta = timedelta(minutes=5),
    tracking_id: str = "ATLAS_497d70df-8811-4b6b-9b6a-ef4f438b57f6_136",
) -> IntegrationFailure:
    return IntegrationFailure(
        1,
        "org-1",
        None,
        NOW - ago,
        tracking_id,
        "status",
        status,
        code,
        upstream_code,
        "Application not found",
        "corr-1",
        "crid-1",
    )


def request(
    status: int,
    *,
    scim_type: str | None = None,
    ago: timedelta = timedelta(minutes=1),
    tracking_id: str = "SCIMHUB_x_0",
    method: str = "POST",
) -> RequestEntry:
    return RequestEntry(
        "org-1",
        NOW - ago,
        method,
        "/Users",
        "User",
        status,
        scim_type,
        3,
        tracking_id,
        "Microsoft.Identity.Provisioning",
        None,
    )


def token(**kw: Any) -> TokenInfo:
    base = TokenInfo(
        "tok-1",
        "org-1",
        "Entra provisioning (contoso)",
        TokenKind.SCIM,
        "scimhub_abcdefgh",
        NOW - timedelta(days=3),
        None,
        None,
    )
    return replace(base, **kw)


def removed_sp(target_id: str, name: str, ago: timedelta = timedelta(minutes=30)) -> dict[str, Any]:
    return {
        "activityDisplayName": "Remove service principal",
        "activityDateTime": (NOW - ago).isoformat().replace("+00:00", "Z"),
        "loggedByService": "Core Directory",
        "result": "success",
        "initiatedBy": {
            "user": {"userPrincipalName": "admin@contoso.onmicrosoft.com"},
            "app": None,
        },
        "targetResources": [{"id": target_id, "displayName": name}],
    }


def provisioning_entry(
    name: str, error_code: str, status: str = "failure", source_id: str | None = None
) -> dict[str, Any]:
    return {
        "activityDateTime": "2026-05-21T22:41:00Z",
        "provisioningAction": "update",
        "sourceIdentity": {"id": source_id or name, "displayName": name, "identityType": "User"},
        "provisioningStatusInfo": {
            "status": status,
            "errorInformation": {
                "errorCode": error_code,
                "reason": f"Failed to update User '{name}'",
            },
        },
    }
