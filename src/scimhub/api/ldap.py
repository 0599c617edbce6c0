"""The organisation's AD / LDAP source in the admin API (`/api/v1`, `v1.py`'s envelope;
docs/ldap.md). LDAP failures answer with their own codes (701101-701199) and, for a bind
refused by AD, `upstreamCode` and its `meaning`.

    GET    /ldap                          the source (never its password); 404 without one
    PUT    /ldap                          create (201) or change: settings, "password",
                                          "name", "enabled" (409/701108: another source of
                                          truth provisions the users)
    DELETE /ldap                          204; the users and groups it brought stay
    GET    /ldap/presets                  the AD and OpenLDAP presets (mapping, filters)
    POST   /ldap/test                     the saved source tried, or {settings, password?}
                                          about to be saved: {"ok", "steps", "error", ...}
    POST   /ldap/sync                     a round now → its counts (409 while one runs)
    POST   /ldap/dryRun  {"full"?}        what the next round would change, written nowhere
    GET    /ldap/heldRemovals             the deletion brake's held removals
    POST   /ldap/heldRemovals/approve|discard
    GET|PUT /ldap/deletionThreshold        {"threshold": {...} | null}
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..directory.deletion_brake import InvalidThreshold, Threshold
from ..directory.locator import Locator
from ..integrations.ldap.errors import LdapError, NoSource
from ..scim.errors import NotFound as ScimNotFound
from ..scim.errors import ScimError
from .responses import JsonResponse
from .scim_endpoint import base_url
from .v1 import (
    V1_PREFIX,
    ApiError,
    BadRequest,
    Conflict,
    NotFound,
    V1Context,
    read_json,
    v1_endpoint,
)

_BASE = f"{V1_PREFIX}/ldap"


def _api_error(err: LdapError) -> ApiError:
    """An LDAP failure in the API's envelope, with its own status and code."""
    cls = type("LdapFailure", (ApiError,), {"status": err.status, "code": err.code})
    return cls(err.description)  # type: ignore[no-any-return]


async def _run(ctx: V1Context, work: Any) -> Any:
    try:
        return await ctx.off_loop(work)
    except LdapError as err:
        raise _api_error(err) from None
    except ScimNotFound as err:
        raise NotFound(err.detail) from None
    except ScimError as err:  # a round running while held removals are decided
        raise Conflict(err.detail) from None


def _source(ctx: V1Context) -> Any:
    found = ctx.hub.ldap.get(ctx.org_id)
    if found is None:
        raise NoSource("Add one first: PUT /api/v1/orgs/{orgId}/ldap.")
    return found


@v1_endpoint
async def source(request: Request, ctx: V1Context) -> Response:
    ldap = ctx.hub.ldap
    if request.method == "GET":
        return JsonResponse(await _run(ctx, lambda: ldap.view(_source(ctx))))
    if request.method == "DELETE":
        await _run(ctx, lambda: ldap.remove(ctx.org_id, actor=ctx.actor))
        return Response(status_code=204)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("the body is an object of settings")
    settings = dict(body)
    password = settings.pop("password", None)
    if password is not None and not isinstance(password, str):
        raise BadRequest("'password' must be text")

    def put() -> tuple[dict[str, Any], int]:
        if ldap.get(ctx.org_id) is None:
            name = settings.pop("name", None)
            enabled = settings.pop("enabled", True)
            created = ldap.add(
                ctx.org_id,
                settings,
                password or "",
                actor=ctx.actor,
                name=name if isinstance(name, str) else None,
                enabled=enabled is not False,
            )
            return ldap.view(created), 201
        changed = ldap.update(ctx.org_id, settings, actor=ctx.actor, password=password)
        return ldap.view(changed), 200

    view, status = await _run(ctx, put)
    return JsonResponse(view, status_code=status)


@v1_endpoint
async def presets(request: Request, ctx: V1Context) -> Response:
    return JsonResponse({"presets": ctx.hub.ldap.presets()})


@v1_endpoint
async def test(request: Request, ctx: V1Context) -> Response:
    body: Any = None
    if request.headers.get("content-length", "0") not in ("", "0"):
        body = await read_json(request)
    settings = dict(body) if isinstance(body, dict) else None
    password = settings.pop("password", None) if settings is not None else None
    settings = settings or None

    def probe() -> dict[str, Any]:
        report = ctx.hub.ldap.test(ctx.org_id, settings, password)
        if report.error is not None:
            found = ctx.hub.ldap.get(ctx.org_id)
            ctx.hub.ldap.record_failure(
                ctx.org_id,
                found.id if found else None,
                report.error,
                operation="ldap test",
                tracking_id=ctx.tracking_id,
            )
        return report.as_json()

    return JsonResponse(await _run(ctx, probe))


@v1_endpoint
async def sync(request: Request, ctx: V1Context) -> Response:
    def run() -> dict[str, Any]:
        try:
            return asdict(ctx.hub.ldap.run(ctx.org_id, tracking_id=ctx.tracking_id))
        except LdapError as err:
            found = ctx.hub.ldap.get(ctx.org_id)
            ctx.hub.ldap.record_failure(
                ctx.org_id,
                found.id if found else None,
                err,
                operation="ldap round",
                tracking_id=ctx.tracking_id,
            )
            raise

    return JsonResponse({"counts": await _run(ctx, run)})


@v1_endpoint
async def dry_run(request: Request, ctx: V1Context) -> Response:
    body: Any = {}
    if request.headers.get("content-length", "0") not in ("", "0"):
        body = await read_json(request)
    full = body.get("full", False) if isinstance(body, dict) else False
    if not isinstance(full, bool):
        raise BadRequest("'full' must be true or false")
    return JsonResponse(await _run(ctx, lambda: ctx.hub.ldap.dry_run(ctx.org_id, full=full)))


@v1_endpoint
async def held(request: Request, ctx: V1Context) -> Response:
    brake = ctx.hub.brake

    def listed() -> dict[str, Any]:
        found = _source(ctx)
        removals, total = brake.held(ctx.org_id, found.id, limit=500)
        return {
            "total": total,
            "removals": [r.as_json() for r in removals],
            "threshold": brake.threshold(found).as_json(),
        }

    return JsonResponse(await _run(ctx, listed))


@v1_endpoint
async def decide(request: Request, ctx: V1Context) -> Response:
    brake, decision = ctx.hub.brake, request.path_params["decision"]
    if decision not in ("approve", "discard"):
        raise NotFound(f"no route heldRemovals/{decision[:32]}")
    loc = Locator(base_url(request, ctx.hub), ctx.org_id)

    def act() -> dict[str, int]:
        found = _source(ctx)
        if decision == "approve":
            return {"approved": brake.approve(ctx.org_id, found.id, loc, actor=ctx.actor)}
        return {"discarded": brake.discard(ctx.org_id, found.id, actor=ctx.actor)}

    return JsonResponse(await _run(ctx, act))


@v1_endpoint
async def threshold(request: Request, ctx: V1Context) -> Response:
    brake = ctx.hub.brake
    new: Threshold | None = None
    if request.method == "PUT":
        body = await read_json(request)
        if not isinstance(body, dict) or "threshold" not in body:
            raise BadRequest('the body is {"threshold": {...} | null}')
        try:
            new = None if body["threshold"] is None else Threshold.parse(body["threshold"])
        except InvalidThreshold as exc:
            raise BadRequest(str(exc)) from None

    def act() -> dict[str, Any]:
        found = _source(ctx)
        if request.method == "PUT":
            brake.set_threshold(ctx.org_id, new, instance=found, actor=ctx.actor)
            found = _source(ctx)
        return {
            "threshold": brake.threshold(found).as_json(),
            "inherited": found.deletion_threshold is None,
        }

    return JsonResponse(await _run(ctx, act))


routes = [
    Route(_BASE, source, methods=["GET", "PUT", "DELETE"]),
    Route(f"{_BASE}/presets", presets, methods=["GET"]),
    Route(f"{_BASE}/test", test, methods=["POST"]),
    Route(f"{_BASE}/sync", sync, methods=["POST"]),
    Route(f"{_BASE}/dryRun", dry_run, methods=["POST"]),
    Route(f"{_BASE}/heldRemovals", held, methods=["GET"]),
    Route(f"{_BASE}/heldRemovals/{{decision:str}}", decide, methods=["POST"]),
    Route(f"{_BASE}/deletionThreshold", threshold, methods=["GET", "PUT"]),
]
