"""Organization Settings > Directory Synchronization > AD / LDAP: the organisation's LDAP
source, server-rendered — its settings (a preset's mapping, editable), Test connection,
Dry run, Sync now, enable/disable, remove, and the deletion brake's held removals. Every
action is a form with the session's CSRF token; the password field is write-only."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..api.body_limit import read_form
from ..api.tracking import tracking_id
from ..directory.actor import Actor
from ..integrations.ldap.errors import LdapError
from ..scim.errors import ScimError
from .auth import ConsoleContext, console_page
from .render import page

_TEXT = {
    "name": "name",
    "url": "url",
    "bind_dn": "bindDn",
    "user_base": "userBase",
    "group_base": "groupBase",
    "user_filter": "userFilter",
    "group_filter": "groupFilter",
    "ca_pem": "caPem",
    "user_domains": "userDomains",
}


def _page(request: Request, ctx: ConsoleContext, *, status: int = 200, **shown: Any) -> Response:
    ldap = ctx.hub.ldap
    source = ldap.get(ctx.org_id)
    return page(
        request,
        "ldap.html",
        ctx.page_context(
            "settings",
            source=ldap.view(source) if source else None,
            presets=ldap.presets(),
            mapping_json=json.dumps(
                ldap.view(source)["mapping"] if source else ldap.presets()["openldap"]["mapping"],
                indent=1,
            ),
            **shown,
        ),
        status=status,
    )


@console_page()
async def show(request: Request, ctx: ConsoleContext) -> Response:
    return await run_in_threadpool(lambda: _page(request, ctx))


def _settings(form: Any, adding: bool) -> tuple[dict[str, Any], str]:
    body: dict[str, Any] = {}
    for field, name in _TEXT.items():
        value = str(form.get(field, "")).strip()
        if value or (field in ("ca_pem", "user_domains") and not adding):
            body[name] = value
    if form.get("preset"):
        body["preset"] = str(form.get("preset"))
    if form.get("page_size"):
        try:
            body["pageSize"] = int(str(form.get("page_size")))
        except ValueError:
            body["pageSize"] = str(form.get("page_size"))
    body["startTls"] = form.get("start_tls") == "on"
    body["nestedGroups"] = form.get("nested_groups") == "on"
    mapping = str(form.get("mapping", "")).strip()
    if mapping and not (adding and form.get("keep_preset_mapping") == "on"):
        try:
            body["mapping"] = json.loads(mapping)
        except json.JSONDecodeError:
            body["mapping"] = "not JSON"
    return body, str(form.get("password", ""))


@console_page(changes=True)
async def save(request: Request, ctx: ConsoleContext) -> Response:
    form = await read_form(request)
    ldap, actor = ctx.hub.ldap, Actor(ctx.principal.name, tracking_id(request.scope))
    adding = ldap.get(ctx.org_id) is None
    body, password = _settings(form, adding)

    def act() -> Response:
        try:
            if adding:
                name = body.pop("name", None)
                ldap.add(ctx.org_id, body, password, actor=actor, name=name)
            else:
                ldap.update(ctx.org_id, body, actor=actor, password=password or None)
        except LdapError as err:
            return _page(request, ctx, error=err.description, status=400)
        return RedirectResponse("/console/settings/ldap?saved=1", 303)

    return await run_in_threadpool(act)


@console_page(changes=True)
async def action(request: Request, ctx: ConsoleContext) -> Response:
    """Test, dry run, sync now, enable, disable, remove, approve or discard held removals."""
    form = await read_form(request)
    what = request.path_params["action"]
    ldap, hub = ctx.hub.ldap, ctx.hub
    actor = Actor(ctx.principal.name, tracking_id(request.scope))

    def act() -> Response:
        source = ldap.get(ctx.org_id)
        try:
            if what == "test":
                report = ldap.test(ctx.org_id)
                if report.error is not None:
                    ldap.record_failure(
                        ctx.org_id,
                        source.id if source else None,
                        report.error,
                        operation="ldap test",
                        tracking_id=actor.tracking_id or "",
                    )
                return _page(request, ctx, test=report.as_json())
            if what == "dry-run":
                return _page(
                    request, ctx, dry_run=ldap.dry_run(ctx.org_id, full=form.get("full") == "on")
                )
            if what == "sync":
                counts = ldap.run(ctx.org_id, tracking_id=actor.tracking_id)
                return _page(request, ctx, counts=asdict(counts))
            if what in ("enable", "disable"):
                ldap.set_enabled(ctx.org_id, what == "enable", actor=actor)
            elif what == "remove":
                ldap.remove(ctx.org_id, actor=actor)
            elif what in ("approve", "discard") and source is not None:
                if what == "approve":
                    hub.brake.approve(ctx.org_id, source.id, ctx.loc, actor=actor)
                else:
                    hub.brake.discard(ctx.org_id, source.id, actor=actor)
            else:
                return _page(request, ctx, error="Unknown action.", status=404)
        except LdapError as err:
            if what == "sync" and source is not None:
                ldap.record_failure(
                    ctx.org_id,
                    source.id,
                    err,
                    operation="ldap round",
                    tracking_id=actor.tracking_id or "",
                )
            return _page(request, ctx, error=f"{err.description} TrackingID: {actor.tracking_id}")
        except ScimError as err:  # a round running while held removals are decided
            return _page(request, ctx, error=err.detail, status=409)
        return RedirectResponse(f"/console/settings/ldap?done={what}", 303)

    return await run_in_threadpool(act)


routes = [
    Route("/settings/ldap", show, methods=["GET"]),
    Route("/settings/ldap", save, methods=["POST"]),
    Route("/settings/ldap/{action:str}", action, methods=["POST"]),
]
