"""Evidence lines: one short sentence per fact, the same in the terminal and the console."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..directory.instances import IntegrationFailure
from ..directory.request_log import RequestEntry
from .evidence import GraphProblem


def when(t: datetime | str | None) -> str:
    if t is None:
        return "unknown time"
    if isinstance(t, str):
        return t
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def said(code: str | None, message: str | None) -> str:
    """ "AADSTS700016: message", without repeating a code the message already starts with."""
    if message and code and message.startswith(code):
        return message
    return ": ".join(p for p in (code, message) if p)


def failure_line(f: IntegrationFailure) -> str:
    upstream = (
        f" — Entra said {said(f.upstream_code, f.upstream_message)}"
        if f.upstream_code or f.upstream_message
        else ""
    )
    ids = (
        f" (client-request-id {f.client_request_id}"
        + (f", correlation id {f.correlation_id})" if f.correlation_id else ")")
        if f.client_request_id
        else ""
    )
    return (
        f"TrackingID {f.tracking_id} at {when(f.time)}: call '{f.operation}' answered "
        f"{f.status}/{f.code}{upstream}{ids}"
    )


def problem_line(p: GraphProblem, tenant: str) -> str:
    upstream = said(p.upstream_code or f"HTTP {p.status}", p.upstream_message)
    ids = f" (client-request-id {p.client_request_id}" + (
        f", correlation id {p.correlation_id})" if p.correlation_id else ")"
    )
    return f"Now: {p.operation} for tenant {tenant} failed with {upstream}{ids}"


def request_line(e: RequestEntry) -> str:
    kind = f" {e.scim_type}" if e.scim_type else ""
    client = f" from {e.client}" if e.client else ""
    return (
        f"TrackingID {e.tracking_id} at {when(e.time)}: {e.method} {e.path} answered "
        f"{e.status}{kind}{client}"
    )


def initiator(record: dict[str, Any]) -> str:
    by = record.get("initiatedBy") or {}
    user, app = by.get("user") or {}, by.get("app") or {}
    if user:
        return str(user.get("userPrincipalName") or user.get("displayName") or "a user")
    if app:
        return f"app {app.get('displayName') or app.get('appId')}"
    return "unknown"


def audit_target(record: dict[str, Any]) -> str:
    targets = record.get("targetResources") or [{}]
    return str(targets[0].get("displayName") or targets[0].get("id") or "?")


def audit_line(record: dict[str, Any]) -> str:
    return (
        f"Entra audit log: '{record.get('activityDisplayName')}' of "
        f"'{audit_target(record)}' by {initiator(record)} at "
        f"{record.get('activityDateTime')} ({record.get('loggedByService', '')}, "
        f"{record.get('result', '')})"
    )


def audit_details(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "activity": record.get("activityDisplayName"),
        "time": record.get("activityDateTime"),
        "initiatedBy": initiator(record),
        "target": audit_target(record),
        "targetId": ((record.get("targetResources") or [{}])[0]).get("id"),
        "result": record.get("result"),
        "service": record.get("loggedByService"),
    }


def provisioning_line(entry: dict[str, Any]) -> str:
    source = entry.get("sourceIdentity") or {}
    info = (entry.get("provisioningStatusInfo") or {}).get("errorInformation") or {}
    return (
        f"{source.get('identityType', 'Object')} '{source.get('displayName')}' "
        f"({entry.get('provisioningAction')}, {entry.get('activityDateTime')}): "
        f"{info.get('reason') or info.get('errorCode') or 'failed'}"
    )
