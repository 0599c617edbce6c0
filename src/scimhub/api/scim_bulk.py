"""`POST /Bulk` (RFC 7644 §3.7): operations run in order, each in its own transaction;
`bulkId:` references are resolved from earlier results, and an operation whose reference is
created by a later operation waits until it is (forward references, §3.7.1)."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..directory.request_log import RequestEntry
from ..scim import bulk
from ..scim.errors import Conflict, InvalidPath, ScimError, UndefinedAttribute
from ..store.engine import event_time
from .body import read_json
from .responses import ScimResponse
from .scim_endpoint import ScimContext, scim_endpoint
from .tracking import tracking_id

Refusal = tuple[bulk.BulkOperation, UndefinedAttribute]


def _run(ctx: ScimContext, op: bulk.BulkOperation, resolved: dict[str, str]) -> bulk.BulkResult:
    """Run one operation. Raises bulk.UnresolvedBulkId while a reference is pending."""
    rid = bulk.substitute_bulk_ids(op.resource_id, resolved) if op.resource_id else None
    data = bulk.substitute_bulk_ids(op.data, resolved) if op.data is not None else None
    service: Any = ctx.hub.users if op.resource_type.is_user else ctx.hub.groups
    if op.method == "POST":
        doc = service.create(ctx.org_id, data, ctx.loc)
        if op.bulk_id:
            resolved[op.bulk_id] = doc["id"]
        return bulk.BulkResult(
            "POST", 201, op.bulk_id, doc["meta"]["version"], doc["meta"]["location"]
        )
    if rid is None:
        raise InvalidPath(f"{op.method} needs a resource id in its path")
    if op.method == "DELETE":
        service.delete(ctx.org_id, rid, if_match=op.version, loc=ctx.loc)
        return bulk.BulkResult(
            "DELETE", 204, op.bulk_id, location=ctx.loc.location(op.resource_type.name, rid)
        )
    write = service.replace if op.method == "PUT" else service.patch
    doc = write(ctx.org_id, rid, data, ctx.loc, if_match=op.version)
    return bulk.BulkResult(
        op.method, 200, op.bulk_id, doc["meta"]["version"], doc["meta"]["location"]
    )


def _failure(op: bulk.BulkOperation, exc: ScimError) -> bulk.BulkResult:
    return bulk.BulkResult(op.method, exc.status, op.bulk_id, response=exc.body())


@scim_endpoint("Bulk")
async def post_bulk(request: Request, ctx: ScimContext) -> Response:
    body = await read_json(request, limit=ctx.hub.settings.max_payload_bytes)
    refused: list[Refusal] = []
    # Up to maxOperations writes, each maybe hashing a password: never on the event loop.
    response = await ctx.hub.offload.run(ctx.org_id, True, partial(_bulk, ctx, body, refused))
    _record_refusals(request, ctx, refused)
    return response


def _record_refusals(request: Request, ctx: ScimContext, refused: list[Refusal]) -> None:
    """Operations refused for naming an undefined attribute are logged one by one, as the
    same write outside a Bulk request is, for the troubleshooter to count."""
    base = request.url.path.removesuffix("/Bulk")
    for op, exc in refused:
        subject = exc.subject or op.resource_id
        ctx.hub.requests.record(
            RequestEntry(
                org_id=ctx.org_id,
                time=event_time(),
                method=op.method,
                path=f"{base}{op.path}"[:2000],
                resource_type=op.resource_type.name,
                status=exc.status,
                scim_type=exc.scim_type,
                duration_ms=0,
                tracking_id=tracking_id(request.scope),
                client=request.headers.get("user-agent", "")[:256] or None,
                token_id=ctx.token.id,
                undefined_attribute=exc.name[:330],
                subject=subject[:512] if subject else None,
            )
        )


def _bulk(ctx: ScimContext, body: Any, refused: list[Refusal]) -> Response:
    req = bulk.parse_bulk(body, max_operations=ctx.hub.settings.max_bulk_operations)
    limit = req.fail_on_errors
    resolved: dict[str, str] = {}
    results: dict[int, bulk.BulkResult] = {}
    errors = 0
    waiting = list(enumerate(req.operations))
    while waiting and not (limit and errors >= limit):
        pending = []
        for index, op in waiting:
            if limit and errors >= limit:
                break
            try:
                results[index] = _run(ctx, op, resolved)
            except bulk.UnresolvedBulkId:
                pending.append((index, op))
            except ScimError as exc:
                errors += 1
                results[index] = _failure(op, exc)
                if isinstance(exc, UndefinedAttribute) and op.method != "DELETE":
                    refused.append((op, exc))
        if len(pending) == len(waiting):  # no progress: these references never resolve
            for index, op in pending:
                errors += 1
                results[index] = _failure(
                    op,
                    Conflict(
                        "the bulkId this operation refers to is never created, or the "
                        "references are circular"
                    ),
                )
            break
        waiting = pending
    return ScimResponse(bulk.bulk_response([results[i] for i in sorted(results)]))


routes = [Route("/Bulk", post_bulk, methods=["POST"])]
