"""Synchronization jobs and their secrets: create, start, pause, restart, schema
changes. Shared by the Graph API and the CLI; each change writes the
ProvisioningManagement audit record Entra writes."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import Connection, Row, select

from .. import audit, extensions
from ..db import now_iso
from ..directory import DirectoryError
from ..schema import escrows, sync_jobs, sync_links, sync_secrets
from .mappings import attribute_sources, default_schema, validate_schema

NEVER = "0001-01-01T00:00:00Z"
RESET_SCOPES = {
    "None",
    "ConnectorDataStore",
    "Escrows",
    "Watermark",
    "QuarantineState",
    "Full",
    "ForceDeletes",
}
SECRET_KEYS = {
    "BaseAddress",
    "SecretToken",
    "SyncNotificationSettings",
    "SyncAll",
    "NotificationEmail",
}


def new_status() -> dict[str, Any]:
    return {
        "code": "NotConfigured",
        "countSuccessiveCompleteFailures": 0,
        "escrowsPruned": False,
        "lastExecution": None,
        "lastSuccessfulExecution": None,
        "lastSuccessfulExecutionWithExports": None,
        "progress": [],
        "quarantine": None,
        "steadyStateFirstAchievedTime": NEVER,
        "steadyStateLastAchievedTime": NEVER,
        "synchronizedEntryCountByType": [],
        "troubleshootingUrl": None,
    }


def interval(seconds: float) -> str:
    """ISO 8601 duration, as Graph shows schedule.interval (PT40M)."""
    whole = int(seconds)
    return f"PT{whole // 60}M" if whole % 60 == 0 and whole else f"PT{max(whole, 1)}S"


def job_to_graph(row: Row[Any], cycle_seconds: float) -> dict[str, Any]:
    return {
        "id": row.id,
        "templateId": row.template_id,
        "schedule": {
            "expiration": None,
            "interval": interval(cycle_seconds),
            "state": row.schedule_state,
        },
        "status": row.status,
        "synchronizationJobSettings": [
            {"name": "QuarantineTooManyDeletesThreshold", "value": "500"}
        ],
    }


def find_job(conn: Connection, sp_id: str, job_id: str) -> Row[Any]:
    row = conn.execute(
        select(sync_jobs).where(sync_jobs.c.sp_id == sp_id, sync_jobs.c.id == job_id)
    ).first()
    if row is None:
        raise DirectoryError(f"Job '{job_id}' not found.", "ResourceNotFound", 404)
    return row


def create_job(conn: Connection, sp: Row[Any], template_id: str) -> Row[Any]:
    exists = conn.execute(
        select(sync_jobs).where(sync_jobs.c.sp_id == sp.id, sync_jobs.c.template_id == template_id)
    ).first()
    if exists is not None:
        raise DirectoryError(f"A job for template '{template_id}' already exists.", "Conflict", 409)
    job_id = f"{template_id}.{sp.tenant_id.replace('-', '')}.{uuid.uuid4().hex}"
    conn.execute(
        sync_jobs.insert().values(
            id=job_id,
            tenant_id=sp.tenant_id,
            sp_id=sp.id,
            template_id=template_id,
            schedule_state="Disabled",
            status=new_status(),
            schema=None,
            watermark=None,
            next_run_at=None,
            created_at=now_iso(),
        )
    )
    return find_job(conn, sp.id, job_id)


def schema_of(row: Row[Any]) -> dict[str, Any]:
    return row.schema or default_schema(row.id)


def update(conn: Connection, job_id: str, **values: Any) -> None:
    conn.execute(sync_jobs.update().where(sync_jobs.c.id == job_id).values(**values))


def _audit(
    conn: Connection,
    job: Row[Any],
    activity: str,
    initiator: dict[str, Any],
    details: dict[str, str] | None = None,
) -> None:
    audit.record(
        conn,
        job.tenant_id,
        activity,
        "ProvisioningManagement",
        initiated_by=initiator,
        service="Account Provisioning",
        targets=[audit.target(job.sp_id, job.id, "ServicePrincipal")],
        additional={"JobId": job.id, **(details or {})},
    )


def get_secrets(conn: Connection, sp_id: str) -> dict[str, str]:
    row = conn.execute(select(sync_secrets).where(sync_secrets.c.sp_id == sp_id)).first()
    return dict(row.values) if row else {}


def put_secrets(
    conn: Connection, sp: Row[Any], pairs: list[dict[str, Any]], initiator: dict[str, Any]
) -> None:
    values = get_secrets(conn, sp.id)
    for pair in pairs:
        key, value = pair.get("key"), pair.get("value")
        if key not in SECRET_KEYS or not isinstance(value, str):
            raise DirectoryError(f"Invalid secret key '{key}'.", "BadRequest")
        values[key] = value
    conn.execute(sync_secrets.delete().where(sync_secrets.c.sp_id == sp.id))
    conn.execute(sync_secrets.insert().values(sp_id=sp.id, values=values))
    for job in conn.execute(select(sync_jobs).where(sync_jobs.c.sp_id == sp.id)).all():
        if job.status["code"] == "NotConfigured" and values.get("BaseAddress"):
            update(conn, job.id, status={**job.status, "code": "NotRun"})
        _audit(conn, job, "Update provisioning credentials", initiator)


def start(conn: Connection, job: Row[Any], initiator: dict[str, Any]) -> None:
    """Start (or resume) the schedule; like Entra, this also lifts a quarantine."""
    if not get_secrets(conn, job.sp_id).get("BaseAddress"):
        raise DirectoryError(
            "The job cannot be started: the tenant URL (BaseAddress) is not configured.",
            "BadRequest",
        )
    update(
        conn,
        job.id,
        schedule_state="Active",
        next_run_at=time.time(),
        status={**job.status, "code": "Active", "quarantine": None},
    )
    _audit(conn, job, "Start provisioning configuration", initiator)


def pause(conn: Connection, job: Row[Any], initiator: dict[str, Any]) -> None:
    update(
        conn,
        job.id,
        schedule_state="Paused",
        next_run_at=None,
        status={**job.status, "code": "Paused"},
    )
    _audit(conn, job, "Pause provisioning configuration", initiator)


def restart(
    conn: Connection, job: Row[Any], reset_scope: str | None, initiator: dict[str, Any]
) -> None:
    """Restart: apply criteria.resetScope (default Full) and run a new initial cycle."""
    scopes = {s.strip() for s in (reset_scope or "Full").split(",") if s.strip()}
    if not scopes <= RESET_SCOPES:
        raise DirectoryError(f"Invalid resetScope '{reset_scope}'.", "BadRequest")
    if "Full" in scopes:
        scopes |= {"ConnectorDataStore", "Escrows", "Watermark", "QuarantineState"}
    status = dict(job.status)
    if "QuarantineState" in scopes:
        status["quarantine"] = None
        status["countSuccessiveCompleteFailures"] = 0
    if "Escrows" in scopes:
        conn.execute(escrows.delete().where(escrows.c.job_id == job.id))
    if "ConnectorDataStore" in scopes:
        conn.execute(sync_links.delete().where(sync_links.c.job_id == job.id))
    values: dict[str, Any] = {
        "status": {**status, "code": "Active"},
        "schedule_state": "Active",
        "next_run_at": time.time(),
    }
    if "Watermark" in scopes or "ConnectorDataStore" in scopes:
        values["watermark"] = None
    update(conn, job.id, **values)
    _audit(
        conn,
        job,
        "Restart provisioning configuration",
        initiator,
        {"ResetScope": ", ".join(sorted(scopes))},
    )


def put_schema(conn: Connection, job: Row[Any], schema: Any, initiator: dict[str, Any]) -> None:
    """New mappings or scope mean a new initial cycle (the watermark is dropped). A
    directory extension can be a source only once an application registered it."""
    schema = validate_schema(schema)
    known = extensions.user_property_names(conn, job.tenant_id)
    for source in attribute_sources(schema, "User"):
        if extensions.is_extension(source) and source.lower() not in known:
            raise DirectoryError(
                f"The source attribute '{source}' is not an extension property of this "
                "directory's users: register it on an application first "
                "(POST /applications/{id}/extensionProperties).",
                "BadRequest",
            )
    update(conn, job.id, schema=schema, watermark=None)
    _audit(conn, job, "Update attribute mappings or scope", initiator)


def delete_job(conn: Connection, job: Row[Any], initiator: dict[str, Any]) -> None:
    for table in (sync_links, escrows):
        conn.execute(table.delete().where(table.c.job_id == job.id))
    conn.execute(sync_jobs.delete().where(sync_jobs.c.id == job.id))
    _audit(conn, job, "Delete provisioning configuration", initiator)
