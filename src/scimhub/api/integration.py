"""The integration API the console calls: `/extIntegration/azureAD/{orgId}/v1/...`.

Errors use the envelope the seed shows, status = key:
`{"error": {"key": "401", "message": [{"code": "701018", "description": "...",
  "title": "..."}]}, "trackingId": "..."}`; `title` is what the console tells the admin.
Upstream details (AADSTS code, correlation ids) are recorded for the troubleshooter, never
sent to the browser beyond the description.

The routes marked `wizard` are the setup wizard's (set up, status, scope, mappings and their
preview): a setup link's restricted session may call them, and no other route.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..diagnose import FIXES, apply_fix, diagnose, explain_tracking_id
from ..directory.actor import Actor
from ..directory.events import Source, SourceKind, caused_by
from ..directory.instances import SCOPES, Dialect, Mode
from ..integrations.entra.audit_actions import AuditAction, record
from ..integrations.entra.errors import (
    BadRequest,
    Forbidden,
    IntegrationError,
    InternalError,
    MethodNotAllowed,
    NoSuchRoute,
    NotSignedIn,
    PayloadTooLarge,
)
from ..integrations.entra.failures import recording_failures
from ..integrations.entra.lookup import saved_instance
from ..integrations.entra.mappings import sources as mapping_sources
from ..integrations.entra.mappings import targets as mapping_targets
from ..integrations.entra.setup import SetupOptions
from .access import proven_org
from .auth import SESSION_COOKIE, SETUP_COOKIE, Refusal, Refused, authenticate, in_setup, signed_in
from .auth import Principal as Admin
from .body_limit import INTEGRATION_MAX_BYTES, BodyTooLarge, read_limited
from .declared import Body, Choice, Flag, Invalid, Query, Raw, Text, Word
from .operations import OBJECT, STRING, Described, Family, Op, obj
from .responses import JsonResponse
from .scim_endpoint import base_url
from .services import Hub
from .tracking import tracking_id

log = logging.getLogger("scimhub.integration")
# Where Entra returns the admin after the setup sign-in: the redirect URI the hub's
# integration app registers.
CONSENT_CALLBACK = "/extIntegration/azureAD/consent/callback"


def error_body(err: IntegrationError, tid: str) -> dict[str, Any]:
    return {
        "error": {
            "key": str(err.status),
            "message": [{"code": err.code, "description": err.description, "title": err.title}],
        },
        "trackingId": tid,
    }


def error_response(err: IntegrationError, tid: str) -> JsonResponse:
    return JsonResponse(error_body(err, tid), status_code=err.status, headers=err.headers)


PREFIX = "/extIntegration/"


def owns(path: str) -> bool:
    """Whether a path is the integration API's (and so answered in its envelope)."""
    return path.startswith(PREFIX)


def http_error_response(
    request: Request, status: int, headers: Mapping[str, str] | None = None
) -> JsonResponse:
    """Starlette's own refusals under `/extIntegration/` (no such route, a method the route
    does not take) in the integration API's envelope, with the `Allow` header of a 405."""
    err: IntegrationError
    if status == 405:
        err = MethodNotAllowed(request.method, (headers or {}).get("Allow", ""))
    elif status == 404:
        err = NoSuchRoute(request.url.path)
    else:
        err = BadRequest(f"The request was refused (HTTP {status})")
    body = error_body(err, tracking_id(request.scope))
    body["error"]["key"] = str(status)
    return JsonResponse(body, status_code=status, headers=dict(headers or {}))


def _authenticate(request: Request, hub: Hub, org_id: str, *, wizard: bool) -> Admin:
    """An admin token (scripts) or a console session with its CSRF token, from the hub's
    own origin (browsers); on a `wizard` route, a setup link's session on the same terms."""
    try:
        admin = authenticate(
            request,
            tokens=hub.tokens,
            sessions=hub.sessions,
            org_id=org_id,
            public_url=hub.settings.public_url,
            setup_links=hub.setup_links if wizard else None,
        )
    except Refused as refused:
        match refused.reason:
            case Refusal.SIGNED_OUT:
                raise NotSignedIn() from None
            case Refusal.FORGED:
                raise Forbidden(
                    "The request did not carry this session's CSRF token, or "
                    "came from another site."
                ) from None
    proven_org(request.scope, org_id)
    return admin


Handler = Callable[[Request, Hub, Admin, Actor], Any]


def endpoint(
    handler: Handler, *, writes: bool, wizard: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, run the (blocking) handler in a thread, render errors; upstream
    failures are recorded with the tracking id the admin sees. `wizard`: a setup link's
    restricted session may call it too."""

    async def run(request: Request) -> Response:
        hub: Hub = request.app.state.hub
        org_id = request.path_params["org_id"]
        tid = tracking_id(request.scope)

        def call(admin: Admin) -> Any:
            # Events recorded meanwhile (an integration error) name the admin; pull sync and
            # restores name their instance instead.
            with (
                caused_by(Source(SourceKind.ADMIN, admin.name, tracking_id=tid)),
                recording_failures(
                    hub.instances,
                    org_id,
                    request.path_params.get("instance_id"),
                    tracking_id=tid,
                    operation=request.url.path.rsplit("/v1/", 1)[-1][:64],
                ),
            ):
                return handler(request, hub, admin, Actor(admin.name, tid))

        try:
            admin = _authenticate(request, hub, org_id, wizard=wizard)
            if writes and admin.read_only:
                raise Forbidden()
            body = await _json(request) if request.method in ("POST", "PUT") else None
            request.state.body = body
            result = await run_in_threadpool(call, admin)
        except Invalid as exc:  # a declared body or query refused it (`declared.py`)
            return error_response(BadRequest(str(exc)), tid)
        except IntegrationError as err:
            log.info(
                "integration error %s %s tracking id %s upstream %s",
                err.status,
                err.code,
                tid,
                err.upstream.code,
            )
            return error_response(err, tid)
        except Exception:
            # A bug, not the caller's fault: the envelope and tracking id still, and the
            # traceback only in the log.
            log.exception("integration API failure, tracking id %s", tid)
            return error_response(InternalError(tid), tid)
        if result is None:
            return Response(status_code=204)
        return JsonResponse({**result, "trackingId": tid})

    return run


async def _json(request: Request) -> Any:
    try:
        raw = await read_limited(request, INTEGRATION_MAX_BYTES)
    except BodyTooLarge as exc:
        raise PayloadTooLarge(exc.limit) from None
    if not raw:
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("The request body is not valid JSON.") from None


def _callback_uri(request: Request, hub: Hub) -> str:
    return f"{base_url(request, hub)}{CONSENT_CALLBACK}"


# What each body takes, read by its handler and documented from the same values. Members
# they do not name are ignored (the console may send more), so the bodies are open.
MAPPINGS: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"source": {"type": "string"}, "target": {"type": "string"}},
        "required": ["source", "target"],
    },
    "description": "exactly one mapping targets userName",
}
SCOPE = Choice("scope", tuple(SCOPES), doc="which users Entra provisions")
ENABLED = Body(Flag("enabled"), closed=False)
SETUP = Body(
    Text(
        "tenant",
        most=128,
        default="",
        doc="the Entra tenant to sign in to (its id or domain; blank or absent: common)",
    ),
    Choice("scope", tuple(SCOPES), "assigned"),
    Choice("mode", tuple(Mode), Mode.PUSH),
    Choice("dialect", tuple(Dialect), Dialect.DEFAULT),
    Raw("mappings", MAPPINGS),
    closed=False,
    optional=True,
)
ON_DEMAND = Body(Raw("userId", {"type": "string", "minLength": 1}), closed=False)
SCOPE_BODY = Body(SCOPE, closed=False)
MAPPINGS_BODY = Body(Raw("mappings", MAPPINGS, required=True), closed=False)
PREVIEW = Body(
    Raw("scope", {"type": "string", "enum": list(SCOPES)}),
    Raw("mappings", MAPPINGS),
    closed=False,
    doc="what is left out stays as saved",
)
DIAGNOSIS = Query(Word("trackingId", least=0, most=128, doc="explain this request too"))
FIX = Body(Choice("fix", tuple(FIXES)), Raw("instanceId", {"type": "string"}), closed=False)


# -- handlers (run in a worker thread) ----------------------------------------------------


def status(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    doc = hub.entra.status.org(admin.org_id)
    held = hub.brake.held_counts(admin.org_id)  # the deletion brake's, waiting for an admin
    for instance in doc["instances"]:
        instance["deletionsHeld"] = held.get(instance["id"], 0)
    return doc


def setup(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    body = request.state.body or {}
    tenant = SETUP.read(body)["tenant"] or "common"
    url = hub.entra.setup.begin(
        admin.org_id,
        actor,
        redirect_uri=_callback_uri(request, hub),
        tenant=tenant,
        session_hash=admin.session_hash,
        options=SetupOptions.parse(body),
    )
    return {"consentUrl": url}


def allow_sync(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    return hub.entra.control.allow_sync(
        admin.org_id,
        ENABLED.read(request.state.body)["enabled"],
        actor,
        hub_url=base_url(request, hub),
    )


def auto_sync(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    return hub.entra.control.set_auto_sync(
        admin.org_id,
        request.path_params["instance_id"],
        ENABLED.read(request.state.body)["enabled"],
        actor,
    )


def sync_now(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    """Push instances: restart Entra's job. Pull instances: run a delta round now."""
    iid = request.path_params["instance_id"]
    instance = saved_instance(hub.instances, admin.org_id, iid)
    if instance.mode == Mode.PULL:
        counts = hub.pull.run(admin.org_id, iid, tracking_id=actor.tracking_id)
        record(
            hub.audit,
            admin.org_id,
            actor,
            AuditAction.PULL_SYNC,
            target=instance.name,
            detail=asdict(counts),
        )
        return {
            **hub.entra.status.instance(saved_instance(hub.instances, admin.org_id, iid)),
            "pull": asdict(counts),
        }
    return hub.entra.control.sync_now(admin.org_id, iid, actor)


def on_demand(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    body = ON_DEMAND.read(request.state.body)
    return hub.entra.control.provision_on_demand(
        admin.org_id, request.path_params["instance_id"], body.get("userId"), actor
    )


def scope(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    iid = request.path_params["instance_id"]
    if request.method == "GET":
        return {"scope": saved_instance(hub.instances, admin.org_id, iid).scope}
    doc = hub.entra.control.set_scope(
        admin.org_id,
        iid,
        SCOPE_BODY.read(request.state.body)["scope"],
        actor,
        hub_url=base_url(request, hub),
    )
    return {"scope": doc["scope"]}


def mapping_list(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    """The instance's mappings, and the targets an editor offers for them (the org's own
    User attributes among them)."""
    iid = request.path_params["instance_id"]
    if request.method == "GET":
        chosen = saved_instance(hub.instances, admin.org_id, iid).mappings
    else:
        chosen = hub.entra.control.set_mappings(
            admin.org_id, iid, MAPPINGS_BODY.read(request.state.body)["mappings"], actor
        )["mappings"]
    custom = [d.definition for d in hub.attributes.definitions(admin.org_id, "User")]
    return {"mappings": chosen, "targets": mapping_targets(custom)}


def sources(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    """What a mapping may read: Entra's user properties and the tenant's extensions."""
    instance = saved_instance(hub.instances, admin.org_id, request.path_params["instance_id"])
    probe = hub.entra.reader.tenant(instance.tenant_id)
    return {"sources": mapping_sources(probe.extension_properties())}


def preview(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    """What a scope or mapping change would do (`{"scope"?, "mappings"?}`), nothing written."""
    iid = request.path_params["instance_id"]
    PREVIEW.read(request.state.body)
    return hub.preview.preview(admin.org_id, iid, request.state.body).as_json()


def disconnect(request: Request, hub: Hub, admin: Admin, actor: Actor) -> None:
    hub.entra.control.disconnect(admin.org_id, request.path_params["instance_id"], actor)


def diagnosis(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    """The troubleshooter's report; `?trackingId=` adds what that request was."""
    tid = DIAGNOSIS.read(request.query_params)["trackingId"] or ""
    report = explain_tracking_id(hub, admin.org_id, tid) if tid else diagnose(hub, admin.org_id)
    return report.as_json()


def diagnosis_fix(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    """Apply one fix a finding offers (`{"fix": id, "instanceId": ...}`), then re-check."""
    body = FIX.read(request.state.body)
    fix, instance_id = body["fix"], body.get("instanceId")
    result = apply_fix(
        hub, admin.org_id, fix, actor=actor, hub_url=base_url(request, hub), instance_id=instance_id
    )
    return {
        "result": {
            "fix": result.fix,
            "instanceId": result.instance_id,
            "ok": result.ok,
            "message": result.message,
        },
        "report": diagnose(hub, admin.org_id).as_json(),
    }


def _returns_to(request: Request, hub: Hub) -> str:
    """Where the browser goes back after the callback: the setup wizard for a setup link's
    session (which no console page would let in), else the console's settings. Only where
    it is shown: which session may finish is the state's to say."""
    if signed_in(request, hub.sessions) is None and in_setup(request, hub.setup_links):
        return "/console/setup"
    return "/console/settings"


async def consent_callback(request: Request) -> Response:
    """Where Entra sends the admin back after the sign-in and consent pages. The query
    carries a code and the state; the tenant comes from the ID token the code redeems."""
    hub: Hub = request.app.state.hub
    tid = tracking_id(request.scope)
    cookies = (request.cookies.get(SESSION_COOKIE), request.cookies.get(SETUP_COOKIE))
    hashes = [hashlib.sha256(c.encode()).hexdigest() for c in cookies if c]
    query = dict(request.query_params)
    back = await run_in_threadpool(_returns_to, request, hub)
    try:
        await run_in_threadpool(
            lambda: hub.entra.setup.finish(
                query, hub_url=base_url(request, hub), session_hashes=hashes, tracking_id=tid
            )
        )
    except IntegrationError as err:
        log.info("consent callback failed %s %s tracking id %s", err.status, err.code, tid)
        if "application/json" in request.headers.get("accept", ""):
            return error_response(err, tid)
        return RedirectResponse(
            f"{back}?azure=error&trackingId={tid}&code={err.code}", status_code=303
        )
    if "application/json" in request.headers.get("accept", ""):
        return JsonResponse({"result": "connected", "trackingId": tid})
    return RedirectResponse(f"{back}?azure=connected", status_code=303)


Endpoint = Callable[[Request], Awaitable[Response]]


def by_method(**endpoints: Endpoint) -> Endpoint:
    """One route for a path whose methods differ in what they need (a read, a write): so a
    405 there names every method the path takes in `Allow`, not just the first route's."""

    async def run(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await endpoints[method](request)

    return run


V1 = "/extIntegration/azureAD/{org_id}/v1"
_INSTANCE = f"{V1}/instances/{{instance_id}}"
# Answers that go to Entra may be refused there: reconsent (401), throttled (429), gone
# (404), unexpected (502), unavailable (503), or the hub not configured for it (412).
ENTRA = (404, 409, 412, 429, 502, 503)
_TAG = "Integration: Azure AD"
STATUS = obj("instances", instances={"type": "array"})
MAPPING_VIEW = obj("mappings", "targets", mappings=MAPPINGS, targets={"type": "array"})


def _route(path: str, run: Endpoint, **ops: Op) -> Described:
    return Described(path, run, family=Family.INTEGRATION, tag=_TAG, **ops)


routes = [
    Described(
        CONSENT_CALLBACK,
        consent_callback,
        family=Family.BROWSER,
        tag=_TAG,
        GET=Op(
            "Where Entra returns the admin after sign-in and consent",
            obj("result", result=STRING),
            errors=(303, 400, 401, 404, 409, 412, 429, 502, 503),
            doc="A browser is redirected (303) to the console; with `Accept: application/"
            "json`, the result or the error envelope.",
        ),
    ),
    _route(
        f"{V1}/status",
        endpoint(status, writes=False, wizard=True),
        GET=Op("The integration's status and each instance's", STATUS, errors=ENTRA),
    ),
    _route(
        f"{V1}/setup",
        endpoint(setup, writes=True, wizard=True),
        POST=Op(
            "Start the consent wizard",
            obj("consentUrl", consentUrl=STRING),
            body=SETUP,
            errors=ENTRA,
        ),
    ),
    _route(
        f"{V1}/allowSync",
        endpoint(allow_sync, writes=True),
        POST=Op("Allow Azure AD sync, or pause it", OBJECT, body=ENABLED, errors=ENTRA),
    ),
    _route(
        f"{_INSTANCE}/autoSync",
        endpoint(auto_sync, writes=True),
        POST=Op("Start or pause an instance's job", OBJECT, body=ENABLED, errors=ENTRA),
    ),
    _route(
        f"{_INSTANCE}/syncNow",
        endpoint(sync_now, writes=True),
        POST=Op("Push: restart Entra's job; pull: run a round now", OBJECT, errors=ENTRA),
    ),
    _route(
        f"{_INSTANCE}/provisionOnDemand",
        endpoint(on_demand, writes=True),
        POST=Op("Provision one Entra user now", OBJECT, body=ON_DEMAND, errors=ENTRA),
    ),
    _route(
        f"{_INSTANCE}/scope",
        by_method(
            GET=endpoint(scope, writes=False, wizard=True),
            PUT=endpoint(scope, writes=True, wizard=True),
        ),
        GET=Op("The instance's scope", obj("scope", scope=STRING), errors=ENTRA),
        PUT=Op(
            "Change the scope (rotates the job's token, restarts it)",
            obj("scope", scope=STRING),
            body=SCOPE_BODY,
            errors=ENTRA,
        ),
    ),
    _route(
        f"{_INSTANCE}/mappings",
        by_method(
            GET=endpoint(mapping_list, writes=False, wizard=True),
            PUT=endpoint(mapping_list, writes=True, wizard=True),
        ),
        GET=Op("The instance's mappings and the targets offered", MAPPING_VIEW, errors=ENTRA),
        PUT=Op(
            "Change the mappings (rewrites the job's schema)",
            MAPPING_VIEW,
            body=MAPPINGS_BODY,
            errors=ENTRA,
        ),
    ),
    _route(
        f"{_INSTANCE}/mappingSources",
        endpoint(sources, writes=False, wizard=True),
        GET=Op("What a mapping may read", obj("sources"), errors=ENTRA),
    ),
    _route(
        f"{_INSTANCE}/preview",
        endpoint(preview, writes=False, wizard=True),
        POST=Op("What a scope or mapping change would do", OBJECT, body=PREVIEW, errors=ENTRA),
    ),
    _route(
        _INSTANCE,
        endpoint(disconnect, writes=True),
        DELETE=Op("Disconnect an instance", None, ok=204, errors=ENTRA),
    ),
    _route(
        f"{V1}/diagnosis",
        endpoint(diagnosis, writes=False),
        GET=Op("The troubleshooter's report", OBJECT, query=DIAGNOSIS, errors=ENTRA),
    ),
    _route(
        f"{V1}/diagnosis/fix",
        endpoint(diagnosis_fix, writes=True),
        POST=Op(
            "Apply one fix a finding offers, then check again",
            obj("result", "report", result=OBJECT, report=OBJECT),
            body=FIX,
            errors=ENTRA,
        ),
    ),
]
