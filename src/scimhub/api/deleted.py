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
from starlette.routing import Route

from ..directory.locator import Locator
from ..directory.recycle_bin import Kind, NameTaken
from ..scim.errors import NotFound as ScimNotFound
from .responses import JsonResponse
from .scim_endpoint import base_url
from .v1 import V1_PREFIX, BadRequest, Conflict, NotFound, V1Context, v1_endpoint

MAX_LIMIT = 500


def _number(raw: str | None, name: str, default: int, least: int, most: int) -> int:
    if raw is None:
        return default
    if raw.isascii() and raw.isdigit() and len(raw) <= 9 and least <= int(raw) <= most:
        return int(raw)
    raise BadRequest(f"{name} must be an integer from {least} to {most}, got {raw[:64]!r}")


def _routes(path: str, kind: Kind) -> list[Route]:
    """The list and the restore of one kind of deleted resource."""

    @v1_endpoint
    async def list_deleted(request: Request, ctx: V1Context) -> Response:
        params = request.query_params
        unknown = sorted(k for k in params if k not in ("limit", "offset"))
        if unknown:
            raise BadRequest(
                f"unknown parameter {unknown[0][:64]!r}; this endpoint takes limit, offset"
            )
        limit = _number(params.get("limit"), "limit", 100, 1, MAX_LIMIT)
        offset = _number(params.get("offset"), "offset", 0, 0, 10**9)

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

    return [
        Route(f"{V1_PREFIX}/{path}", list_deleted, methods=["GET"]),
        Route(f"{V1_PREFIX}/{path}/{{resource_id}}/restore", restore, methods=["POST"]),
    ]


routes = _routes("deleted-users", "User") + _routes("deleted-groups", "Group")
