"""Discovery (RFC 7644 §4): what the service supports, generated from the same definitions
and limits the service enforces."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..scim import discovery, listing
from ..scim.errors import NotFound
from .responses import ScimResponse
from .scim_endpoint import ScimContext, scim_endpoint


@scim_endpoint(None)
async def service_provider_config(request: Request, ctx: ScimContext) -> Response:
    s = ctx.hub.settings
    return ScimResponse(
        discovery.service_provider_config(
            ctx.loc.scim_base,
            max_operations=s.max_bulk_operations,
            max_payload_size=s.max_payload_bytes,
            max_results=s.max_page_size,
        )
    )


@scim_endpoint(None)
async def resource_types(request: Request, ctx: ScimContext) -> Response:
    types = ctx.hub.attributes.types(ctx.org_id)
    docs = discovery.resource_types(ctx.loc.scim_base, (types.user, types.group))
    name = request.path_params.get("name")
    if name is None:
        return ScimResponse(listing.list_response(docs, len(docs), 1))
    for doc in docs:
        if doc["id"] == name or doc["name"] == name:
            return ScimResponse(doc)
    raise NotFound(f"resource type '{name}' not found")


@scim_endpoint(None)
async def schemas(request: Request, ctx: ScimContext) -> Response:
    types = ctx.hub.attributes.types(ctx.org_id)
    docs = discovery.schemas(ctx.loc.scim_base, (types.user, types.group))
    urn = request.path_params.get("urn")
    if urn is None:
        return ScimResponse(listing.list_response(docs, len(docs), 1))
    for doc in docs:
        if doc["id"].lower() == urn.lower():
            return ScimResponse(doc)
    raise NotFound(f"schema '{urn}' not found")


routes = [
    Route("/ServiceProviderConfig", service_provider_config, methods=["GET"]),
    Route("/ResourceTypes", resource_types, methods=["GET"]),
    Route("/ResourceTypes/{name}", resource_types, methods=["GET"]),
    Route("/Schemas", schemas, methods=["GET"]),
    Route("/Schemas/{urn}", schemas, methods=["GET"]),
]
