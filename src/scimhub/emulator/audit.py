"""directoryAudit records, shaped as Graph returns them from /auditLogs/directoryAudits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row

from .constants import ADMIN_DISPLAY_NAME
from .db import new_id, now_iso
from .schema import directory_audits

_OPERATION_TYPES = {
    "Add": "Add",
    "Remove": "Delete",
    "Hard": "Delete",
    "Restore": "Restore",
    "Consent": "Assign",
    "Update": "Update",
}


def admin_initiator(tenant: Row[Any]) -> dict[str, Any]:
    return {
        "app": None,
        "user": {
            "id": tenant.id,  # the emulated admin has no user object; its tenant stands in
            "displayName": ADMIN_DISPLAY_NAME,
            "userPrincipalName": tenant.admin_login,
            "ipAddress": "127.0.0.1",
            "userType": "Member",
            "homeTenantId": tenant.id,
            "homeTenantName": tenant.display_name,
        },
    }


def app_initiator(app_id: str, display_name: str, sp_id: str | None) -> dict[str, Any]:
    return {
        "user": None,
        "app": {
            "appId": app_id,
            "displayName": display_name,
            "servicePrincipalId": sp_id,
            "servicePrincipalName": display_name,
        },
    }


def system_initiator(name: str = "Azure AD Cloud Sync") -> dict[str, Any]:
    return app_initiator("00000000-0000-0000-0000-000000000000", name, None)


def target(
    oid: str, display_name: str, kind: str, modified: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "id": oid,
        "displayName": display_name,
        "type": kind,
        "userPrincipalName": None,
        "groupType": None,
        "modifiedProperties": modified or [],
    }


def record(
    conn: Connection,
    tenant_id: str,
    activity: str,
    category: str,
    *,
    initiated_by: dict[str, Any],
    targets: list[dict[str, Any]],
    result: str = "success",
    result_reason: str = "",
    service: str = "Core Directory",
    additional: dict[str, str] | None = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    body = {
        "id": f"Directory_{new_id()}",
        "category": category,
        "correlationId": correlation_id or new_id(),
        "result": result,
        "resultReason": result_reason,
        "activityDisplayName": activity,
        "activityDateTime": now_iso(),
        "loggedByService": service,
        "operationType": _OPERATION_TYPES.get(activity.split(" ")[0], "Update"),
        "initiatedBy": initiated_by,
        "targetResources": targets,
        "additionalDetails": [{"key": k, "value": v} for k, v in (additional or {}).items()],
    }
    conn.execute(
        directory_audits.insert().values(
            id=body["id"],
            tenant_id=tenant_id,
            activity_date_time=body["activityDateTime"],
            activity_display_name=activity,
            category=category,
            result=result,
            logged_by_service=service,
            correlation_id=body["correlationId"],
            operation_type=body["operationType"],
            body=body,
        )
    )
    return body
