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

from ..directory.deletion_brake import InvalidThreshold, Threshold
from ..directory.locator import Locator
from ..integrations.ldap.errors import LdapError, NoSource
from ..scim.errors import NotFound as ScimNotFound
from ..scim.errors import ScimError
from .declared import Body, Flag, Raw
from .operations import BOOLEAN, OBJECT, Described, Family, Op, obj
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
_PASSWORD = Raw("password", {"type": "string", "writeOnly": True}, doc="the bind password")
# The settings themselves (host, base DN, filters, mapping...) are checked by the LDAP
# service, which names what is wrong (docs/ldap.md); here, the members the route reads.
SOURCE = Body(
    _PASSWORD,
    Raw("name", {"type": "string"}),
    Raw("enabled", {"type": "boolean"}),
    closed=False,
    doc="the source's settings (docs/ldap.md), and these",
)
TRIAL = Body(_PASSWORD, closed=False, optional=True, doc="settings about to be saved, or none")
DRY_RUN = Body(Flag("full", False, doc="a full round, not a delta"), optional=True)
THRESHOLD = Body(
    Raw("threshold", {"type": ["object", "null"]}, required=True, doc="null: the default")
)


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
    SOURCE.read(body)
    settings = dict(body)
    password = settings.pop("password", None)

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
        TRIAL.read(body)
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
    full = DRY_RUN.read(body)["full"]
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
        raw = THRESHOLD.read(await read_json(request))["threshold"]
        try:
            new = None if raw is None else Threshold.parse(raw)
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


_TAG = "AD / LDAP source"
_LDAP = (409, 422, 502, 503)  # its own codes 7011xx: the directory refused, or is unreachable
HELD = obj("total", "removals", total={"type": "integer"}, removals={"type": "array"})
THRESHOLD_VIEW = obj("threshold", threshold={"type": ["object", "null"]}, inherited=BOOLEAN)


def _described(path: str, endpoint: Any, **ops: Op) -> Described:
    return Described(f"{_BASE}{path}", endpoint, family=Family.ORG, tag=_TAG, **ops)


routes = [
    _described(
        "",
        source,
        GET=Op("The organisation's LDAP source (never its password)", OBJECT, errors=_LDAP),
        PUT=Op(
            "Create (201) or change the source",
            OBJECT,
            body=SOURCE,
            errors=(201, *_LDAP),
        ),
        DELETE=Op("Remove the source (its users and groups stay)", None, ok=204, errors=_LDAP),
    ),
    _described("/presets", presets, GET=Op("The AD and OpenLDAP presets", obj("presets"))),
    _described(
        "/test",
        test,
        POST=Op(
            "Try the saved source, or settings about to be saved",
            obj("ok", ok=BOOLEAN, steps={"type": "array"}),
            body=TRIAL,
            errors=_LDAP,
        ),
    ),
    _described(
        "/sync", sync, POST=Op("Run a round now", obj("counts", counts=OBJECT), errors=_LDAP)
    ),
    _described(
        "/dryRun",
        dry_run,
        POST=Op(
            "What the next round would change, written nowhere", OBJECT, body=DRY_RUN, errors=_LDAP
        ),
    ),
    _described(
        "/heldRemovals", held, GET=Op("The deletion brake's held removals", HELD, errors=_LDAP)
    ),
    _described(
        "/heldRemovals/{decision:str}",
        decide,
        POST=Op(
            "Apply or discard the held removals",
            obj(approved={"type": "integer"}, discarded={"type": "integer"}),
            errors=(409, *_LDAP),
            path={"decision": {"type": "string", "enum": ["approve", "discard"]}},
        ),
    ),
    _described(
        "/deletionThreshold",
        threshold,
        GET=Op("The source's deletion threshold", THRESHOLD_VIEW, errors=_LDAP),
        PUT=Op(
            "Set the deletion threshold (null: inherit)",
            THRESHOLD_VIEW,
            body=THRESHOLD,
            errors=_LDAP,
        ),
    ),
]
