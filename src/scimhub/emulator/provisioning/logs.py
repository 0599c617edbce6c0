"""Provisioning log entries (provisioningObjectSummary) as Graph returns them from
/auditLogs/provisioning."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ..db import now_iso
from .scim_client import TargetError

_TARGET_TYPES = {
    "User": "urn:ietf:params:scim:schemas:core:2.0:User",
    "Group": "urn:ietf:params:scim:schemas:core:2.0:Group",
}


@dataclass(frozen=True)
class JobRef:
    tenant_id: str
    job_id: str
    sp_id: str
    sp_name: str
    app_id: str
    cycle_id: str


def _step(
    name: str, kind: str, status: str, description: str, details: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "provisioningStepType": kind,
        "status": status,
        "description": description,
        "details": details or {},
    }


def entry(
    job: JobRef,
    *,
    object_type: str,
    source_id: str,
    source_name: str,
    action: str,
    status: str,
    target_id: str | None = None,
    modified: dict[str, tuple[Any, Any]] | None = None,
    error: TargetError | None = None,
    reason: str | None = None,
    duration_ms: int = 0,
) -> dict[str, Any]:
    """One provisioning event. `action`: create|update|delete|disable|other;
    `status`: success|failure|skipped|warning."""
    steps = [
        _step(
            "EntryImport",
            "import",
            "success",
            f"Received {object_type} '{source_name}' change from Microsoft Entra ID",
        ),
        _step(
            "EntrySynchronizationScoping",
            "scoping",
            "skipped" if status == "skipped" else "success",
            reason
            or f"Determine if {object_type} in scope by evaluating against each scoping filter",
            {"Active in the source system": "True"},
        ),
    ]
    if status != "skipped":
        steps.append(
            _step(
                "EntryExportMatch",
                "matching",
                "success",
                f"{object_type} '{source_name}' matched in the target system"
                if target_id
                else f"{object_type} '{source_name}' not found in the target system",
            )
        )
        steps.append(
            _step(
                f"EntryExport{action.capitalize()}",
                "export",
                "failure" if error else "success",
                error.detail
                if error
                else f"{object_type} '{source_name}' was {action}d in the target system"
                if action != "other"
                else "No changes needed in the target system",
            )
        )
    error_info = (
        None
        if error is None
        else {
            "errorCode": error.code,
            "errorCategory": "NonServiceFailure"
            if error.status and error.status < 500
            else "TransientError",
            "reason": f"Failed to {action} {object_type} '{source_name}': {error.detail}",
            "additionalDetails": error.detail,
            "recommendedAction": None,
        }
    )
    return {
        "id": str(uuid.uuid4()),
        "activityDateTime": now_iso(),
        "tenantId": job.tenant_id,
        "jobId": job.job_id,
        "cycleId": job.cycle_id,
        "changeId": str(uuid.uuid4()),
        "durationInMilliseconds": duration_ms,
        "initiatedBy": {
            "id": "",
            "displayName": "Azure AD Provisioning Service",
            "initiatorType": "system",
        },
        "servicePrincipal": {"id": job.sp_id, "displayName": job.sp_name},
        "provisioningAction": action,
        "provisioningStatusInfo": {"status": status, "errorInformation": error_info},
        "provisioningSteps": steps,
        "modifiedProperties": [
            {
                "displayName": k,
                "oldValue": None if old is None else str(old),
                "newValue": None if new is None else str(new),
            }
            for k, (old, new) in (modified or {}).items()
        ],
        "sourceIdentity": {
            "id": source_id,
            "displayName": source_name,
            "identityType": object_type,
            "details": {},
        },
        "targetIdentity": {
            "id": target_id,
            "displayName": source_name,
            "identityType": _TARGET_TYPES[object_type],
            "details": {},
        },
        "sourceSystem": {"id": None, "displayName": "Entra ID", "details": {}},
        "targetSystem": {
            "id": job.job_id,
            "displayName": job.sp_name,
            "details": {
                "ApplicationId": job.app_id,
                "ServicePrincipalId": job.sp_id,
                "ServicePrincipalDisplayName": job.sp_name,
            },
        },
    }
