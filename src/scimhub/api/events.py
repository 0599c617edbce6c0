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

from dataclasses import dataclass

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..directory.events import BadCursor, EventType
from ..directory.events import CursorExpired as EventsPruned
from .responses import JsonResponse
from .v1 import V1_PREFIX, BadRequest, CursorExpired, InvalidCursor, V1Context, v1_endpoint

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
PARAMETERS = ("after", "limit", "types")
TYPES = frozenset(EventType)
_NAMED_AT_MOST = 10  # unknown names quoted in a 400 (each cut to 64 characters)


@dataclass(frozen=True, slots=True)
class EventsQuery:
    after: str | None
    limit: int
    types: frozenset[str] | None

    @classmethod
    def parse(cls, params: QueryParams) -> EventsQuery:
        """The query string, strictly: a misspelt parameter would otherwise widen the read
        without a word (`type=` for `types=` returns every event). Raises BadRequest."""
        unknown = sorted({k for k in params if k not in PARAMETERS})
        if unknown:
            raise BadRequest(
                f"unknown parameter {_named(unknown)}; this endpoint takes {', '.join(PARAMETERS)}"
            )
        repeated = [k for k in PARAMETERS if len(params.getlist(k)) > 1]
        if repeated:
            raise BadRequest(f"give {_named(repeated)} at most once")
        return cls(params.get("after"), _limit(params.get("limit")), _types(params.get("types")))


def _named(names: list[str]) -> str:
    shown = ", ".join(repr(n[:64]) for n in names[:_NAMED_AT_MOST])
    more = len(names) - _NAMED_AT_MOST
    return shown + (f" and {more} more" if more > 0 else "")


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    # str.isdigit accepts "²", which int() refuses; "007" is 7.
    if raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= MAX_LIMIT:
        return int(raw)
    raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}, got {raw[:64]!r}")


def _types(raw: str | None) -> frozenset[str] | None:
    """A comma-separated list of event types (blanks around names allowed); None: all."""
    if raw is None:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if not names:
        raise BadRequest("types must name at least one event type, comma-separated")
    unknown = sorted({n for n in names if n not in TYPES})
    if unknown:
        raise BadRequest(
            f"unknown event type {_named(unknown)}; the types are {', '.join(EventType)}"
        )
    return frozenset(names)


@v1_endpoint
async def list_events(request: Request, ctx: V1Context) -> Response:
    query = EventsQuery.parse(request.query_params)
    days = ctx.hub.settings.event_retention_days

    def read() -> Response:
        try:
            page = ctx.hub.events.page(
                ctx.org_id, after=query.after, limit=query.limit, types=query.types
            )
        except BadCursor:
            raise InvalidCursor(
                f"after={(query.after or '')[:40]!r} is not a cursor of this organisation's "
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


routes = [Route(f"{V1_PREFIX}/events", list_events, methods=["GET"])]
