"""/v1.0/auditLogs/directoryAudits and /v1.0/auditLogs/provisioning, newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.routing import Route

from ..context import Emulator
from ..schema import directory_audits, provisioning_logs
from . import odata
from .endpoint import Caller, graph_endpoint
from .errors import not_found

ROLES = ("AuditLog.Read.All", "Directory.Read.All")
AUDIT_COLUMNS: odata.Columns = {
    "id": directory_audits.c.id,
    "activityDisplayName": directory_audits.c.activity_display_name,
    "activityDateTime": directory_audits.c.activity_date_time,
    "category": directory_audits.c.category,
    "result": directory_audits.c.result,
    "loggedByService": directory_audits.c.logged_by_service,
    "correlationId": directory_audits.c.correlation_id,
    "operationType": directory_audits.c.operation_type,
}
PROVISIONING_COLUMNS: odata.Columns = {
    "id": provisioning_logs.c.id,
    "jobId": provisioning_logs.c.job_id,
    "cycleId": provisioning_logs.c.cycle_id,
    "activityDateTime": provisioning_logs.c.activity_date_time,
    "provisioningAction": provisioning_logs.c.action,
    "provisioningStatusInfo/status": provisioning_logs.c.status,
    "servicePrincipal/id": provisioning_logs.c.service_principal_id,
    "sourceIdentity/id": provisioning_logs.c.source_id,
}


def routes(emu: Emulator) -> list[Route]:
    base = emu.base_url

    def lister(table: Any, columns: odata.Columns, name: str) -> Any:
        async def handler(request: Request, caller: Caller) -> dict[str, Any]:
            stmt = select(table).where(table.c.tenant_id == caller.tenant_id)
            if flt := request.query_params.get("$filter"):
                stmt = stmt.where(odata.parse_filter(flt, columns))
            with emu.engine.connect() as conn:
                return odata.page(
                    conn,
                    request,
                    stmt,
                    [table.c.activity_date_time, table.c.id],
                    lambda r: r.body,
                    f"{base}/v1.0/$metadata#auditLogs/{name}",
                    odata.parse_top(request, default=100, maximum=1000),
                    descending=True,
                )

        return handler

    def getter(table: Any, name: str) -> Any:
        async def handler(request: Request, caller: Caller) -> dict[str, Any]:
            with emu.engine.connect() as conn:
                row = conn.execute(
                    select(table).where(
                        table.c.tenant_id == caller.tenant_id,
                        table.c.id == request.path_params["id"],
                    )
                ).first()
            if row is None:
                raise not_found(request.path_params["id"])
            return {"@odata.context": f"{base}/v1.0/$metadata#auditLogs/{name}/$entity", **row.body}

        return handler

    return [
        Route(
            "/v1.0/auditLogs/directoryAudits",
            graph_endpoint(emu, lister(directory_audits, AUDIT_COLUMNS, "directoryAudits"), *ROLES),
        ),
        Route(
            "/v1.0/auditLogs/directoryAudits/{id}",
            graph_endpoint(emu, getter(directory_audits, "directoryAudits"), *ROLES),
        ),
        Route(
            "/v1.0/auditLogs/provisioning",
            graph_endpoint(
                emu, lister(provisioning_logs, PROVISIONING_COLUMNS, "provisioning"), *ROLES
            ),
        ),
        Route(
            "/v1.0/auditLogs/provisioning/{id}",
            graph_endpoint(emu, getter(provisioning_logs, "provisioning"), *ROLES),
        ),
    ]
