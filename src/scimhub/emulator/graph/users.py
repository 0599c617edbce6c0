"""/v1.0/users: list, get (by id or userPrincipalName), manager."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from starlette.requests import Request
from starlette.routing import Route

from ..context import Emulator
from ..directory import find_user
from ..schema import users
from . import odata
from .endpoint import Caller, graph_endpoint
from .errors import not_found

READ_ROLES = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
DEFAULT_SELECT = [
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
]
FILTER_COLUMNS: odata.Columns = {
    "id": users.c.id,
    "userPrincipalName": users.c.user_principal_name,
    "mail": users.c.mail,
    "mailNickname": users.c.mail_nickname,
    "displayName": users.c.display_name,
    "givenName": users.c.given_name,
    "surname": users.c.surname,
    "accountEnabled": users.c.account_enabled,
    "department": users.c.department,
    "jobTitle": users.c.job_title,
    "employeeId": users.c.employee_id,
    "officeLocation": users.c.office_location,
    "createdDateTime": users.c.created_at,
}


def user_to_graph(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "businessPhones": [],
        "displayName": row.display_name,
        "givenName": row.given_name,
        "jobTitle": row.job_title,
        "mail": row.mail,
        "mobilePhone": None,
        "officeLocation": row.office_location,
        "preferredLanguage": None,
        "surname": row.surname,
        "userPrincipalName": row.user_principal_name,
        "accountEnabled": row.account_enabled,
        "department": row.department,
        "employeeId": row.employee_id,
        "mailNickname": row.mail_nickname,
        "createdDateTime": row.created_at,
        "deletedDateTime": row.deleted_at,
    }


KNOWN = set(FILTER_COLUMNS) | set(DEFAULT_SELECT) | {"deletedDateTime"}


def live_users(tenant_id: str) -> Any:
    return select(users).where(
        users.c.tenant_id == tenant_id, users.c.deleted_at.is_(None), users.c.purged.is_(False)
    )


def routes(emu: Emulator) -> list[Route]:
    base = emu.base_url

    async def list_users(request: Request, caller: Caller) -> dict[str, Any]:
        fields = odata.parse_select(request, KNOWN)
        stmt = live_users(caller.tenant_id)
        if flt := request.query_params.get("$filter"):
            stmt = stmt.where(odata.parse_filter(flt, FILTER_COLUMNS))
        with emu.engine.connect() as conn:
            return odata.page(
                conn,
                request,
                stmt,
                [users.c.id],
                lambda r: odata.project(user_to_graph(r), fields, DEFAULT_SELECT),
                f"{base}/v1.0/$metadata#users",
                odata.parse_top(request),
            )

    async def get_user(request: Request, caller: Caller) -> dict[str, Any]:
        ref = request.path_params["id"]
        with emu.engine.connect() as conn:
            row = find_user(conn, caller.tenant_id, ref)
        if row is None or row.deleted_at is not None:
            raise not_found(ref)
        fields = odata.parse_select(request, KNOWN)
        return {
            "@odata.context": f"{base}/v1.0/$metadata#users/$entity",
            **odata.project(user_to_graph(row), fields, DEFAULT_SELECT),
        }

    async def get_manager(request: Request, caller: Caller) -> dict[str, Any]:
        ref = request.path_params["id"]
        with emu.engine.connect() as conn:
            row = find_user(conn, caller.tenant_id, ref)
            manager = (
                find_user(conn, caller.tenant_id, row.manager_id)
                if row is not None and row.manager_id
                else None
            )
        if row is None or row.deleted_at is not None:
            raise not_found(ref)
        if manager is None or manager.deleted_at is not None:
            raise not_found("manager")
        return {
            "@odata.context": f"{base}/v1.0/$metadata#directoryObjects/$entity",
            "@odata.type": "#microsoft.graph.user",
            **user_to_graph(manager),
        }

    return [
        Route("/v1.0/users", graph_endpoint(emu, list_users, *READ_ROLES)),
        Route("/v1.0/users/{id}", graph_endpoint(emu, get_user, *READ_ROLES)),
        Route("/v1.0/users/{id}/manager", graph_endpoint(emu, get_manager, *READ_ROLES)),
    ]
