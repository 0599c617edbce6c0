"""The emulator's own admin endpoints (not part of Entra): fault knobs, and a small
read-only HTML view of a tenant's enterprise apps and audit log."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import faults
from .context import Emulator
from .directory import find_tenant
from .pages import render
from .schema import directory_audits, service_principals, sync_jobs, tenants


def routes(emu: Emulator) -> list[Route]:
    async def get_faults(request: Request) -> Response:
        with emu.engine.connect() as conn:
            return JSONResponse(faults.describe(conn))

    async def put_faults(request: Request) -> Response:
        """Body: {"scope": "*"|tenant, "throttle_remaining": 3, "retry_after": 2,
        "latency_ms": 0, "error_rate": 0.1, "error_remaining": 0, "error_status": 503};
        {"clear": true} (optionally with a scope) removes knobs."""
        try:
            body: dict[str, Any] = orjson.loads(await request.body())
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            scope = str(body.pop("scope", faults.GLOBAL))
            with emu.engine.begin() as conn:
                if body.pop("clear", False):
                    faults.clear(conn, None if scope == faults.GLOBAL else scope)
                    return JSONResponse(faults.describe(conn))
                if scope != faults.GLOBAL and find_tenant(conn, scope) is None:
                    raise ValueError(f"unknown tenant {scope}")
                faults.set_fault(conn, scope, **body)
                return JSONResponse(faults.describe(conn))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": {"code": "BadRequest", "message": str(exc)}}, 400)

    async def tenant_view(request: Request) -> Response:
        with emu.engine.connect() as conn:
            tenant = find_tenant(conn, request.path_params["tenant"])
            if tenant is None:
                return render("message.html", status=404, title="Not found",
                              message="No such tenant.", error=True)
            sps = conn.execute(select(service_principals).where(
                service_principals.c.tenant_id == tenant.id).order_by(
                service_principals.c.display_name)).all()
            jobs = conn.execute(select(sync_jobs).where(sync_jobs.c.tenant_id == tenant.id)).all()
            audits = conn.execute(select(directory_audits).where(
                directory_audits.c.tenant_id == tenant.id).order_by(
                directory_audits.c.activity_date_time.desc()).limit(200)).all()
        return render("tenant.html", title=tenant.display_name, tenant=tenant, sps=sps,
                      jobs=jobs, audits=[a.body for a in audits])

    async def index(request: Request) -> Response:
        with emu.engine.connect() as conn:
            rows = conn.execute(select(tenants).order_by(tenants.c.display_name)).all()
        return render("index.html", title="Tenants", tenants=rows)

    return [
        Route("/_emulator/faults", get_faults, methods=["GET"]),
        Route("/_emulator/faults", put_faults, methods=["PUT", "POST"]),
        Route("/_emulator/tenants", index),
        Route("/_emulator/tenants/{tenant}", tenant_view),
    ]
