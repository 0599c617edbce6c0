"""/v1.0/users/delta and /v1.0/groups/delta. A round is the set of objects whose change
version lies in (from, to]; the first round (no token) lists every live object. Pages
are keyset-paged on id inside a round; the last page's deltaLink starts the next round
at `to`. Soft-deleted objects come back with @removed reason "changed", hard-deleted
ones with reason "deleted", as Graph reports them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Row, Table, select
from starlette.requests import Request
from starlette.routing import Route

from .. import extensions
from ..context import Emulator
from ..db import current_version
from ..schema import groups, membership_changes, memberships, users
from . import odata
from .endpoint import Caller, graph_endpoint
from .errors import bad_request
from .groups import KNOWN as GROUP_FIELDS
from .groups import READ_ROLES as GROUP_ROLES
from .groups import group_to_graph
from .users import READ_ROLES as USER_ROLES
from .users import parse_select as parse_user_select
from .users import render as render_user
from .users import wants_extensions


def _removed(row: Row[Any]) -> dict[str, Any] | None:
    if row.purged:
        return {"id": row.id, "@removed": {"reason": "deleted"}}
    if row.deleted_at is not None:
        return {"id": row.id, "@removed": {"reason": "changed"}}
    return None


def _members(conn: Connection, group_id: str, state: dict[str, Any]) -> list[dict[str, Any]]:
    """members@delta: every member in the first round; afterwards, as Graph does, only the
    members added or removed (`@removed`) within the round's versions."""
    if state["from"] is None:
        rows = conn.execute(select(memberships).where(memberships.c.group_id == group_id))
        return [
            {"@odata.type": f"#microsoft.graph.{r.member_type}", "id": r.member_id} for r in rows
        ]
    c = membership_changes.c
    latest: dict[str, Any] = {}  # the last change of each member within the round wins
    for r in conn.execute(
        select(membership_changes)
        .where(c.group_id == group_id, c.version > int(state["from"]), c.version <= state["to"])
        .order_by(c.version)
    ):
        latest[r.member_id] = r
    out = []
    for r in latest.values():
        entry: dict[str, Any] = {
            "@odata.type": f"#microsoft.graph.{r.member_type}",
            "id": r.member_id,
        }
        if r.removed:
            entry["@removed"] = {"reason": "deleted"}
        out.append(entry)
    return out


Select = Callable[[Request, Connection, str], list[str] | None]
Render = Callable[[Connection, list[Row[Any]], list[str] | None, dict[str, Any]], list[Any]]


def _delta(
    emu: Emulator, table: Table, parse: Select, render: Render, name: str
) -> Callable[[Request, Caller], Any]:
    """`render`: a page of live rows as Graph objects, in order (one call per page, so
    what it reads besides the rows is read once for the page)."""

    async def handler(request: Request, caller: Caller) -> dict[str, Any]:
        top = odata.parse_top(request, default=200)
        q = request.query_params
        with emu.engine.connect() as conn:
            fields = parse(request, conn, caller.tenant_id)
            if "$skiptoken" in q:
                state = odata.decode_token(q["$skiptoken"], "$skiptoken")
            elif "$deltatoken" in q:
                start = odata.decode_token(q["$deltatoken"], "$deltatoken")
                if not isinstance(start.get("v"), int):
                    raise bad_request("Invalid $deltatoken value.", "Request_BadRequest")
                state = {
                    "from": start.get("v"),
                    "to": current_version(conn, caller.tenant_id),
                    "after": "",
                }
            else:
                state = {"from": None, "to": current_version(conn, caller.tenant_id), "after": ""}
            if not isinstance(state.get("to"), int) or not isinstance(state.get("after"), str):
                raise bad_request("Invalid delta token.", "Request_BadRequest")
            stmt = select(table).where(
                table.c.tenant_id == caller.tenant_id, table.c.id > state["after"]
            )
            if state["from"] is None:  # first round: every live object
                stmt = stmt.where(table.c.deleted_at.is_(None), table.c.purged.is_(False))
            else:
                stmt = stmt.where(
                    table.c.version > int(state["from"]), table.c.version <= state["to"]
                )
            rows = conn.execute(stmt.order_by(table.c.id).limit(top + 1)).all()
            live = [r for r in rows[:top] if _removed(r) is None]
            rendered = iter(render(conn, live, fields, state))
            value = [_removed(r) or next(rendered) for r in rows[:top]]
        body: dict[str, Any] = {
            "@odata.context": f"{emu.base_url}/v1.0/$metadata#{name}",
            "value": value,
        }
        if len(rows) > top:
            body["@odata.nextLink"] = odata.link(
                request, **{"$skiptoken": odata.encode_token({**state, "after": rows[top - 1].id})}
            )
        else:
            body["@odata.deltaLink"] = odata.link(
                request, **{"$deltatoken": odata.encode_token({"v": state["to"]})}
            )
        return body

    return handler


def routes(emu: Emulator) -> list[Route]:
    def render_users(
        conn: Connection, rows: list[Row[Any]], fields: list[str] | None, _: dict[str, Any]
    ) -> list[Any]:
        values = (
            extensions.user_values(conn, [r.id for r in rows]) if wants_extensions(fields) else {}
        )
        return [render_user(r, fields, values.get(r.id)) for r in rows]

    def parse_group_select(request: Request, _conn: Connection, _tenant: str) -> list[str] | None:
        return odata.parse_select(request, GROUP_FIELDS)

    def render_groups(
        conn: Connection, rows: list[Row[Any]], fields: list[str] | None, state: dict[str, Any]
    ) -> list[Any]:
        out = []
        for row in rows:
            doc = odata.project(
                group_to_graph(row), [f for f in fields or [] if f != "members"] or None
            )
            if fields is None or "members" in fields:
                doc["members@delta"] = _members(conn, row.id, state)
            out.append(doc)
        return out

    users_delta = _delta(emu, users, parse_user_select, render_users, "users")
    groups_delta = _delta(emu, groups, parse_group_select, render_groups, "groups")
    return [
        Route("/v1.0/users/delta", graph_endpoint(emu, users_delta, *USER_ROLES)),
        Route("/v1.0/users/delta()", graph_endpoint(emu, users_delta, *USER_ROLES)),
        Route("/v1.0/groups/delta", graph_endpoint(emu, groups_delta, *GROUP_ROLES)),
        Route("/v1.0/groups/delta()", graph_endpoint(emu, groups_delta, *GROUP_ROLES)),
    ]
