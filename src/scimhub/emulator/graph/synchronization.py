"""/v1.0/servicePrincipals/{id}/synchronization/...: templates, jobs, schema, start,
pause, restart, provisionOnDemand, validateCredentials and secrets."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import audit
from ..constants import PROVISIONING_TEMPLATE_ID, SYNC_TEMPLATE_ID
from ..context import Emulator
from ..provisioning import jobs
from ..provisioning.dialects import parse_base
from ..provisioning.mappings import default_schema
from ..provisioning.scheduler import Scheduler
from ..provisioning.scim_client import ScimClient, TargetError
from ..schema import sync_jobs
from .endpoint import Caller, JsonResponse, graph_endpoint, json_body, no_content
from .errors import GraphError, bad_request
from .service_principals import require_owned_sp

ROLES = (
    "Application.ReadWrite.OwnedBy",
    "Application.ReadWrite.All",
    "Synchronization.ReadWrite.All",
)
PREFIX = "/v1.0/servicePrincipals/{id}/synchronization"


def _template(sp: Any) -> dict[str, Any]:
    return {
        "id": SYNC_TEMPLATE_ID,
        "applicationId": sp.app_id,
        "default": True,
        "description": "Provision users and groups to scimhub over SCIM 2.0.",
        "discoverable": True,
        "factoryTag": SYNC_TEMPLATE_ID,
        "metadata": [{"key": "GalleryApplicationIdentifier", "value": PROVISIONING_TEMPLATE_ID}],
        "schema": default_schema(),
    }


def routes(emu: Emulator, scheduler: Scheduler) -> list[Route]:
    base = emu.base_url

    def initiator(caller: Caller) -> dict[str, Any]:
        return audit.app_initiator(caller.app_id, caller.app_name, caller.sp_id)

    def job_of(conn: Any, request: Request, caller: Caller) -> Any:
        sp = require_owned_sp(conn, caller, request.path_params["id"])
        return jobs.find_job(conn, sp.id, request.path_params["job"])

    async def templates(request: Request, caller: Caller) -> dict[str, Any]:
        with emu.engine.connect() as conn:
            sp = require_owned_sp(conn, caller, request.path_params["id"])
        value = [_template(sp)] if sp.application_template_id == PROVISIONING_TEMPLATE_ID else []
        return {
            "@odata.context": f"{base}/v1.0/$metadata#servicePrincipals('{sp.id}')/"
            "synchronization/templates",
            "value": value,
        }

    async def list_jobs(request: Request, caller: Caller) -> dict[str, Any]:
        with emu.engine.connect() as conn:
            sp = require_owned_sp(conn, caller, request.path_params["id"])
            rows = conn.execute(sync_jobs.select().where(sync_jobs.c.sp_id == sp.id)).all()
        return {
            "@odata.context": f"{base}/v1.0/$metadata#servicePrincipals('{sp.id}')/"
            "synchronization/jobs",
            "value": [jobs.job_to_graph(r, emu.cycle_seconds) for r in rows],
        }

    async def create_job(request: Request, caller: Caller) -> dict[str, Any]:
        body = await json_body(request)
        if body.get("templateId") != SYNC_TEMPLATE_ID:
            raise bad_request(
                f"Template '{body.get('templateId')}' not found for this application.", "BadRequest"
            )
        with emu.engine.begin() as conn:
            sp = require_owned_sp(conn, caller, request.path_params["id"])
            if sp.application_template_id != PROVISIONING_TEMPLATE_ID:
                raise bad_request("This application does not support provisioning.")
            row = jobs.create_job(conn, sp, SYNC_TEMPLATE_ID)
        return jobs.job_to_graph(row, emu.cycle_seconds)

    async def get_job(request: Request, caller: Caller) -> dict[str, Any]:
        with emu.engine.connect() as conn:
            row = job_of(conn, request, caller)
        return jobs.job_to_graph(row, emu.cycle_seconds)

    async def delete_job(request: Request, caller: Caller) -> Response:
        with emu.engine.begin() as conn:
            jobs.delete_job(conn, job_of(conn, request, caller), initiator(caller))
        return no_content()

    async def get_schema(request: Request, caller: Caller) -> dict[str, Any]:
        with emu.engine.connect() as conn:
            return jobs.schema_of(job_of(conn, request, caller))

    async def put_schema(request: Request, caller: Caller) -> Response:
        body = await json_body(request)
        with emu.engine.begin() as conn:
            jobs.put_schema(conn, job_of(conn, request, caller), body, initiator(caller))
        return no_content()

    async def start(request: Request, caller: Caller) -> Response:
        with emu.engine.begin() as conn:
            jobs.start(conn, job_of(conn, request, caller), initiator(caller))
        scheduler.wake()
        return no_content()

    async def pause(request: Request, caller: Caller) -> Response:
        with emu.engine.begin() as conn:
            jobs.pause(conn, job_of(conn, request, caller), initiator(caller))
        return no_content()

    async def restart(request: Request, caller: Caller) -> Response:
        body = await json_body(request)
        criteria = body.get("criteria") or {}
        scope = criteria.get("resetScope") if isinstance(criteria, dict) else None
        if scope is not None and not isinstance(scope, str):
            raise bad_request("criteria.resetScope must be a string.")
        with emu.engine.begin() as conn:
            jobs.restart(conn, job_of(conn, request, caller), scope, initiator(caller))
        scheduler.wake()
        return no_content()

    async def on_demand(request: Request, caller: Caller) -> Response:
        body = await json_body(request)
        try:
            subject = body["parameters"][0]["subjects"][0]
            kind, object_id = subject["objectTypeName"], subject["objectId"]
        except (KeyError, IndexError, TypeError) as exc:
            raise bad_request(
                "parameters[0].subjects[0] with objectId and objectTypeName is required."
            ) from exc
        if kind not in ("User", "Group") or not isinstance(object_id, str):
            raise bad_request(f"Unsupported objectTypeName '{kind}'.")
        with emu.engine.connect() as conn:
            job = job_of(conn, request, caller)
            if not jobs.get_secrets(conn, job.sp_id).get("BaseAddress"):
                raise bad_request("The job has no tenant URL (BaseAddress).")
        if not scheduler.allow_on_demand(job.id):
            raise GraphError(
                429,
                "TooManyRequests",
                "Provision on demand is limited to 5 requests per 10 seconds.",
                {"Retry-After": "10"},
            )
        entries = await scheduler.run(job.id, only=(kind, object_id))
        if not entries:
            entries = [
                {
                    "provisioningAction": "other",
                    "provisioningStatusInfo": {"status": "skipped", "errorInformation": None},
                    "sourceIdentity": {"id": object_id, "identityType": kind},
                    "provisioningSteps": [],
                }
            ]
        return JsonResponse(
            {
                "@odata.context": f"{base}/v1.0/$metadata#microsoft.graph.stringKeyStringValuePair",
                "key": str(uuid.uuid4()),
                "value": orjson.dumps(entries[-1]).decode(),
            }
        )

    async def validate_credentials(request: Request, caller: Caller) -> Response:
        body = await json_body(request)
        with emu.engine.connect() as conn:
            job = job_of(conn, request, caller)
            saved = jobs.get_secrets(conn, job.sp_id)
        creds = saved if body.get("useSavedCredentials") else {}
        for pair in body.get("credentials") or []:
            if isinstance(pair, dict) and isinstance(pair.get("key"), str):
                creds[pair["key"]] = str(pair.get("value", ""))
        if not creds.get("BaseAddress"):
            raise bad_request("The tenant URL (BaseAddress) is required.")
        # "Test connection": look up a random userName and expect an empty list.
        base_url, _ = parse_base(creds["BaseAddress"])
        client = ScimClient(
            base_url, creds.get("SecretToken", ""), concurrency=1, retries=0, timeout=10
        )
        try:
            reply = await client.call(
                "GET", "/Users", params={"filter": f'userName eq "{uuid.uuid4()}"'}
            )
            if "totalResults" not in reply.body:
                raise TargetError(reply.status, "The response is not a SCIM ListResponse.")
        except TargetError as err:
            raise GraphError(
                400,
                "CredentialValidationUnavailable",
                f"You appear to have entered invalid credentials. {err.detail}",
            ) from err
        finally:
            await client.close()
        return no_content()

    async def put_secrets(request: Request, caller: Caller) -> Response:
        body = await json_body(request)
        pairs = body.get("value")
        if not isinstance(pairs, list) or not all(isinstance(p, dict) for p in pairs):
            raise bad_request('The body must be {"value": [{"key": ..., "value": ...}]}.')
        with emu.engine.begin() as conn:
            sp = require_owned_sp(conn, caller, request.path_params["id"])
            jobs.put_secrets(conn, sp, pairs, initiator(caller))
        return no_content()

    def r(path: str, handler: Any, method: str = "GET") -> Route:
        return Route(PREFIX + path, graph_endpoint(emu, handler, *ROLES), methods=[method])

    return [
        r("/templates", templates),
        r("/jobs", list_jobs),
        r("/jobs", create_job, "POST"),
        r("/jobs/{job}", get_job),
        r("/jobs/{job}", delete_job, "DELETE"),
        r("/jobs/{job}/schema", get_schema),
        r("/jobs/{job}/schema", put_schema, "PUT"),
        r("/jobs/{job}/start", start, "POST"),
        r("/jobs/{job}/pause", pause, "POST"),
        r("/jobs/{job}/restart", restart, "POST"),
        r("/jobs/{job}/provisionOnDemand", on_demand, "POST"),
        r("/jobs/{job}/validateCredentials", validate_credentials, "POST"),
        r("/secrets", put_secrets, "PUT"),
    ]
