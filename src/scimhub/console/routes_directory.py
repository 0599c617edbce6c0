"""Users and Groups: searchable, paged lists and detail pages, read through the directory's
SCIM layer with the signed-in admin's org, so a URL naming another org's user is a 404; and
the deleted ones in the recycle bin, which a full admin restores (a CSRF-checked form)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..api.tracking import tracking_id
from ..directory.actor import Actor
from ..directory.recycle_bin import Kind, NameTaken
from ..directory.search import Query
from ..scim.errors import InvalidFilter, NotFound
from ..scim.filter import parse_attr_path
from ..scim.schemas import ENTERPRISE_URN
from .auth import ConsoleContext, console_page, error_page
from .paging import PAGE_SIZE, Pager
from .render import page
from .search_box import USER_FIELDS, group_filter, user_filter

_BY_USER_NAME = parse_attr_path("userName")
_BY_DISPLAY_NAME = parse_attr_path("displayName")


@console_page()
async def users(request: Request, ctx: ConsoleContext) -> Response:
    text = request.query_params.get("q", "")
    field = request.query_params.get("by", "login")
    field = field if field in USER_FIELDS else "login"
    try:
        flt = user_filter(text, field)
    except InvalidFilter:
        return error_page(
            request,
            400,
            "Search not understood",
            "The search text contains characters that cannot be searched.",
            ctx,
        )
    query = Query(
        filter=flt,
        sort_by=_BY_USER_NAME,
        count=PAGE_SIZE,
        start_index=Pager.offset_for(request) + 1,
    )
    found, total = ctx.hub.users.search(ctx.org_id, query, ctx.loc, with_groups=False)
    return page(
        request,
        "users.html",
        ctx.page_context(
            "users",
            users=found,
            q=text,
            by=field,
            fields=USER_FIELDS,
            pager=Pager.of(request, total),
        ),
    )


@console_page()
async def user(request: Request, ctx: ConsoleContext) -> Response:
    try:
        doc = ctx.hub.users.get(ctx.org_id, request.path_params["user_id"], ctx.loc)
    except NotFound:
        return error_page(
            request, 404, "User not found", "There is no such user in this organisation.", ctx
        )
    by = ctx.hub.provenance.of(ctx.org_id, "User", doc["id"])
    return page(
        request,
        "user.html",
        ctx.page_context("users", user=doc, attributes=user_attributes(doc), provisioned_by=by),
    )


def user_attributes(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The attributes an admin reads first, as label/value rows (the full document is
    shown below them)."""
    name = doc.get("name") or {}
    enterprise = doc.get(ENTERPRISE_URN) or {}
    emails = ", ".join(
        f"{e.get('value')} ({e.get('type', 'other')})"
        for e in doc.get("emails") or []
        if e.get("value")
    )
    rows = [
        ("User name", doc.get("userName")),
        ("Display name", doc.get("displayName")),
        ("Given name", name.get("givenName")),
        ("Family name", name.get("familyName")),
        ("Emails", emails),
        ("Title", doc.get("title")),
        ("Department", enterprise.get("department")),
        ("Employee number", enterprise.get("employeeNumber")),
        ("Manager", (enterprise.get("manager") or {}).get("value")),
        ("External id", doc.get("externalId")),
        ("Id", doc.get("id")),
    ]
    return [(label, str(value)) for label, value in rows if value not in (None, "")]


@console_page()
async def groups(request: Request, ctx: ConsoleContext) -> Response:
    text = request.query_params.get("q", "")
    try:
        flt = group_filter(text)
    except InvalidFilter:
        return error_page(
            request,
            400,
            "Search not understood",
            "The search text contains characters that cannot be searched.",
            ctx,
        )
    query = Query(
        filter=flt,
        sort_by=_BY_DISPLAY_NAME,
        count=PAGE_SIZE,
        start_index=Pager.offset_for(request) + 1,
    )
    found, total = ctx.hub.groups.search(ctx.org_id, query, ctx.loc, with_members=False)
    return page(
        request,
        "groups.html",
        ctx.page_context("groups", groups=found, q=text, pager=Pager.of(request, total)),
    )


@console_page()
async def group(request: Request, ctx: ConsoleContext) -> Response:
    group_id = request.path_params["group_id"]
    try:
        doc = ctx.hub.groups.get(ctx.org_id, group_id, ctx.loc, with_members=False)
        members, total = ctx.hub.groups.members_page(
            ctx.org_id,
            group_id,
            ctx.loc,
            start_index=Pager.offset_for(request) + 1,
            count=PAGE_SIZE,
        )
    except NotFound:
        return error_page(
            request, 404, "Group not found", "There is no such group in this organisation.", ctx
        )
    return page(
        request,
        "group.html",
        ctx.page_context(
            "groups",
            group=doc,
            members=members,
            pager=Pager.of(request, total),
            provisioned_by=ctx.hub.provenance.of(ctx.org_id, "Group", group_id),
        ),
    )


# -- the recycle bin ----------------------------------------------------------------------


def _bin_routes(section: str, kind: Kind) -> tuple[Route, Route]:
    """The Deleted users (or groups) page and its Restore form, under /console/{section}."""
    back = f"/console/{section}/deleted"

    @console_page()
    async def deleted(request: Request, ctx: ConsoleContext) -> Response:
        def render() -> Response:
            found, total = ctx.hub.recycle_bin.entries(
                ctx.org_id, kind, limit=PAGE_SIZE, offset=Pager.offset_for(request)
            )
            return page(
                request,
                "deleted.html",
                ctx.page_context(
                    section,
                    section=section,
                    kind=kind,
                    deleted=found,
                    days=ctx.hub.settings.recycle_days,
                    pager=Pager.of(request, total),
                    notice=request.query_params.get("notice", "")[:300],
                    error=request.query_params.get("error", "")[:300],
                ),
            )

        return await run_in_threadpool(render)

    @console_page(changes=True)
    async def restore(request: Request, ctx: ConsoleContext) -> Response:
        resource_id = request.path_params["resource_id"]
        actor = Actor(ctx.principal.name, tracking_id(request.scope))
        bin_ = ctx.hub.recycle_bin
        run = bin_.restore_user if kind == "User" else bin_.restore_group
        try:
            restored = await run_in_threadpool(
                lambda: run(ctx.org_id, resource_id, ctx.loc, actor=actor)
            )
        except NameTaken as exc:
            return RedirectResponse(f"{back}?{urlencode({'error': exc.detail})}", 303)
        except NotFound:
            gone = f"That {kind.lower()} is no longer in the recycle bin."
            return RedirectResponse(f"{back}?{urlencode({'error': gone})}", 303)
        doc = restored.resource
        name = doc.get("userName") or doc.get("displayName")
        notice = f"Restored {name} with {restored.memberships_restored} membership(s)."
        if restored.memberships_skipped:
            notice += f" {restored.memberships_skipped} skipped: their other side is gone."
        return RedirectResponse(f"{back}?{urlencode({'notice': notice})}", 303)

    return (
        Route(f"/{section}/deleted", deleted, methods=["GET"]),
        Route(f"/{section}/deleted/{{resource_id}}/restore", restore, methods=["POST"]),
    )


routes = [
    Route("/users", users, methods=["GET"]),
    # before /users/{user_id}, which would take "deleted" for an id
    *_bin_routes("users", "User"),
    Route("/users/{user_id}", user, methods=["GET"]),
    Route("/groups", groups, methods=["GET"]),
    *_bin_routes("groups", "Group"),
    Route("/groups/{group_id}", group, methods=["GET"]),
]
