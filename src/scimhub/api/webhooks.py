"""The webhooks API: an organisation's endpoints under `/api/v1/orgs/{orgId}/webhooks`
(docs/webhooks.md), for an admin token, in the `/api/v1` envelope (`v1.py`).

    GET    /webhooks                      the endpoints (never a secret)
    POST   /webhooks                      {"url", "eventTypes"?} -> 201, the secret once
    GET    /webhooks/{id}                 one endpoint
    PATCH  /webhooks/{id}                 {"url"?, "eventTypes"?, "enabled"?}
    DELETE /webhooks/{id}                 204
    POST   /webhooks/{id}/rotate-secret   a new secret, once; the old one signs 24 h more
    POST   /webhooks/{id}/test            a signed webhook.test message, now
    POST   /webhooks/{id}/replay          {"since": ISO time or 30m/6h/3d}
    POST   /webhooks/{id}/retry           the waiting event is attempted at once
    GET    /webhooks/{id}/deliveries      attempts, newest first (?limit=&before=)

Handlers run in a thread: adding or changing an endpoint resolves its host name, and a
test message waits for the receiver (up to 10 s), neither of which may hold the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..config import ConfigError
from ..delivery.endpoints import InvalidWebhook, parse_since
from ..directory.webhooks import EndpointNotFound
from ..store.engine import event_time
from .declared import Body, Flag, Integer, Query, Strings, Text
from .operations import BOOLEAN, OBJECT, STRING, Described, Family, Op, listing, obj
from .responses import JsonResponse
from .v1 import V1_PREFIX, ApiError, BadRequest, NotFound, V1Context, read_json, v1_endpoint

T = TypeVar("T")
BASE = f"{V1_PREFIX}/webhooks"
MAX_DELIVERIES = 200


class NotConfigured(ApiError):
    """The hub cannot keep secrets: the operator has to set SCIMHUB_SECRET_KEY."""

    status: ClassVar[int] = 503
    code: ClassVar[str] = "702050"


async def _call(work: Callable[[], T]) -> T:
    """`work()` in a thread, the service's refusals as API errors."""

    def guarded() -> T:
        try:
            return work()
        except InvalidWebhook as exc:
            raise BadRequest(str(exc)) from None
        except EndpointNotFound as exc:
            raise NotFound(f"webhook endpoint {str(exc)[:64]} not found") from None
        except ConfigError as exc:
            raise NotConfigured(str(exc)) from None

    return await run_in_threadpool(guarded)


URL = Text("url", most=2048, doc="the receiver's https:// URL")
TYPES = Strings("eventTypes", doc="the event types sent ([] or absent: every type)")
CREATE = Body(URL, TYPES)
CHANGE = Body(
    Text("url", most=2048, optional=True, doc="the receiver's https:// URL"),
    TYPES,
    Flag("enabled", optional=True),
)
REPLAY = Body(Text("since", most=64, doc="an ISO 8601 time, or a span such as 30m, 6h, 3d"))
DELIVERIES = Query(
    Integer("limit", 1, MAX_DELIVERIES, 50),
    Integer("before", 1, 2**62, doc="only attempts before this id (the next page)"),
)


def _endpoint_id(request: Request) -> str:
    return str(request.path_params["endpoint_id"])[:64]


@v1_endpoint
async def collection(request: Request, ctx: V1Context) -> Response:
    service = ctx.hub.webhooks
    if request.method == "GET":
        found = await _call(lambda: service.endpoints(ctx.org_id))
        return JsonResponse({"data": [e.as_json() for e in found]})
    body = CREATE.read(await read_json(request))
    url, types = body["url"], body["eventTypes"] or []
    created = await _call(lambda: service.add(ctx.org_id, url, types, actor=ctx.actor))
    return JsonResponse({**created.endpoint.as_json(), "secret": created.secret}, status_code=201)


@v1_endpoint
async def one(request: Request, ctx: V1Context) -> Response:
    service, endpoint_id = ctx.hub.webhooks, _endpoint_id(request)
    if request.method == "GET":
        found = await _call(lambda: service.get(ctx.org_id, endpoint_id))
        return JsonResponse(found.as_json())
    if request.method == "DELETE":
        await _call(lambda: service.remove(ctx.org_id, endpoint_id, actor=ctx.actor))
        return Response(status_code=204)
    body = CHANGE.read(await read_json(request))
    url, types, enabled = body["url"], body["eventTypes"], body["enabled"]
    changed = await _call(
        lambda: service.update(
            ctx.org_id, endpoint_id, actor=ctx.actor, url=url, types=types, enabled=enabled
        )
    )
    return JsonResponse(changed.as_json())


@v1_endpoint
async def rotate_secret(request: Request, ctx: V1Context) -> Response:
    service, endpoint_id = ctx.hub.webhooks, _endpoint_id(request)
    rotated = await _call(lambda: service.rotate_secret(ctx.org_id, endpoint_id, actor=ctx.actor))
    return JsonResponse({**rotated.endpoint.as_json(), "secret": rotated.secret})


@v1_endpoint
async def test(request: Request, ctx: V1Context) -> Response:
    service, endpoint_id = ctx.hub.webhooks, _endpoint_id(request)
    sent = await _call(lambda: service.test(ctx.org_id, endpoint_id, actor=ctx.actor))
    ok = sent.status_code is not None and 200 <= sent.status_code < 300
    return JsonResponse({**sent.as_json(), "ok": ok})


@v1_endpoint
async def replay(request: Request, ctx: V1Context) -> Response:
    service, endpoint_id = ctx.hub.webhooks, _endpoint_id(request)
    since = REPLAY.read(await read_json(request))["since"]
    start = await _call(lambda: parse_since(since, event_time()))
    moved = await _call(lambda: service.replay(ctx.org_id, endpoint_id, start, actor=ctx.actor))
    return JsonResponse(moved.as_json())


@v1_endpoint
async def retry(request: Request, ctx: V1Context) -> Response:
    service, endpoint_id = ctx.hub.webhooks, _endpoint_id(request)
    due = await _call(lambda: service.retry_now(ctx.org_id, endpoint_id))
    return JsonResponse(due.as_json())


@v1_endpoint
async def deliveries(request: Request, ctx: V1Context) -> Response:
    service, endpoint_id = ctx.hub.webhooks, _endpoint_id(request)
    q = DELIVERIES.read(request.query_params)
    found = await _call(
        lambda: service.deliveries(ctx.org_id, endpoint_id, limit=q["limit"], before=q["before"])
    )
    return JsonResponse({"data": [d.as_json() for d in found]})


_ONE = f"{BASE}/{{endpoint_id}}"
ENDPOINT = obj("id", "url", id=STRING, url=STRING, eventTypes={"type": "array"}, enabled=BOOLEAN)
WITH_SECRET = obj("id", "secret", **ENDPOINT["properties"], secret=STRING)
_ORG, _TAG, _MAY_FAIL = Family.ORG, "Webhooks", (503,)  # 503: no SCIMHUB_SECRET_KEY
routes = [
    Described(
        BASE,
        collection,
        family=_ORG,
        tag=_TAG,
        GET=Op("List the webhook endpoints (never a secret)", listing(ENDPOINT)),
        POST=Op(
            "Add an endpoint (its signing secret is shown once)",
            WITH_SECRET,
            ok=201,
            body=CREATE,
            errors=_MAY_FAIL,
        ),
    ),
    Described(
        _ONE,
        one,
        family=_ORG,
        tag=_TAG,
        GET=Op("Get an endpoint", ENDPOINT),
        PATCH=Op("Change an endpoint", ENDPOINT, body=CHANGE, errors=_MAY_FAIL),
        DELETE=Op("Remove an endpoint", None, ok=204),
    ),
    Described(
        f"{_ONE}/rotate-secret",
        rotate_secret,
        family=_ORG,
        tag=_TAG,
        POST=Op(
            "A new signing secret, once; the old one signs 24 h more", WITH_SECRET, errors=_MAY_FAIL
        ),
    ),
    Described(
        f"{_ONE}/test",
        test,
        family=_ORG,
        tag=_TAG,
        POST=Op("Send a signed webhook.test message now", obj("ok", ok=BOOLEAN), errors=_MAY_FAIL),
    ),
    Described(
        f"{_ONE}/replay",
        replay,
        family=_ORG,
        tag=_TAG,
        POST=Op("Deliver again the events since a time", OBJECT, body=REPLAY),
    ),
    Described(
        f"{_ONE}/retry",
        retry,
        family=_ORG,
        tag=_TAG,
        POST=Op("Attempt the waiting event at once", OBJECT),
    ),
    Described(
        f"{_ONE}/deliveries",
        deliveries,
        family=_ORG,
        tag=_TAG,
        GET=Op("Delivery attempts, newest first", listing(OBJECT), query=DELIVERIES),
    ),
]
