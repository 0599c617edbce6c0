"""The events API: `GET /api/v1/orgs/{orgId}/events?after=&limit=&types=`, an
organisation's change events oldest first, from a cursor (docs/events.md).

`{"data": [event, ...], "next_cursor": "..."}`: each event as `Event.as_json()` gives it;
`next_cursor` is where the next read continues (it stays put at the end of the stream, so
reading from a cursor again returns the same events in the same order). A cursor older
than retention is 410, never a silent skip past the events it lost.

Every page is read and rendered in the offload pool: one event may carry a whole resource,
so what a page costs is not known from `limit` (500 of them are not small).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..directory.events import BadCursor, EventType
from ..directory.events import CursorExpired as EventsPruned
from .declared import Integer, Names, Query, Word
from .operations import OBJECT, STRING, Described, Family, Op, obj
from .responses import JsonResponse
from .v1 import V1_PREFIX, CursorExpired, InvalidCursor, V1Context, v1_endpoint

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# Strict: a misspelt parameter would otherwise widen the read without a word (`type=` for
# `types=` returns every event).
QUERY = Query(
    Word(
        "after",
        least=0,
        most=4096,
        doc="the next_cursor of an earlier page; none: from the oldest kept",
    ),
    Integer("limit", 1, MAX_LIMIT, DEFAULT_LIMIT),
    Names("types", tuple(EventType), doc="only events of these types"),
    once=True,
)


@v1_endpoint
async def list_events(request: Request, ctx: V1Context) -> Response:
    query = QUERY.read(request.query_params)
    after = query["after"]
    days = ctx.hub.settings.event_retention_days

    def read() -> Response:
        try:
            page = ctx.hub.events.page(
                ctx.org_id, after=after, limit=query["limit"], types=query["types"]
            )
        except BadCursor:
            raise InvalidCursor(
                f"after={(after or '')[:40]!r} is not a cursor of this organisation's "
                "events; pass the next_cursor of an earlier page, or no cursor to start "
                "from the oldest event kept"
            ) from None
        except EventsPruned:
            raise CursorExpired(
                "events before this cursor were removed after SCIMHUB_EVENT_RETENTION_DAYS "
                f"({days}) days; start again from the oldest with no cursor, and reconcile "
                "over SCIM"
            ) from None
        return JsonResponse(
            {"data": [e.as_json() for e in page.events], "next_cursor": page.next_cursor}
        )

    return await ctx.off_loop(read)


EVENT = obj(
    "id",
    "type",
    "occurred_at",
    "data",
    "cursor",
    id=STRING,
    type={"type": "string", "enum": list(EventType)},
    occurred_at=STRING,
    org_id=STRING,
    data=OBJECT,
    source=OBJECT,
    cursor=STRING,
)
routes = [
    Described(
        f"{V1_PREFIX}/events",
        list_events,
        family=Family.ORG,
        tag="Events",
        GET=Op(
            "An organisation's change events, oldest first, from a cursor",
            obj(
                "data",
                "next_cursor",
                data={"type": "array", "items": EVENT},
                next_cursor=STRING,
            ),
            query=QUERY,
            errors=(410,),
        ),
    )
]
