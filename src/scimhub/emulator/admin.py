"""The emulator's own admin endpoints (not part of Entra): fault knobs, an app's redirect
URIs, and a small read-only HTML view of a tenant's enterprise apps and audit log."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import faults, redirect_uris
from .context import Emulator
from .directory import DirectoryError, find_tenant
from .pages import render
from .schema import directory_audits, service_principals, sync_jobs, tenants


def _admin_error(message: str, status: int = 400) -> Response:
    code = "NotFound" if status == 404 else "BadRequest"
    return JSONResponse({"error": {"code": code, "message": message}}, status)


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
            return _admin_error(str(exc))

    async def add_redirect_uri(request: Request) -> Response:
        """Body: {"uri": "https://..."}; the app's redirect URIs afterwards."""
        app_id = request.path_params["app_id"]
        try:
            body = orjson.loads(await request.body())
            uri = body.get("uri") if isinstance(body, dict) else None
            if not isinstance(uri, str):
                raise DirectoryError('body must be {"uri": "<redirect URI>"}')
            with emu.engine.begin() as conn:
                uris = redirect_uris.add_uri(conn, app_id, uri)
        except orjson.JSONDecodeError:
            return _admin_error("body must be JSON")
        except DirectoryError as err:
            return _admin_error(str(err), err.status)
        return JSONResponse({"appId": app_id, "redirectUris": uris}, 201)

    async def list_redirect_uris(request: Request) -> Response:
        app_id = request.path_params["app_id"]
        try:
            with emu.engine.connect() as conn:
                uris = redirect_uris.list_uris(conn, app_id)
        except DirectoryError as err:
            return _admin_error(str(err), err.status)
        return JSONResponse({"appId": app_id, "redirectUris": uris})

    async def tenant_view(request: Request) -> Response:
        with emu.engine.connect() as conn:
            tenant = find_tenant(conn, request.path_params["tenant"])
            if tenant is None:
                return render(
                    "message.html",
                    status=404,
                    title="Not found",
                    message="No such tenant.",
                    error=True,
                )
            sps = conn.execute(
                select(service_principals)
                .where(service_principals.c.tenant_id == tenant.id)
                .order_by(service_principals.c.display_name)
            ).all()
            jobs = conn.execute(select(sync_jobs).where(sync_jobs.c.tenant_id == tenant.id)).all()
            audits = conn.execute(
                select(directory_audits)
                .where(directory_audits.c.tenant_id == tenant.id)
                .order_by(directory_audits.c.activity_date_time.desc())
                .limit(200)
            ).all()
        return render(
            "tenant.html",
            title=tenant.display_name,
            tenant=tenant,
            sps=sps,
            jobs=jobs,
            audits=[a.body for a in audits],
        )

    async def index(request: Request) -> Response:
        with emu.engine.connect() as conn:
            rows = conn.execute(select(tenants).order_by(tenants.c.display_name)).all()
        return render("index.html", title="Tenants", tenants=rows)

    return [
        Route("/_emulator/faults", get_faults, methods=["GET"]),
        Route("/_emulator/faults", put_faults, methods=["PUT", "POST"]),
        Route("/_emulator/apps/{app_id}/redirectUris", list_redirect_uris, methods=["GET"]),
        Route("/_emulator/apps/{app_id}/redirectUris", add_redirect_uri, methods=["POST"]),
        Route("/_emulator/tenants", index),
        Route("/_emulator/tenants/{tenant}", tenant_view),
    ]
