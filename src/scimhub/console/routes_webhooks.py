"""Webhooks: the organisation's endpoints, their delivery state and recent deliveries
(status code, latency, outcome), and the admin's buttons — add, test, retry now, replay,
enable/disable, rotate the secret, remove. Forms post with the session's CSRF token; a
secret is shown once, on the page that answers the add or rotate form (never in a URL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..api.body_limit import read_form
from ..api.tracking import tracking_id
from ..config import ConfigError
from ..delivery.endpoints import EVENT_TYPES, InvalidWebhook, parse_since
from ..directory.actor import Actor
from ..directory.webhooks import EndpointNotFound, EndpointState, Outcome
from ..store.engine import event_time
from .auth import ConsoleContext, console_page
from .render import page

T = TypeVar("T")
RECENT = 10
PATH = "/console/webhooks"
ACTIONS = ("test", "retry", "replay", "enable", "disable", "rotate", "remove")


def _page(
    request: Request,
    ctx: ConsoleContext,
    *,
    secret: str = "",
    secret_for: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    service = ctx.hub.webhooks
    endpoints = service.endpoints(ctx.org_id)
    return page(
        request,
        "webhooks.html",
        ctx.page_context(
            "webhooks",
            endpoints=endpoints,
            deliveries={
                e.id: service.deliveries(ctx.org_id, e.id, limit=RECENT) for e in endpoints
            },
            undelivered={e.id: service.webhooks.undelivered(ctx.org_id, e.id) for e in endpoints},
            event_types=sorted(EVENT_TYPES),
            states=EndpointState,
            outcomes=Outcome,
            secret=secret,
            secret_for=secret_for,
            notice=request.query_params.get("notice", "")[:300],
            error=error or request.query_params.get("error", "")[:300],
        ),
        status=status,
    )


@console_page()
async def webhooks(request: Request, ctx: ConsoleContext) -> Response:
    return await run_in_threadpool(lambda: _page(request, ctx))


def _actor(request: Request, ctx: ConsoleContext) -> Actor:
    return Actor(ctx.principal.name, tracking_id(request.scope))


async def _attempt(work: Callable[[], T]) -> tuple[T | None, str]:
    """`work()` in a thread (URL checks resolve names, a test waits on the receiver); the
    service's refusal as a message for the page."""
    try:
        return await run_in_threadpool(work), ""
    except (InvalidWebhook, ConfigError) as exc:
        return None, str(exc)
    except EndpointNotFound:
        return None, "That webhook endpoint no longer exists."


@console_page(changes=True)
async def add(request: Request, ctx: ConsoleContext) -> Response:
    form = await read_form(request)
    url = str(form.get("url", ""))
    types = [str(t) for t in form.getlist("event_types")]
    service, actor = ctx.hub.webhooks, _actor(request, ctx)
    created, error = await _attempt(lambda: service.add(ctx.org_id, url, types, actor=actor))
    if created is None:
        return await run_in_threadpool(lambda: _page(request, ctx, error=error, status=400))
    return await run_in_threadpool(
        lambda: _page(request, ctx, secret=created.secret, secret_for=created.endpoint.url)
    )


@console_page(changes=True)
async def act(request: Request, ctx: ConsoleContext) -> Response:
    """One of the buttons of an endpoint's row."""
    action, endpoint_id = request.path_params["action"], request.path_params["endpoint_id"]
    if action not in ACTIONS:
        return RedirectResponse(PATH, 303)
    form = await read_form(request)
    service, actor, org = ctx.hub.webhooks, _actor(request, ctx), ctx.org_id
    if action == "rotate":
        rotated, error = await _attempt(
            lambda: service.rotate_secret(org, endpoint_id, actor=actor)
        )
        if rotated is None:
            return _back(endpoint_id, error=error)
        return await run_in_threadpool(
            lambda: _page(request, ctx, secret=rotated.secret, secret_for=rotated.endpoint.url)
        )
    since = str(form.get("since", "")).strip() or "24h"
    work: dict[str, Callable[[], Any]] = {
        "test": lambda: service.test(org, endpoint_id, actor=actor),
        "retry": lambda: service.retry_now(org, endpoint_id),
        "replay": lambda: service.replay(
            org, endpoint_id, parse_since(since, event_time()), actor=actor
        ),
        "enable": lambda: service.set_enabled(org, endpoint_id, True, actor=actor),
        "disable": lambda: service.set_enabled(org, endpoint_id, False, actor=actor),
        "remove": lambda: service.remove(org, endpoint_id, actor=actor),
    }
    done, error = await _attempt(work[action])
    if error:
        return _back(endpoint_id, error=error)
    return _back(endpoint_id, notice=_notice(action, done, since))


def _notice(action: str, done: Any, since: str) -> str:
    if action == "test":
        if done.status_code is not None and 200 <= done.status_code < 300:
            return f"Test message delivered: {done.status_code} in {done.latency_ms} ms."
        return f"Test message failed: {done.error}."
    return {
        "retry": "The waiting event will be attempted at once.",
        "replay": f"Events since {since} will be delivered again, in order.",
        "enable": "Endpoint enabled: delivery resumes where it stopped.",
        "disable": "Endpoint disabled: its events wait.",
        "remove": "Endpoint removed.",
    }[action]


def _back(endpoint_id: str, *, notice: str = "", error: str = "") -> Response:
    query = urlencode({k: v for k, v in (("notice", notice), ("error", error)) if v})
    return RedirectResponse(f"{PATH}?{query}#endpoint-{endpoint_id}", 303)


routes = [
    Route("/webhooks", webhooks, methods=["GET"]),
    Route("/webhooks", add, methods=["POST"]),
    Route("/webhooks/{endpoint_id}/{action}", act, methods=["POST"]),
]
