"""An organisation's custom attributes in the admin API (`/api/v1`, `v1.py`'s envelope;
docs/scim.md, "Custom attributes").

    GET    /attributes[?resource=User|Group]   {"data": [definition, ...]}
    POST   /attributes                         201, the definition (400 bad, 409 exists)
    GET    /attributes/{id}                    the definition
    DELETE /attributes/{id}[?purge=true]       204; 409 while resources hold values,
                                               unless purge clears them first
    GET|PUT /attributes/undeclared              {"undeclared": "refuse" | "keep"}
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..directory.attribute_removal import remove_attribute
from ..directory.custom_attributes import AttributeExists, AttributeInUse
from ..directory.locator import Locator
from ..scim.custom import definition_from_json
from ..scim.errors import InvalidValue, Uniqueness
from ..scim.errors import NotFound as ScimNotFound
from .responses import JsonResponse
from .scim_endpoint import base_url
from .v1 import V1_PREFIX, BadRequest, Conflict, NotFound, V1Context, read_json, v1_endpoint

_BASE = f"{V1_PREFIX}/attributes"


@v1_endpoint
async def list_or_add(request: Request, ctx: V1Context) -> Response:
    attributes = ctx.hub.attributes
    if request.method == "GET":
        resource = request.query_params.get("resource")
        if resource not in (None, "User", "Group"):
            raise BadRequest("resource must be User or Group")
        found = await ctx.off_loop(lambda: attributes.definitions(ctx.org_id, resource))
        return JsonResponse({"data": [d.as_json() for d in found]})
    body = await read_json(request)
    try:
        defined = await ctx.off_loop(
            lambda: attributes.add(ctx.org_id, definition_from_json(body), actor=ctx.actor)
        )
    except InvalidValue as exc:
        raise BadRequest(exc.detail) from None
    except (AttributeExists, Uniqueness) as exc:  # Uniqueness: kept values that collide
        raise Conflict(exc.detail) from None
    return JsonResponse(defined.as_json(), status_code=201)


@v1_endpoint
async def one(request: Request, ctx: V1Context) -> Response:
    attribute_id = str(request.path_params["attribute_id"])[:64]
    attributes = ctx.hub.attributes
    purge = request.query_params.get("purge", "false")
    if purge not in ("true", "false"):
        raise BadRequest("purge must be true or false")
    loc = Locator(base_url(request, ctx.hub), ctx.org_id)

    def act() -> Response:
        if request.method == "GET":
            return JsonResponse(attributes.get(ctx.org_id, attribute_id).as_json())
        hub = ctx.hub
        remove_attribute(
            attributes,
            hub.users,
            hub.groups,
            ctx.org_id,
            attribute_id,
            loc,
            purge=purge == "true",
            actor=ctx.actor,
        )
        return Response(status_code=204)

    try:
        return await ctx.off_loop(act)
    except ScimNotFound:
        raise NotFound(f"no attribute {attribute_id} in this organisation") from None
    except AttributeInUse as exc:
        raise Conflict(exc.detail) from None


@v1_endpoint
async def undeclared(request: Request, ctx: V1Context) -> Response:
    attributes = ctx.hub.attributes
    if request.method == "PUT":
        body = await read_json(request)
        choice = body.get("undeclared") if isinstance(body, dict) else None
        if choice not in ("refuse", "keep"):
            raise BadRequest('the body is {"undeclared": "refuse" | "keep"}')
        await ctx.off_loop(
            lambda: attributes.keep_undeclared(ctx.org_id, choice == "keep", actor=ctx.actor)
        )
    keep = await ctx.off_loop(lambda: attributes.keeps_undeclared(ctx.org_id))
    return JsonResponse({"undeclared": "keep" if keep else "refuse"})


routes = [
    Route(_BASE, list_or_add, methods=["GET", "POST"]),
    # before /attributes/{id}, which would take "undeclared" for an id
    Route(f"{_BASE}/undeclared", undeclared, methods=["GET", "PUT"]),
    Route(f"{_BASE}/{{attribute_id}}", one, methods=["GET", "DELETE"]),
]
