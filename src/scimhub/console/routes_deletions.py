"""Deletions held: the removals pull sync held past an instance's deletion threshold, which
a full admin approves (applied then) or discards (the hub keeps the users and groups); and
the bursts of removals Entra's push job made, which a full admin restores or dismisses."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..api.body_limit import read_form
from ..api.tracking import tracking_id
from ..directory.actor import Actor
from ..directory.deletion_brake import RoundRunning
from ..directory.instances import Instance
from ..directory.removal_bursts import BurstDecided
from ..scim.errors import NotFound
from .auth import ConsoleContext, console_page, error_page
from .paging import PAGE_SIZE, Pager
from .render import page


def _instance(ctx: ConsoleContext, instance_id: str) -> Instance | None:
    """The instance, if it is this organisation's: an id from the query proves nothing."""
    return ctx.hub.instances.get(ctx.org_id, instance_id[:64]) if instance_id else None


@console_page()
async def held(request: Request, ctx: ConsoleContext) -> Response:
    instance = _instance(ctx, request.query_params.get("instance", ""))
    if instance is None:
        return error_page(request, 404, "Instance not found", "There is no such instance.", ctx)

    def render() -> Response:
        found, total = ctx.hub.brake.held(
            ctx.org_id, instance.id, limit=PAGE_SIZE, offset=Pager.offset_for(request)
        )
        return page(
            request,
            "deletions.html",
            ctx.page_context(
                "settings",
                instance=instance,
                removals=found,
                total=total,
                threshold=ctx.hub.brake.threshold(instance),
                pager=Pager.of(request, total),
                notice=request.query_params.get("notice", "")[:300],
                error=request.query_params.get("error", "")[:300],
            ),
        )

    return await run_in_threadpool(render)


@console_page(changes=True)
async def decide(request: Request, ctx: ConsoleContext) -> Response:
    form = await read_form(request)
    instance = _instance(ctx, str(form.get("instance_id", "")))
    if instance is None:
        return error_page(request, 404, "Instance not found", "There is no such instance.", ctx)
    approve = request.path_params["decision"] == "approve"
    actor = Actor(ctx.principal.name, tracking_id(request.scope))
    brake = ctx.hub.brake
    back = f"/console/deletions?instance={instance.id}"
    try:
        if approve:
            done = await run_in_threadpool(
                lambda: brake.approve(ctx.org_id, instance.id, ctx.loc, actor=actor)
            )
        else:
            done = await run_in_threadpool(
                lambda: brake.discard(ctx.org_id, instance.id, actor=actor)
            )
    except RoundRunning as exc:
        return RedirectResponse(f"{back}&{urlencode({'error': exc.detail})}", 303)
    notice = f"{done} removal(s) applied." if approve else f"{done} removal(s) discarded: kept."
    return RedirectResponse(f"{back}&{urlencode({'notice': notice})}", 303)


# -- bursts of removals pushed by Entra ----------------------------------------------------


@console_page()
async def bursts(request: Request, ctx: ConsoleContext) -> Response:
    found = await run_in_threadpool(lambda: ctx.hub.bursts.listed(ctx.org_id))
    return page(
        request,
        "bursts.html",
        ctx.page_context(
            "settings",
            bursts=found,
            notice=request.query_params.get("notice", "")[:300],
            error=request.query_params.get("error", "")[:300],
        ),
    )


@console_page(changes=True)
async def decide_burst(request: Request, ctx: ConsoleContext) -> Response:
    burst_id = request.path_params["burst_id"]
    actor = Actor(ctx.principal.name, tracking_id(request.scope))
    bursts_ = ctx.hub.bursts
    try:
        if request.path_params["decision"] == "restore":
            done = await run_in_threadpool(
                lambda: bursts_.restore(ctx.org_id, burst_id, ctx.loc, actor=actor)
            )
            notice = (
                f"Restored {done.users_restored} user(s) from the recycle bin and made "
                f"{done.users_reactivated} active again"
                + (f"; {done.skipped} left as they are." if done.skipped else ".")
            )
        else:
            await run_in_threadpool(lambda: bursts_.dismiss(ctx.org_id, burst_id, actor=actor))
            notice = "Dismissed: the removals stay."
    except NotFound:
        return error_page(request, 404, "Not found", "There is no such burst.", ctx)
    except BurstDecided as exc:
        return RedirectResponse(f"/console/bursts?{urlencode({'error': exc.detail})}", 303)
    return RedirectResponse(f"/console/bursts?{urlencode({'notice': notice})}", 303)


routes = [
    Route("/deletions", held, methods=["GET"]),
    Route("/deletions/{decision:str}", decide, methods=["POST"]),
    Route("/bursts", bursts, methods=["GET"]),
    Route("/bursts/{burst_id}/{decision:str}", decide_burst, methods=["POST"]),
]
