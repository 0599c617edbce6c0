"""SCIM resource routes (RFC 7644 §3.2-3.6): Users, Groups, a group's Members, searches."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..directory import search
from ..scim import listing, projection
from ..scim.render import etag_matches
from ..scim.schemas import GROUP, USER, ResourceType
from . import offload
from .body import read_json
from .responses import ScimResponse
from .scim_endpoint import Endpoint, ScimContext, scim_endpoint


def _projection(request: Request) -> tuple[list[str] | None, list[str] | None]:
    if not request.scope["query_string"]:  # the whole resource, as most requests ask
        return None, None
    params = request.query_params
    return (
        projection.parse_attribute_list(params.get("attributes")),
        projection.parse_attribute_list(params.get("excludedAttributes")),
    )


def _needs_refs(rt: ResourceType, attrs: list[str] | None, excluded: list[str] | None) -> bool:
    """Whether `members` (groups) or `groups` (users) will be returned, so worth loading."""
    return projection.needs(rt, attrs, excluded, "groups" if rt.is_user else "members")


def _resource(
    rt: ResourceType,
    doc: dict[str, Any],
    request: Request,
    *,
    status: int = 200,
    projection_params: tuple[list[str] | None, list[str] | None] | None = None,
) -> Response:
    attrs, excluded = projection_params or _projection(request)
    headers = {"ETag": doc["meta"]["version"]}
    if status == 201:
        headers["Location"] = doc["meta"]["location"]
    return ScimResponse(
        projection.project(rt, doc, attrs, excluded), status_code=status, headers=headers
    )


def _query(req: listing.SearchRequest) -> search.Query:
    return search.Query(
        filter=req.filter,
        sort_by=req.sort_by,
        descending=req.sort_order == "descending",
        start_index=req.start_index,
        count=req.count,
    )


def _list(rt: ResourceType, ctx: ScimContext, req: listing.SearchRequest) -> Response:
    with_refs = projection.needs(
        rt, req.attributes, req.excluded_attributes, "groups" if rt.is_user else "members"
    )
    if rt.is_user:
        docs, total = ctx.hub.users.search(ctx.org_id, _query(req), ctx.loc, with_groups=with_refs)
    else:
        docs, total = ctx.hub.groups.search(
            ctx.org_id, _query(req), ctx.loc, with_members=with_refs
        )
    resources = [projection.project(rt, d, req.attributes, req.excluded_attributes) for d in docs]
    return ScimResponse(listing.list_response(resources, total, req.start_index))


def _limits(ctx: ScimContext) -> dict[str, int]:
    s = ctx.hub.settings
    return {"max_count": s.max_page_size, "default_count": s.default_page_size}


# Starlette answers HEAD on every GET route: both read, and HEAD never writes whatever
# body it carries (RFC 9110 §9.3.2: HEAD is GET without the content).
_READS = frozenset({"GET", "HEAD"})


def _org_type(ctx: ScimContext, base: ResourceType) -> ResourceType:
    """The organisation's User or Group: the built-in one with its custom attributes."""
    return ctx.hub.attributes.resource_type(ctx.org_id, base.name)


def _collection(base: ResourceType) -> Endpoint:
    @scim_endpoint(base.name)
    async def list_or_create(request: Request, ctx: ScimContext) -> Response:
        rt = _org_type(ctx, base)
        if request.method in _READS:
            req = listing.from_query(request.query_params, **_limits(ctx))
            return await ctx.hub.offload.run(
                ctx.org_id, offload.search_is_heavy(rt, req), partial(_list, rt, ctx, req)
            )
        body = await read_json(request, limit=ctx.hub.settings.max_payload_bytes)
        service = ctx.hub.users if rt.is_user else ctx.hub.groups
        heavy = (
            offload.user_write_is_heavy(request, body)
            if rt.is_user
            else offload.large_body(request)
        )

        def create() -> Response:  # the response too: it is as large as the body
            return _resource(rt, service.create(ctx.org_id, body, ctx.loc), request, status=201)

        return await ctx.hub.offload.run(ctx.org_id, heavy, create)

    return list_or_create


def _search(base: ResourceType | None) -> Endpoint:
    @scim_endpoint(base.name if base else None)
    async def post_search(request: Request, ctx: ScimContext) -> Response:
        body = await read_json(request, limit=ctx.hub.settings.max_payload_bytes)
        req = listing.from_search_body(body, **_limits(ctx))
        if base is not None:
            rt = _org_type(ctx, base)
            return await ctx.hub.offload.run(
                ctx.org_id, offload.search_is_heavy(rt, req), partial(_list, rt, ctx, req)
            )
        # A root search spans resource types (RFC 7644 §3.4.3) and is never indexed.
        return await ctx.hub.offload.run(ctx.org_id, True, partial(_root_search, ctx, req))

    return post_search


def _root_search(ctx: ScimContext, req: listing.SearchRequest) -> Response:
    """Users first, then groups."""
    types = ctx.hub.attributes.types(ctx.org_id)
    user_total = ctx.hub.users.search(
        ctx.org_id, _query(replace(req, start_index=1, count=0)), ctx.loc
    )[1]
    resources: list[dict[str, Any]] = []
    start, count = req.start_index, req.count
    if start <= user_total and count:
        docs, _ = ctx.hub.users.search(ctx.org_id, _query(req), ctx.loc)
        resources += [
            projection.project(types.user, d, req.attributes, req.excluded_attributes) for d in docs
        ]
    remaining = count - len(resources)
    group_start = max(1, start - user_total)
    docs, group_total = ctx.hub.groups.search(
        ctx.org_id, _query(replace(req, start_index=group_start, count=remaining)), ctx.loc
    )
    resources += [
        projection.project(types.group, d, req.attributes, req.excluded_attributes) for d in docs
    ]
    return ScimResponse(listing.list_response(resources, user_total + group_total, start))


def _item(base: ResourceType) -> Endpoint:
    @scim_endpoint(base.name)
    async def item(request: Request, ctx: ScimContext) -> Response:
        rid = request.path_params["id"]
        rt = _org_type(ctx, base)
        if request.method in _READS:
            return await _read(rt, request, ctx, rid)
        if request.method == "DELETE":
            service = ctx.hub.users if rt.is_user else ctx.hub.groups
            # A delete cascades over memberships: as many rows as the resource has.
            await ctx.hub.offload.run(
                ctx.org_id,
                True,
                partial(
                    service.delete,
                    ctx.org_id,
                    rid,
                    if_match=request.headers.get("if-match"),
                    loc=ctx.loc,
                ),
            )
            return Response(status_code=204)
        body = await read_json(request, limit=ctx.hub.settings.max_payload_bytes)
        if rt.is_user:
            return await _write_user(rt, request, ctx, rid, body)
        return await _write_group(rt, request, ctx, rid, body)

    return item


async def _read(rt: ResourceType, request: Request, ctx: ScimContext, rid: str) -> Response:
    """GET or HEAD of one resource; inline but for a group's members, which are unbounded."""
    attrs, excluded = _projection(request)
    with_refs = _needs_refs(rt, attrs, excluded)

    def read() -> Response:
        if rt.is_user:
            doc = ctx.hub.users.get(ctx.org_id, rid, ctx.loc, with_groups=with_refs)
        else:
            doc = ctx.hub.groups.get(ctx.org_id, rid, ctx.loc, with_members=with_refs)
        if _not_modified(request, doc):
            return Response(status_code=304, headers={"ETag": doc["meta"]["version"]})
        return _resource(rt, doc, request, projection_params=(attrs, excluded))

    return await ctx.hub.offload.run(ctx.org_id, not rt.is_user and with_refs, read)


async def _write_user(
    rt: ResourceType, request: Request, ctx: ScimContext, rid: str, body: Any
) -> Response:
    users = ctx.hub.users
    write = users.replace if request.method == "PUT" else users.patch

    def run() -> Response:
        doc = write(ctx.org_id, rid, body, ctx.loc, if_match=request.headers.get("if-match"))
        return _resource(rt, doc, request)

    return await ctx.hub.offload.run(ctx.org_id, offload.user_write_is_heavy(request, body), run)


async def _write_group(
    rt: ResourceType, request: Request, ctx: ScimContext, rid: str, body: Any
) -> Response:
    attrs, excluded = _projection(request)
    org = ctx.hub.orgs.get(ctx.org_id)
    quiet = request.method == "PATCH" and org.setting("group_patch_status") == 204
    with_members = _needs_refs(rt, attrs, excluded) and not quiet
    groups = ctx.hub.groups
    write = groups.replace if request.method == "PUT" else groups.patch

    def run() -> Response:
        doc = write(
            ctx.org_id,
            rid,
            body,
            ctx.loc,
            if_match=request.headers.get("if-match"),
            with_members=with_members,
        )
        if quiet:
            return Response(status_code=204, headers={"ETag": doc["meta"]["version"]})
        return _resource(rt, doc, request, projection_params=(attrs, excluded))

    heavy = offload.group_write_is_heavy(request, body, with_members=with_members)
    return await ctx.hub.offload.run(ctx.org_id, heavy, run)


def _not_modified(request: Request, doc: dict[str, Any]) -> bool:
    wanted = request.headers.get("if-none-match")
    return wanted is not None and etag_matches(wanted, _version(doc))


def _version(doc: dict[str, Any]) -> int:
    return int(doc["meta"]["version"][3:-1])  # W/"<n>"


@scim_endpoint("Group")
async def group_members(request: Request, ctx: ScimContext) -> Response:
    """A group's members, paged (at most `max_members_page_size` a page)."""
    limit = ctx.hub.settings.max_members_page_size
    start, count = listing.paging_from_query(
        request.query_params, max_count=limit, default_count=limit
    )
    # Off the loop: the total counts every member, and a far startIndex skips that many rows.
    members, total = await ctx.hub.offload.run(
        ctx.org_id,
        True,
        partial(
            ctx.hub.groups.members_page,
            ctx.org_id,
            request.path_params["id"],
            ctx.loc,
            start_index=start,
            count=count,
        ),
    )
    return ScimResponse(listing.list_response(members, total, start))


routes = [
    Route("/Users", _collection(USER), methods=["GET", "POST"]),
    Route("/Users/.search", _search(USER), methods=["POST"]),
    Route("/Users/{id}", _item(USER), methods=["GET", "PUT", "PATCH", "DELETE"]),
    Route("/Groups", _collection(GROUP), methods=["GET", "POST"]),
    Route("/Groups/.search", _search(GROUP), methods=["POST"]),
    Route("/Groups/{id}/Members", group_members, methods=["GET"]),
    Route("/Groups/{id}", _item(GROUP), methods=["GET", "PUT", "PATCH", "DELETE"]),
    Route("/.search", _search(None), methods=["POST"]),
]
