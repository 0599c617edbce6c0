"""The hub's own audit trail in the operator API: what was done to organisations rather than
in one (created, renamed, exported, deleted; operator tokens; sign-ins naming no account),
kept after the organisation is gone. For an operator token, in the `/api/v1` envelope.

    GET /api/v1/audit?action=&limit=&offset=   {"data": [entry, ...], "total"}, newest first
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..directory.audit import AuditEvent
from .declared import Query, Word
from .operations import (
    INTEGER,
    NULLABLE_STRING,
    OBJECT,
    STRING,
    Described,
    Family,
    Op,
    listing,
    obj,
)
from .operator_auth import OperatorContext, operator_endpoint
from .responses import JsonResponse
from .v1 import PREFIX
from .v1_input import LIMIT, OFFSET

QUERY = Query(LIMIT, OFFSET, Word("action", most=128, doc="only this action, e.g. org.deleted"))


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
    q = QUERY.read(request.query_params)
    found, total = await ctx.off_loop(
        lambda: ctx.hub.audit.platform_events(
            action=q["action"], limit=q["limit"], offset=q["offset"]
        )
    )
    return JsonResponse({"data": [entry_json(e) for e in found], "total": total})


ENTRY = obj(
    "id",
    "time",
    "actor",
    "action",
    id=INTEGER,
    time=STRING,
    actor=STRING,
    action=STRING,
    target=NULLABLE_STRING,
    detail=OBJECT,
    trackingId=NULLABLE_STRING,
)
routes = [
    Described(
        f"{PREFIX}/audit",
        trail,
        family=Family.OPERATOR,
        tag="Operator: audit",
        GET=Op("The hub's own audit trail, newest first", listing(ENTRY, "total"), query=QUERY),
    )
]
