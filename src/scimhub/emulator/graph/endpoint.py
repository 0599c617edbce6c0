"""Wraps every Graph handler: request ids, bearer-token validation, app-role checks,
fault injection, and the rule that any failure leaves in Graph's error shape."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
import orjson
from starlette.requests import Request
from starlette.responses import Response

from .. import faults
from ..apps import get_sp
from ..context import Emulator
from ..directory import DirectoryError
from ..tokens import verify
from .errors import GraphError, denied

log = logging.getLogger("scimhub.emulator.graph")


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    app_id: str
    sp_id: str
    app_name: str
    roles: frozenset[str]


Handler = Callable[[Request, Caller], Awaitable[Any]]


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _unauthorized(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message)


def authenticate(emu: Emulator, request: Request) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not token or scheme.lower() != "bearer":
        raise _unauthorized("Access token is empty.")
    try:
        claims = verify(token.strip(), emu.key, emu.base_url)
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("Lifetime validation failed, the token is expired.") from exc
    except jwt.InvalidAudienceError as exc:
        raise _unauthorized("Access token validation failure. Invalid audience.") from exc
    except jwt.DecodeError as exc:
        raise _unauthorized("IDX14100: JWT is not well formed.") from exc
    except jwt.InvalidTokenError as exc:
        raise _unauthorized("Access token validation failure.") from exc
    if claims.get("idtyp") == "user":
        raise _unauthorized(
            "Access token validation failure. The emulator's Graph serves "
            "app-only tokens; delegated (user) tokens are not supported."
        )
    # Unlike real Entra, which honours a token until it expires, the emulator revokes a
    # token as soon as its service principal is deleted or disabled: tests see the effect
    # of an admin's action at once instead of an hour later.
    with emu.engine.connect() as conn:
        sp = get_sp(conn, claims["tid"], claims.get("oid", ""))
    if sp is None or not sp.account_enabled:
        raise _unauthorized(
            "Access token validation failure. The service principal of the "
            "calling application was deleted or disabled."
        )
    return Caller(
        claims["tid"],
        claims["appid"],
        sp.id,
        claims.get("app_displayname", ""),
        frozenset(claims.get("roles", [])),
    )


def graph_endpoint(
    emu: Emulator, handler: Handler, *roles: str
) -> Callable[[Request], Awaitable[Response]]:
    """`roles`: the caller needs at least one of them (Graph's least-privilege lists)."""

    async def endpoint(request: Request) -> Response:
        request_id = str(uuid.uuid4())
        client_request_id = request.headers.get("client-request-id", request_id)
        ids = {"request-id": request_id, "client-request-id": client_request_id}
        try:
            caller = authenticate(emu, request)
            if roles and not caller.roles & set(roles):
                raise denied()
            with emu.engine.begin() as conn:
                injection = faults.draw(conn, caller.tenant_id)
            if injection.latency_ms:
                await asyncio.sleep(injection.latency_ms / 1000)
            if injection.status == 429:
                raise GraphError(
                    429,
                    "TooManyRequests",
                    "Too many requests. Please retry after some time.",
                    {"Retry-After": str(injection.retry_after)},
                )
            if injection.status:
                raise GraphError(
                    injection.status,
                    "ServiceUnavailable" if injection.status == 503 else "InternalServerError",
                    "Injected failure.",
                )
            result = await handler(request, caller)
        except GraphError as err:
            return err.response(request_id, client_request_id)
        except DirectoryError as err:
            return GraphError(err.status, err.code, str(err)).response(
                request_id, client_request_id
            )
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.url.path)
            return GraphError(500, "InternalServerError", "An internal error occurred.").response(
                request_id, client_request_id
            )
        if isinstance(result, Response):
            result.headers.update(ids)
            return result
        status = 201 if request.method == "POST" and isinstance(result, dict) else 200
        return JsonResponse(result, status_code=status, headers=ids)

    return endpoint


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, or Graph's 400 for anything else."""
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError as exc:
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please "
            "ensure Content-Type header is set and payload is of valid JSON format.",
        ) from exc
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "The request payload must be a JSON object.")
    return body


def no_content() -> Response:
    return Response(status_code=204)
