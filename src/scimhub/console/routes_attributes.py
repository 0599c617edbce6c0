"""Organization Settings > User attributes (and Group attributes): the profile attributes
every organisation has, the organisation's own ones with Add and Remove for full admins,
and whether undeclared extension attributes are refused or kept."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..api.body_limit import read_form
from ..api.tracking import tracking_id
from ..directory.actor import Actor
from ..directory.attribute_removal import remove_attribute
from ..scim.custom import AttributeType, definition_from_json
from ..scim.errors import ScimError
from ..scim.schemas import GROUP, USER
from .auth import ConsoleContext, console_page
from .render import page

PATH = "/console/settings/attributes"


def _kind(raw: str) -> str:
    return "Group" if raw == "Group" else "User"


def _back(kind: str, **message: str) -> RedirectResponse:
    return RedirectResponse(f"{PATH}?{urlencode({'resource': kind, **message})}", 303)


@console_page()
async def attributes(request: Request, ctx: ConsoleContext) -> Response:
    kind = _kind(request.query_params.get("resource", "User"))
    built_in = USER if kind == "User" else GROUP

    def render() -> Response:
        return page(
            request,
            "attributes.html",
            ctx.page_context(
                "settings",
                kind=kind,
                profile=[
                    (s, a) for s in (built_in.schema, *built_in.extensions) for a in s.attributes
                ],
                defined=ctx.hub.attributes.definitions(ctx.org_id, kind),
                types=[t.value for t in AttributeType],
                keeps=ctx.hub.attributes.keeps_undeclared(ctx.org_id),
                notice=request.query_params.get("notice", "")[:300],
                error=request.query_params.get("error", "")[:300],
            ),
        )

    return await run_in_threadpool(render)


@console_page(changes=True)
async def add(request: Request, ctx: ConsoleContext) -> Response:
    form = await read_form(request)
    kind = _kind(str(form.get("resource", "User")))
    body = {
        "resource": kind,
        "schema": str(form.get("schema", "")).strip(),
        "name": str(form.get("name", "")).strip(),
        "type": str(form.get("type", "string")),
        "multiValued": form.get("multi_valued") == "on",
        "caseExact": form.get("case_exact") == "on",
        "uniqueness": "server" if form.get("unique") == "on" else "none",
        "description": str(form.get("description", "")).strip(),
    }
    try:
        defined = await run_in_threadpool(
            lambda: ctx.hub.attributes.add(
                ctx.org_id,
                definition_from_json(body),
                actor=Actor(ctx.principal.name, tracking_id(request.scope)),
            )
        )
    except ScimError as exc:
        return _back(kind, error=exc.detail)
    return _back(kind, notice=f"Defined {defined.definition.path}.")


@console_page(changes=True)
async def remove(request: Request, ctx: ConsoleContext) -> Response:
    form = await read_form(request)
    kind = _kind(str(form.get("resource", "User")))
    actor = Actor(ctx.principal.name, tracking_id(request.scope))
    hub = ctx.hub
    try:
        defined, cleared = await run_in_threadpool(
            lambda: remove_attribute(
                hub.attributes,
                hub.users,
                hub.groups,
                ctx.org_id,
                str(request.path_params["attribute_id"])[:64],
                ctx.loc,
                purge=form.get("purge") == "on",
                actor=actor,
            )
        )
    except ScimError as exc:  # not found (another org's id too), or held
        return _back(kind, error=exc.detail)
    return _back(
        kind, notice=f"Removed {defined.definition.path}; cleared from {cleared} resource(s)."
    )


@console_page(changes=True)
async def undeclared(request: Request, ctx: ConsoleContext) -> Response:
    form = await read_form(request)
    keep = form.get("undeclared") == "keep"
    actor = Actor(ctx.principal.name, tracking_id(request.scope))
    await run_in_threadpool(
        lambda: ctx.hub.attributes.keep_undeclared(ctx.org_id, keep, actor=actor)
    )
    kind = _kind(str(form.get("resource", "User")))
    return _back(kind, notice="Undeclared attributes are now " + ("kept." if keep else "refused."))


routes = [
    Route("/settings/attributes", attributes, methods=["GET"]),
    Route("/settings/attributes/add", add, methods=["POST"]),
    Route("/settings/attributes/undeclared", undeclared, methods=["POST"]),
    Route("/settings/attributes/{attribute_id}/remove", remove, methods=["POST"]),
]
