"""The recycle bin's API: an organisation's deleted users and groups, kept
`SCIMHUB_RECYCLE_DAYS`, and their restore, for an admin token, in the `/api/v1` envelope
(`v1.py`; docs/scim.md, "Recycle bin").

    GET  /deleted-users                 {"data": [deleted, ...], "total": n} (?limit=&offset=)
    POST /deleted-users/{id}/restore    200, the restored user as SCIM GET answers it
    GET  /deleted-groups, POST /deleted-groups/{id}/restore    likewise

A restore whose name another live resource holds now is 409, naming that resource; an id
not in this organisation's bin is 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..directory.locator import Locator
from ..directory.recycle_bin import Kind, NameTaken
from ..scim.errors import NotFound as ScimNotFound
from .operations import NULLABLE_STRING, OBJECT, STRING, Described, Family, Op, listing, obj
from .responses import JsonResponse
from .scim_endpoint import base_url
from .v1 import V1_PREFIX, Conflict, NotFound, V1Context, v1_endpoint
from .v1_input import PAGING

DELETED = obj(
    "id",
    "resourceType",
    "deletedAt",
    id=STRING,
    resourceType=STRING,
    name=NULLABLE_STRING,
    displayName=NULLABLE_STRING,
    externalId=NULLABLE_STRING,
    deletedAt=STRING,
    deletedBy=NULLABLE_STRING,
)


def _routes(path: str, kind: Kind) -> list[Described]:
    """The list and the restore of one kind of deleted resource."""

    @v1_endpoint
    async def list_deleted(request: Request, ctx: V1Context) -> Response:
        paging = PAGING.read(request.query_params)
        limit, offset = paging["limit"], paging["offset"]

        def read() -> Response:
            bin_ = ctx.hub.recycle_bin
            found, total = bin_.entries(ctx.org_id, kind, limit=limit, offset=offset)
            return JsonResponse({"data": [d.as_json() for d in found], "total": total})

        return await ctx.off_loop(read)

    @v1_endpoint
    async def restore(request: Request, ctx: V1Context) -> Response:
        resource_id = str(request.path_params["resource_id"])[:64]
        loc = Locator(base_url(request, ctx.hub), ctx.org_id)
        bin_ = ctx.hub.recycle_bin
        run = bin_.restore_user if kind == "User" else bin_.restore_group

        def write() -> Response:
            try:
                restored = run(ctx.org_id, resource_id, loc, actor=ctx.actor)
            except NameTaken as exc:
                raise Conflict(exc.detail) from None
            except ScimNotFound:
                raise NotFound(
                    f"no deleted {kind.lower()} {resource_id} in this organisation's recycle "
                    "bin (never deleted, restored already, or purged)"
                ) from None
            return JsonResponse(restored.resource)

        return await ctx.off_loop(write)

    what = f"{kind.lower()}s"
    return [
        Described(
            f"{V1_PREFIX}/{path}",
            list_deleted,
            family=Family.ORG,
            tag="Recycle bin",
            GET=Op(f"Deleted {what} in the recycle bin", listing(DELETED, "total"), query=PAGING),
        ),
        Described(
            f"{V1_PREFIX}/{path}/{{resource_id}}/restore",
            restore,
            family=Family.ORG,
            tag="Recycle bin",
            POST=Op(
                f"Restore a deleted {kind.lower()} (answers it as SCIM GET does)",
                OBJECT,
                errors=(409,),
            ),
        ),
    ]


routes = _routes("deleted-users", "User") + _routes("deleted-groups", "Group")
