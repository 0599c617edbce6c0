"""/v1.0/groups: list, get, direct members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from starlette.requests import Request
from starlette.routing import Route

from ..context import Emulator
from ..directory import find_group
from ..schema import groups, memberships, users
from . import odata
from .endpoint import Caller, graph_endpoint
from .errors import not_found
from .users import user_to_graph

READ_ROLES = ("Group.Read.All", "GroupMember.Read.All", "Group.ReadWrite.All", "Directory.Read.All")
FILTER_COLUMNS: odata.Columns = {
    "id": groups.c.id,
    "displayName": groups.c.display_name,
    "description": groups.c.description,
    "mailNickname": groups.c.mail_nickname,
    "mail": groups.c.mail,
    "mailEnabled": groups.c.mail_enabled,
    "securityEnabled": groups.c.security_enabled,
    "createdDateTime": groups.c.created_at,
}


def group_to_graph(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "displayName": row.display_name,
        "description": row.description,
        "mailNickname": row.mail_nickname,
        "mail": row.mail,
        "mailEnabled": row.mail_enabled,
        "securityEnabled": row.security_enabled,
        "groupTypes": [],
        "createdDateTime": row.created_at,
        "deletedDateTime": row.deleted_at,
    }


KNOWN = set(FILTER_COLUMNS) | {"groupTypes", "deletedDateTime", "members"}


def member_to_graph(row: Row[*tuple[Any, ...]]) -> dict[str, Any]:
    if row.member_type == "user":
        return {"@odata.type": "#microsoft.graph.user", **user_to_graph(row)}
    return {"@odata.type": "#microsoft.graph.group", "id": row.id, "displayName": row.display_name}


def members_query(group_id: str) -> Any:
    """Direct user members; nested groups are listed separately, never expanded."""
    return (
        select(users, memberships.c.member_type)
        .join(memberships, memberships.c.member_id == users.c.id)
        .where(memberships.c.group_id == group_id, users.c.deleted_at.is_(None))
    )


def routes(emu: Emulator) -> list[Route]:
    base = emu.base_url

    async def list_groups(request: Request, caller: Caller) -> dict[str, Any]:
        fields = odata.parse_select(request, KNOWN)
        stmt = select(groups).where(
            groups.c.tenant_id == caller.tenant_id,
            groups.c.deleted_at.is_(None),
            groups.c.purged.is_(False),
        )
        if flt := request.query_params.get("$filter"):
            stmt = stmt.where(odata.parse_filter(flt, FILTER_COLUMNS))
        with emu.engine.connect() as conn:
            return odata.page(
                conn,
                request,
                stmt,
                [groups.c.id],
                lambda r: odata.project(group_to_graph(r), fields),
                f"{base}/v1.0/$metadata#groups",
                odata.parse_top(request),
            )

    def live_group(conn: Any, caller: Caller, ref: str) -> Row[Any]:
        row = find_group(conn, caller.tenant_id, ref)
        if row is None or row.deleted_at is not None or row.id != ref:
            raise not_found(ref)
        return row

    async def get_group(request: Request, caller: Caller) -> dict[str, Any]:
        with emu.engine.connect() as conn:
            row = live_group(conn, caller, request.path_params["id"])
        fields = odata.parse_select(request, KNOWN)
        return {
            "@odata.context": f"{base}/v1.0/$metadata#groups/$entity",
            **odata.project(group_to_graph(row), fields),
        }

    async def list_members(request: Request, caller: Caller) -> dict[str, Any]:
        with emu.engine.connect() as conn:
            group = live_group(conn, caller, request.path_params["id"])
            nested = (
                select(groups.c.id, groups.c.display_name, memberships.c.member_type)
                .join(memberships, memberships.c.member_id == groups.c.id)
                .where(memberships.c.group_id == group.id, groups.c.deleted_at.is_(None))
            )
            body = odata.page(
                conn,
                request,
                members_query(group.id),
                [users.c.id],
                member_to_graph,
                f"{base}/v1.0/$metadata#directoryObjects",
                odata.parse_top(request),
            )
            if "@odata.nextLink" not in body:  # nested groups come after the user pages
                body["value"] += [member_to_graph(r) for r in conn.execute(nested)]
        return body

    return [
        Route("/v1.0/groups", graph_endpoint(emu, list_groups, *READ_ROLES)),
        Route("/v1.0/groups/{id}", graph_endpoint(emu, get_group, *READ_ROLES)),
        Route("/v1.0/groups/{id}/members", graph_endpoint(emu, list_members, *READ_ROLES)),
    ]
