"""The hub's own audit trail in the operator API: what was done to organisations rather than
in one (created, renamed, exported, deleted; operator tokens; sign-ins naming no account),
kept after the organisation is gone. For an operator token, in the `/api/v1` envelope.

    GET /api/v1/audit?action=&limit=&offset=   {"data": [entry, ...], "total"}, newest first
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..directory.audit import AuditEvent
from .operator_auth import OperatorContext, operator_endpoint
from .responses import JsonResponse
from .v1 import PREFIX, BadRequest
from .v1_input import Paging


def entry_json(e: AuditEvent) -> dict[str, object]:
    return {
        "id": e.id,
        "time": e.time.isoformat().replace("+00:00", "Z"),
        "actor": e.actor,
        "action": e.action,
        "target": e.target,
        "detail": e.detail,
        "trackingId": e.tracking_id,
    }


@operator_endpoint
async def trail(request: Request, ctx: OperatorContext) -> Response:
    paging = Paging.parse(request, extra=("action",))
    action = request.query_params.get("action")
    if action is not None and not 0 < len(action) <= 128:
        raise BadRequest("action must be an audit action's name, such as org.deleted")
    found, total = await ctx.off_loop(
        lambda: ctx.hub.audit.platform_events(
            action=action, limit=paging.limit, offset=paging.offset
        )
    )
    return JsonResponse({"data": [entry_json(e) for e in found], "total": total})


routes = [Route(f"{PREFIX}/audit", trail, methods=["GET"])]
