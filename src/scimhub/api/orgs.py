"""The operator's organisations (docs/operations.md, "Operator API"), for an operator
token, in the `/api/v1` envelope (`operator_auth.py`).

    POST   /api/v1/orgs              {"name"} -> 201, the organisation
    GET    /api/v1/orgs              {"data": [org, ...], "total"} (?limit=&offset=)
    GET    /api/v1/orgs/{id}         the organisation
    PATCH  /api/v1/orgs/{id}         {"name"} -> the organisation
    DELETE /api/v1/orgs/{id}         everything of it removed -> {"id", "name", "removed"}
    GET    /api/v1/orgs/{id}/export  all of its data as one JSON document, streamed

Creating, renaming, exporting and deleting are audited in the hub's own trail
(`GET /api/v1/audit`), which outlives the organisation; an export also in the
organisation's trail, where its admins see it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..directory.errors import OrgNotFound
from ..directory.locator import Locator
from ..directory.orgs import MAX_NAME_LENGTH, Org
from .declared import Body, Text
from .operations import OBJECT, STRING, Described, Family, Op, listing, obj
from .operator_auth import OperatorContext, operator_endpoint
from .responses import JsonResponse
from .scim_endpoint import base_url
from .v1 import PREFIX, NotFound
from .v1_input import PAGING, read_object

BASE = f"{PREFIX}/orgs"
ONE = f"{BASE}/{{org_id}}"


@dataclass(frozen=True, slots=True)
class OrgBody:
    """`POST /orgs` and `PATCH /orgs/{id}`: `{"name": "..."}` (1-256 characters)."""

    name: str

    BODY = Body(Text("name", most=MAX_NAME_LENGTH, doc="the organisation's name"))

    @classmethod
    def parse(cls, body: Any) -> OrgBody:
        return cls(cls.BODY.read(body)["name"])


def org_json(org: Org) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "created": org.created.isoformat().replace("+00:00", "Z"),
        "settings": org.settings,
    }


def org_id_of(request: Request) -> str:
    return str(request.path_params["org_id"])[:64]


def missing(org_id: str) -> NotFound:
    return NotFound(f"organisation {org_id} not found")


@operator_endpoint
async def collection(request: Request, ctx: OperatorContext) -> Response:
    orgs = ctx.hub.orgs
    if request.method == "GET":
        paging = PAGING.read(request.query_params)
        found, total = await ctx.off_loop(
            lambda: orgs.page(limit=paging["limit"], offset=paging["offset"])
        )
        return JsonResponse({"data": [org_json(o) for o in found], "total": total})
    body = OrgBody.parse(await read_object(request))
    created = await ctx.off_loop(lambda: orgs.create(body.name, actor=ctx.actor))
    return JsonResponse(org_json(created), status_code=201)


@operator_endpoint
async def one(request: Request, ctx: OperatorContext) -> Response:
    org_id, hub = org_id_of(request), ctx.hub
    try:
        if request.method == "GET":
            return JsonResponse(org_json(await ctx.off_loop(lambda: hub.orgs.get(org_id))))
        if request.method == "PATCH":
            body = OrgBody.parse(await read_object(request))
            renamed = await ctx.off_loop(
                lambda: hub.orgs.rename(org_id, body.name, actor=ctx.actor), org_id
            )
            return JsonResponse(org_json(renamed))
        org = await ctx.off_loop(lambda: hub.orgs.get(org_id))
        # Entries of its requests still buffered would be written after the removal.
        await ctx.off_loop(hub.requests.flush)
        removed = await ctx.off_loop(lambda: hub.removal.remove(org_id, actor=ctx.actor), org_id)
        hub.tokens.forget_cached()
    except OrgNotFound:
        raise missing(org_id) from None
    return JsonResponse({"id": org_id, "name": org.name, "removed": removed})


@operator_endpoint
async def export(request: Request, ctx: OperatorContext) -> Response:
    """Streamed a page at a time, each read in the offload pool: an organisation of 100,000
    users is never one response in memory, and never holds the event loop."""
    org_id, hub = org_id_of(request), ctx.hub
    try:
        org = await ctx.off_loop(lambda: hub.orgs.get(org_id))
    except OrgNotFound:
        raise missing(org_id) from None
    actor = ctx.actor

    def begin() -> None:
        hub.requests.flush()  # the provisioning log up to now
        for trail in (None, org_id):  # the hub's, and the organisation's admins'
            hub.audit.record(
                trail, actor.name, "org.exported", target=org_id, tracking_id=actor.tracking_id
            )

    await ctx.off_loop(begin, org_id)
    pieces = hub.export.pieces(org_id, Locator(base_url(request, hub), org_id))
    filename = f"scimhub-export-{org.id}.json"
    return StreamingResponse(
        _streamed(ctx, org_id, pieces),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _streamed(
    ctx: OperatorContext, org_id: str, pieces: Generator[bytes, None, None]
) -> AsyncIterator[bytes]:
    """Each piece read off the loop; the snapshot closed however the stream ends (a client
    that goes away included)."""
    try:
        while (piece := await ctx.off_loop(lambda: next(pieces, None), org_id)) is not None:
            yield piece
    finally:
        await ctx.off_loop(pieces.close, org_id)


ORG = obj(
    "id", "name", "created", "settings", id=STRING, name=STRING, created=STRING, settings=OBJECT
)
_TAG = "Operator: organisations"
routes = [
    Described(
        BASE,
        collection,
        family=Family.OPERATOR,
        tag=_TAG,
        GET=Op("List the organisations", listing(ORG, "total"), query=PAGING),
        POST=Op("Create an organisation", ORG, ok=201, body=OrgBody.BODY),
    ),
    Described(
        ONE,
        one,
        family=Family.OPERATOR,
        tag=_TAG,
        GET=Op("Get an organisation", ORG),
        PATCH=Op("Rename an organisation", ORG, body=OrgBody.BODY),
        DELETE=Op(
            "Delete an organisation and everything of it",
            obj("id", "name", "removed", id=STRING, name=STRING, removed=OBJECT),
            doc="`removed` counts the rows removed, by table.",
        ),
    ),
    Described(
        f"{ONE}/export",
        export,
        family=Family.OPERATOR,
        tag=_TAG,
        GET=Op("Export all of an organisation's data as one JSON document", OBJECT),
    ),
]
