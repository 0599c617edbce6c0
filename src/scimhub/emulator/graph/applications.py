"""/v1.0/applications/{id}/extensionProperties (and by `(appId='...')`): register, list,
get and delete an application's directory extension properties."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import extensions
from ..context import Emulator
from ..schema import applications
from .endpoint import Caller, graph_endpoint, json_body, no_content
from .errors import denied, not_found
from .service_principals import READ_ROLES, WRITE_ROLES


def routes(emu: Emulator) -> list[Route]:
    base = emu.base_url

    def app_of(conn: Any, request: Request, caller: Caller, *, write: bool) -> Row[Any]:
        """An application of the caller's tenant, by object id or appId; writing it with
        only Application.ReadWrite.OwnedBy needs the caller to own it."""
        params = request.path_params
        column = applications.c.app_id if "app_id" in params else applications.c.id
        ref = params.get("app_id") or params["id"]
        app: Row[Any] | None = conn.execute(
            select(applications).where(column == ref, applications.c.tenant_id == caller.tenant_id)
        ).first()
        if app is None:
            raise not_found(ref)
        if (
            write
            and "Application.ReadWrite.All" not in caller.roles
            and app.owner_app_id != caller.app_id
        ):
            raise denied()
        return app

    def context(app: Row[Any]) -> str:
        return f"{base}/v1.0/$metadata#applications('{app.id}')/extensionProperties"

    async def list_properties(request: Request, caller: Caller) -> dict[str, Any]:
        with emu.engine.connect() as conn:
            app = app_of(conn, request, caller, write=False)
            rows = extensions.app_properties(conn, app.app_id)
        return {
            "@odata.context": context(app),
            "value": [extensions.property_to_graph(r, app.display_name) for r in rows],
        }

    async def add_property(request: Request, caller: Caller) -> dict[str, Any]:
        body = await json_body(request)
        with emu.engine.begin() as conn:
            app = app_of(conn, request, caller, write=True)
            row = extensions.add_property(conn, app, body)
        return {
            "@odata.context": f"{context(app)}/$entity",
            **extensions.property_to_graph(row, app.display_name),
        }

    async def get_property(request: Request, caller: Caller) -> dict[str, Any]:
        with emu.engine.connect() as conn:
            app = app_of(conn, request, caller, write=False)
            pid = request.path_params["property"]
            row = next(
                (r for r in extensions.app_properties(conn, app.app_id) if r.id == pid), None
            )
        if row is None:
            raise not_found(pid)
        return {
            "@odata.context": f"{context(app)}/$entity",
            **extensions.property_to_graph(row, app.display_name),
        }

    async def delete_property(request: Request, caller: Caller) -> Response:
        with emu.engine.begin() as conn:
            app = app_of(conn, request, caller, write=True)
            extensions.delete_property(conn, app.app_id, request.path_params["property"])
        return no_content()

    async def available(request: Request, caller: Caller) -> dict[str, Any]:
        """POST /directoryObjects/getAvailableExtensionProperties: every extension property
        the tenant's objects may carry (its apps', and consented multi-tenant apps')."""
        await json_body(request)
        with emu.engine.connect() as conn:
            rows = extensions.user_property_names(conn, caller.tenant_id).values()
            names = {
                a.app_id: a.display_name
                for a in conn.execute(
                    select(applications.c.app_id, applications.c.display_name).where(
                        applications.c.app_id.in_([r.app_id for r in rows])
                    )
                )
            }
        return {
            "@odata.context": f"{base}/v1.0/$metadata#"
            "Collection(microsoft.graph.extensionProperty)",
            "value": [
                extensions.property_to_graph(r, names.get(r.app_id, ""))
                for r in sorted(rows, key=lambda r: r.name)
            ],
        }

    out = [
        Route(
            "/v1.0/directoryObjects/getAvailableExtensionProperties",
            graph_endpoint(emu, available, *READ_ROLES),
            methods=["POST"],
        )
    ]
    for prefix in ("/v1.0/applications/{id}", "/v1.0/applications(appId='{app_id}')"):
        path = f"{prefix}/extensionProperties"
        out += [
            Route(path, graph_endpoint(emu, list_properties, *READ_ROLES), methods=["GET"]),
            Route(path, graph_endpoint(emu, add_property, *WRITE_ROLES), methods=["POST"]),
            Route(
                f"{path}/{{property}}",
                graph_endpoint(emu, get_property, *READ_ROLES),
                methods=["GET"],
            ),
            Route(
                f"{path}/{{property}}",
                graph_endpoint(emu, delete_property, *WRITE_ROLES),
                methods=["DELETE"],
            ),
        ]
    return out
