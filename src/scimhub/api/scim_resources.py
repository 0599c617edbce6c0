"""SCIM resource routes (RFC 7644 §3.2-3.6): Users, Groups, a group's Members, searches."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..directory import search
from ..scim import listing, projection
from ..scim.errors import InvalidValue
from ..scim.render import etag_matches
from ..scim.schemas import GROUP, USER, ResourceType
from .body import read_json
from .responses import ScimResponse
from .scim_endpoint import ScimContext, scim_endpoint


def _projection(request: Request) -> tuple[list[str] | None, list[str] | None]:
    params = request.query_params
    return (projection.parse_attribute_list(params.get("attributes")),
            projection.parse_attribute_list(params.get("excludedAttributes")))


def _needs_refs(rt: ResourceType, attrs: list[str] | None, excluded: list[str] | None) -> bool:
    """Whether `members` (groups) or `groups` (users) will be returned, so worth loading."""
    return projection.needs(rt, attrs, excluded, "members" if rt is GROUP else "groups")


def _resource(rt: ResourceType, doc: dict[str, Any], request: Request, *,
              status: int = 200,
              projection_params: tuple[list[str] | None, list[str] | None] | None = None
              ) -> Response:
    attrs, excluded = projection_params or _projection(request)
    headers = {"ETag": doc["meta"]["version"]}
    if status == 201:
        headers["Location"] = doc["meta"]["location"]
    return ScimResponse(projection.project(rt, doc, attrs, excluded), status_code=status,
                        headers=headers)


def _query(req: listing.SearchRequest) -> search.Query:
    return search.Query(filter=req.filter, sort_by=req.sort_by,
                        descending=req.sort_order == "descending",
                        start_index=req.start_index, count=req.count)


def _list(rt: ResourceType, ctx: ScimContext, req: listing.SearchRequest) -> Response:
    with_refs = projection.needs(rt, req.attributes, req.excluded_attributes,
                                 "members" if rt is GROUP else "groups")
    if rt is USER:
        docs, total = ctx.hub.users.search(ctx.org_id, _query(req), ctx.loc, with_groups=with_refs)
    else:
        docs, total = ctx.hub.groups.search(ctx.org_id, _query(req), ctx.loc,
                                            with_members=with_refs)
    resources = [projection.project(rt, d, req.attributes, req.excluded_attributes)
                 for d in docs]
    return ScimResponse(listing.list_response(resources, total, req.start_index))


def _limits(ctx: ScimContext) -> dict[str, int]:
    s = ctx.hub.settings
    return {"max_count": s.max_page_size, "default_count": s.default_page_size}


def _collection(rt: ResourceType):  # type: ignore[no-untyped-def]
    @scim_endpoint(rt.name)
    async def list_or_create(request: Request, ctx: ScimContext) -> Response:
        if request.method == "GET":
            return _list(rt, ctx, listing.from_query(request.query_params, **_limits(ctx)))
        body = await read_json(request, limit=ctx.hub.settings.max_payload_bytes)
        service = ctx.hub.users if rt is USER else ctx.hub.groups
        return _resource(rt, service.create(ctx.org_id, body, ctx.loc), request, status=201)
    return list_or_create


def _search(rt: ResourceType | None):  # type: ignore[no-untyped-def]
    @scim_endpoint(rt.name if rt else None)
    async def post_search(request: Request, ctx: ScimContext) -> Response:
        body = await read_json(request, limit=ctx.hub.settings.max_payload_bytes)
        req = listing.from_search_body(body, **_limits(ctx))
        if rt is not None:
            return _list(rt, ctx, req)
        # A root search spans resource types (RFC 7644 §3.4.3): users first, then groups.
        return _root_search(ctx, req)
    return post_search


def _root_search(ctx: ScimContext, req: listing.SearchRequest) -> Response:
    user_total = ctx.hub.users.search(ctx.org_id, _query(replace(req, start_index=1, count=0)),
                                      ctx.loc)[1]
    resources: list[dict[str, Any]] = []
    start, count = req.start_index, req.count
    if start <= user_total and count:
        docs, _ = ctx.hub.users.search(ctx.org_id, _query(req), ctx.loc)
        resources += [projection.project(USER, d, req.attributes, req.excluded_attributes)
                      for d in docs]
    remaining = count - len(resources)
    group_start = max(1, start - user_total)
    docs, group_total = ctx.hub.groups.search(
        ctx.org_id, _query(replace(req, start_index=group_start, count=remaining)), ctx.loc)
    resources += [projection.project(GROUP, d, req.attributes, req.excluded_attributes)
                  for d in docs]
    return ScimResponse(listing.list_response(resources, user_total + group_total, start))


def _item(rt: ResourceType):  # type: ignore[no-untyped-def]
    @scim_endpoint(rt.name)
    async def item(request: Request, ctx: ScimContext) -> Response:
        rid = request.path_params["id"]
        if_match = request.headers.get("if-match")
        attrs, excluded = _projection(request)
        with_refs = _needs_refs(rt, attrs, excluded)
        if rt is USER:
            users = ctx.hub.users
            if request.method == "GET":
                doc = users.get(ctx.org_id, rid, ctx.loc, with_groups=with_refs)
            elif request.method == "DELETE":
                users.delete(ctx.org_id, rid, if_match=if_match)
                return Response(status_code=204)
            else:
                body = await read_json(request, limit=ctx.hub.settings.max_payload_bytes)
                write = users.replace if request.method == "PUT" else users.patch
                doc = write(ctx.org_id, rid, body, ctx.loc, if_match=if_match)
        else:
            groups = ctx.hub.groups
            if request.method == "GET":
                doc = groups.get(ctx.org_id, rid, ctx.loc, with_members=with_refs)
            elif request.method == "DELETE":
                groups.delete(ctx.org_id, rid, if_match=if_match)
                return Response(status_code=204)
            else:
                body = await read_json(request, limit=ctx.hub.settings.max_payload_bytes)
                org = ctx.hub.orgs.get(ctx.org_id)
                quiet = request.method == "PATCH" and org.setting("group_patch_status") == 204
                write = groups.replace if request.method == "PUT" else groups.patch
                doc = write(ctx.org_id, rid, body, ctx.loc, if_match=if_match,
                            with_members=with_refs and not quiet)
                if quiet:
                    return Response(status_code=204, headers={"ETag": doc["meta"]["version"]})
        if request.method == "GET" and _not_modified(request, doc):
            return Response(status_code=304, headers={"ETag": doc["meta"]["version"]})
        return _resource(rt, doc, request, projection_params=(attrs, excluded))
    return item


def _not_modified(request: Request, doc: dict[str, Any]) -> bool:
    wanted = request.headers.get("if-none-match")
    return bool(wanted) and etag_matches(wanted, _version(doc))


def _version(doc: dict[str, Any]) -> int:
    return int(doc["meta"]["version"][3:-1])  # W/"<n>"


@scim_endpoint("Group")
async def group_members(request: Request, ctx: ScimContext) -> Response:
    """A group's members, paged (at most `max_members_page_size` a page)."""
    params = request.query_params
    limit = ctx.hub.settings.max_members_page_size
    try:
        start = max(1, int(params.get("startIndex", "1")))
        count = min(limit, max(0, int(params.get("count", str(limit)))))
    except ValueError:
        raise InvalidValue("startIndex and count must be integers") from None
    members, total = ctx.hub.groups.members_page(ctx.org_id, request.path_params["id"], ctx.loc,
                                                 start_index=start, count=count)
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

