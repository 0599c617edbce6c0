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
from typing import Any, ClassVar, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..config import ConfigError
from ..delivery.endpoints import InvalidWebhook, parse_since
from ..directory.webhooks import EndpointNotFound
from ..store.engine import event_time
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


def _object(body: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = sorted(k for k in body if k not in allowed)
    if unknown:
        raise BadRequest(f"unknown member {', '.join(map(repr, unknown))}; allowed: {allowed}")
    return body


def _types(body: dict[str, Any]) -> list[str] | None:
    value = body.get("eventTypes")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise BadRequest("eventTypes must be a list of event type names ([] for every type)")
    return value


def _url(body: dict[str, Any], *, required: bool) -> str | None:
    value = body.get("url")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("url must be the receiver's https:// URL")
    return value


def _endpoint_id(request: Request) -> str:
    return str(request.path_params["endpoint_id"])[:64]


@v1_endpoint
async def collection(request: Request, ctx: V1Context) -> Response:
    service = ctx.hub.webhooks
    if request.method == "GET":
        found = await _call(lambda: service.endpoints(ctx.org_id))
        return JsonResponse({"data": [e.as_json() for e in found]})
    body = _object(await read_json(request), ("url", "eventTypes"))
    url, types = _url(body, required=True) or "", _types(body) or []
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
    body = _object(await read_json(request), ("url", "eventTypes", "enabled"))
    enabled = body.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise BadRequest("enabled must be true or false")
    url, types = _url(body, required=False), _types(body)
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
    body = _object(await read_json(request), ("since",))
    since = body.get("since")
    if not isinstance(since, str):
        raise BadRequest("since must be an ISO 8601 time or a span such as 30m, 6h, 3d")
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
    limit = _number(request.query_params.get("limit"), "limit", 50, MAX_DELIVERIES)
    before = _number(request.query_params.get("before"), "before", None, 2**62)
    found = await _call(
        lambda: service.deliveries(ctx.org_id, endpoint_id, limit=limit or 50, before=before)
    )
    return JsonResponse({"data": [d.as_json() for d in found]})


def _number(raw: str | None, name: str, default: int | None, most: int) -> int | None:
    if raw is None:
        return default
    if raw.isascii() and raw.isdigit() and len(raw) <= 19 and 1 <= int(raw) <= most:
        return int(raw)
    raise BadRequest(f"{name} must be an integer from 1 to {most}, got {raw[:64]!r}")


_ONE = f"{BASE}/{{endpoint_id}}"
routes = [
    Route(BASE, collection, methods=["GET", "POST"]),
    Route(_ONE, one, methods=["GET", "PATCH", "DELETE"]),
    Route(f"{_ONE}/rotate-secret", rotate_secret, methods=["POST"]),
    Route(f"{_ONE}/test", test, methods=["POST"]),
    Route(f"{_ONE}/replay", replay, methods=["POST"]),
    Route(f"{_ONE}/retry", retry, methods=["POST"]),
    Route(f"{_ONE}/deliveries", deliveries, methods=["GET"]),
]
