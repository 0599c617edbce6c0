"""/v1.0/servicePrincipals and /v1.0/applicationTemplates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import audit
from ..apps import (
    APPLICATION_TEMPLATES,
    app_to_graph,
    delete_sp,
    get_sp,
    instantiate_template,
    sp_to_graph,
)
from ..constants import DEFAULT_ACCESS_ROLE
from ..context import Emulator
from ..schema import assignment_roles, assignments, grants, service_principals
from . import odata
from .endpoint import Caller, graph_endpoint, json_body, no_content
from .errors import bad_request, denied, not_found

READ_ROLES = (
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Application.ReadWrite.OwnedBy",
    "Directory.Read.All",
)
WRITE_ROLES = ("Application.ReadWrite.All", "Application.ReadWrite.OwnedBy")
FILTER_COLUMNS: odata.Columns = {
    "id": service_principals.c.id,
    "appId": service_principals.c.app_id,
    "displayName": service_principals.c.display_name,
    "accountEnabled": service_principals.c.account_enabled,
    "applicationTemplateId": service_principals.c.application_template_id,
    "appOwnerOrganizationId": service_principals.c.app_owner_tenant_id,
}


def require_owned_sp(conn: Any, caller: Caller, sp_id: str) -> Row[Any]:
    """A live SP of the caller's tenant that the caller may manage: with only
    Application.ReadWrite.OwnedBy, it must be one the caller's app created."""
    sp = get_sp(conn, caller.tenant_id, sp_id)
    if sp is None:
        raise not_found(sp_id)
    if "Application.ReadWrite.All" not in caller.roles and sp.owner_app_id != caller.app_id:
        raise denied()
    return sp


def routes(emu: Emulator) -> list[Route]:
    base = emu.base_url

    async def list_sps(request: Request, caller: Caller) -> dict[str, Any]:
        fields = odata.parse_select(
            request,
            set(FILTER_COLUMNS)
            | {
                "tags",
                "createdDateTime",
                "appDisplayName",
                "servicePrincipalType",
                "deletedDateTime",
            },
        )
        stmt = select(service_principals).where(
            service_principals.c.tenant_id == caller.tenant_id,
            service_principals.c.deleted_at.is_(None),
        )
        if flt := request.query_params.get("$filter"):
            stmt = stmt.where(odata.parse_filter(flt, FILTER_COLUMNS))
        with emu.engine.connect() as conn:
            return odata.page(
                conn,
                request,
                stmt,
                [service_principals.c.id],
                lambda r: odata.project(sp_to_graph(r), fields),
                f"{base}/v1.0/$metadata#servicePrincipals",
                odata.parse_top(request),
            )

    async def get_one(request: Request, caller: Caller) -> dict[str, Any]:
        with emu.engine.connect() as conn:
            sp = get_sp(conn, caller.tenant_id, request.path_params["id"])
        if sp is None:
            raise not_found(request.path_params["id"])
        return {
            "@odata.context": f"{base}/v1.0/$metadata#servicePrincipals/$entity",
            **sp_to_graph(sp),
        }

    async def get_by_app_id(request: Request, caller: Caller) -> dict[str, Any]:
        app_id = request.path_params["app_id"]
        with emu.engine.connect() as conn:
            sp = conn.execute(
                select(service_principals).where(
                    service_principals.c.tenant_id == caller.tenant_id,
                    service_principals.c.app_id == app_id,
                    service_principals.c.deleted_at.is_(None),
                )
            ).first()
        if sp is None:
            raise not_found(app_id)
        return {
            "@odata.context": f"{base}/v1.0/$metadata#servicePrincipals/$entity",
            **sp_to_graph(sp),
        }

    async def delete(request: Request, caller: Caller) -> Response:
        with emu.engine.begin() as conn:
            sp = require_owned_sp(conn, caller, request.path_params["id"])
            delete_sp(
                conn,
                caller.tenant_id,
                sp.id,
                audit.app_initiator(caller.app_id, caller.app_name, caller.sp_id),
            )
        return no_content()

    async def role_assignments(request: Request, caller: Caller) -> dict[str, Any]:
        with emu.engine.connect() as conn:
            sp = get_sp(conn, caller.tenant_id, request.path_params["id"])
            if sp is None:
                raise not_found(request.path_params["id"])
            rows = conn.execute(select(grants).where(grants.c.sp_id == sp.id)).all()
        return {
            "@odata.context": f"{base}/v1.0/$metadata#appRoleAssignments",
            "value": [
                {
                    "id": r.id,
                    "appRoleId": r.app_role_id,
                    "createdDateTime": r.created_at,
                    "principalId": sp.id,
                    "principalType": "ServicePrincipal",
                    "principalDisplayName": sp.display_name,
                    "resourceDisplayName": "Microsoft Graph",
                }
                for r in rows
            ],
        }

    async def list_templates(request: Request, caller: Caller) -> dict[str, Any]:
        return {
            "@odata.context": f"{base}/v1.0/$metadata#applicationTemplates",
            "value": list(APPLICATION_TEMPLATES.values()),
        }

    async def get_template(request: Request, caller: Caller) -> dict[str, Any]:
        template = APPLICATION_TEMPLATES.get(request.path_params["id"])
        if template is None:
            raise not_found(request.path_params["id"])
        return template

    async def instantiate(request: Request, caller: Caller) -> dict[str, Any]:
        body = await json_body(request)
        name = body.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise bad_request(
                "Invalid value specified for property 'displayName'.", "Request_BadRequest"
            )
        with emu.engine.begin() as conn:
            app, sp = instantiate_template(
                conn, caller.tenant_id, request.path_params["id"], name.strip(), caller.app_id
            )
        return {
            "@odata.context": f"{base}/v1.0/$metadata#microsoft.graph.applicationServicePrincipal",
            "application": app_to_graph(app),
            "servicePrincipal": sp_to_graph(sp),
        }

    async def assigned_to(request: Request, caller: Caller) -> dict[str, Any]:
        """The users and groups assigned to the app (what a job's "assigned" scope syncs)."""
        with emu.engine.connect() as conn:
            sp = get_sp(conn, caller.tenant_id, request.path_params["id"])
            if sp is None:
                raise not_found(request.path_params["id"])
            return odata.page(
                conn,
                request,
                select(assignments, assignment_roles.c.app_role_id)
                .outerjoin(assignment_roles, assignment_roles.c.assignment_id == assignments.c.id)
                .where(assignments.c.sp_id == sp.id),
                [assignments.c.id],
                lambda r: {
                    "id": r.id,
                    "appRoleId": r.app_role_id or DEFAULT_ACCESS_ROLE,
                    "createdDateTime": r.created_at,
                    "principalId": r.principal_id,
                    "principalType": r.principal_type,
                    "resourceId": sp.id,
                    "resourceDisplayName": sp.display_name,
                },
                f"{base}/v1.0/$metadata#servicePrincipals('{sp.id}')/appRoleAssignedTo",
                odata.parse_top(request),
            )

    return [
        Route("/v1.0/servicePrincipals", graph_endpoint(emu, list_sps, *READ_ROLES)),
        Route(
            "/v1.0/servicePrincipals(appId='{app_id}')",
            graph_endpoint(emu, get_by_app_id, *READ_ROLES),
        ),
        Route(
            "/v1.0/servicePrincipals/{id}",
            graph_endpoint(emu, get_one, *READ_ROLES),
            methods=["GET"],
        ),
        Route(
            "/v1.0/servicePrincipals/{id}",
            graph_endpoint(emu, delete, *WRITE_ROLES),
            methods=["DELETE"],
        ),
        Route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignments",
            graph_endpoint(emu, role_assignments, *READ_ROLES),
        ),
        Route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignedTo",
            graph_endpoint(emu, assigned_to, *READ_ROLES),
        ),
        Route("/v1.0/applicationTemplates", graph_endpoint(emu, list_templates)),
        Route("/v1.0/applicationTemplates/{id}", graph_endpoint(emu, get_template)),
        Route(
            "/v1.0/applicationTemplates/{id}/instantiate",
            graph_endpoint(emu, instantiate, *WRITE_ROLES),
            methods=["POST"],
        ),
    ]
