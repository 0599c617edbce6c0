"""/v1.0/users: list, get (by id or userPrincipalName), manager."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import extensions
from ..context import Emulator
from ..directory import USER_FIELDS, find_user
from ..schema import users
from . import odata
from .endpoint import Caller, graph_endpoint, json_body, no_content
from .errors import bad_request, not_found

READ_ROLES = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
WRITE_ROLES = ("User.ReadWrite.All", "Directory.ReadWrite.All")
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


def parse_select(request: Request, conn: Connection, tenant_id: str) -> list[str] | None:
    """$select over the user's properties and the tenant's extension properties (named
    case-insensitively, answered under their registered names)."""
    registered = extensions.user_property_names(conn, tenant_id)
    names = {n: r.name for n, r in registered.items()}
    raw = request.query_params.get("$select")
    if raw:
        fields = [f.strip() for f in raw.split(",") if f.strip()]
        canonical = [names.get(f.lower(), f) for f in fields]
        if canonical != fields:
            raw = ",".join(canonical)
    return odata.parse_select_text(raw, KNOWN | set(names.values()))


def render(
    row: Row[Any], fields: list[str] | None, values: dict[str, Any] | None
) -> dict[str, Any]:
    """A user as Graph returns it; extension properties only when selected and set."""
    out = odata.project({**user_to_graph(row), **(values or {})}, fields, DEFAULT_SELECT)
    return {k: v for k, v in out.items() if v is not None or not extensions.is_extension(k)}


def wants_extensions(fields: list[str] | None) -> bool:
    return any(extensions.is_extension(f) for f in fields or [])


def live_users(tenant_id: str) -> Any:
    return select(users).where(
        users.c.tenant_id == tenant_id, users.c.deleted_at.is_(None), users.c.purged.is_(False)
    )


def routes(emu: Emulator) -> list[Route]:
    base = emu.base_url

    async def list_users(request: Request, caller: Caller) -> dict[str, Any]:
        stmt = live_users(caller.tenant_id)
        if flt := request.query_params.get("$filter"):
            stmt = stmt.where(odata.parse_filter(flt, FILTER_COLUMNS))
        with emu.engine.connect() as conn:
            fields = parse_select(request, conn, caller.tenant_id)
            with_values = wants_extensions(fields)

            def to_graph(r: Row[Any]) -> dict[str, Any]:
                values = extensions.user_values(conn, [r.id]).get(r.id) if with_values else None
                return render(r, fields, values)

            return odata.page(
                conn,
                request,
                stmt,
                [users.c.id],
                to_graph,
                f"{base}/v1.0/$metadata#users",
                odata.parse_top(request),
            )

    async def get_user(request: Request, caller: Caller) -> dict[str, Any]:
        ref = request.path_params["id"]
        with emu.engine.connect() as conn:
            row = find_user(conn, caller.tenant_id, ref)
            if row is None or row.deleted_at is not None:
                raise not_found(ref)
            fields = parse_select(request, conn, caller.tenant_id)
            values = extensions.user_values(conn, [row.id]).get(row.id)
        return {
            "@odata.context": f"{base}/v1.0/$metadata#users/$entity",
            **render(row, fields, values),
        }

    async def patch_user(request: Request, caller: Caller) -> Response:
        """Graph's user update: the stored properties and extension properties."""
        body = await json_body(request)
        for prop in body:
            if prop not in USER_FIELDS and not extensions.is_extension(prop):
                raise bad_request(
                    f"Property '{prop}' does not exist or cannot be set.", "Request_BadRequest"
                )
        ref = request.path_params["id"]
        with emu.engine.begin() as conn:
            row = find_user(conn, caller.tenant_id, ref)
            if row is None or row.deleted_at is not None:
                raise not_found(ref)
            extensions.update_user_with_extensions(conn, caller.tenant_id, row.id, body)
        return no_content()

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
        Route("/v1.0/users/{id}", graph_endpoint(emu, get_user, *READ_ROLES), methods=["GET"]),
        Route("/v1.0/users/{id}", graph_endpoint(emu, patch_user, *WRITE_ROLES), methods=["PATCH"]),
        Route("/v1.0/users/{id}/manager", graph_endpoint(emu, get_manager, *READ_ROLES)),
    ]
