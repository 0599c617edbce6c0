"""An organisation's credentials in the operator API (docs/operations.md): its SCIM and
admin tokens, and its console administrators. For an operator token, in the `/api/v1`
envelope (`operator_auth.py`).

    GET    /api/v1/orgs/{id}/tokens             {"data": [token, ...]} (never a secret)
    POST   /api/v1/orgs/{id}/tokens             {"name", "scope"?, "admin"?, "expiresInDays"?}
                                                -> 201, with "token": the secret, once
    DELETE /api/v1/orgs/{id}/tokens/{tokenId}   revoked -> the token
    GET    /api/v1/orgs/{id}/admins             {"data": [admin, ...]}
    POST   /api/v1/orgs/{id}/admins             {"email", "password", "role"?, "displayName"?}
                                                -> 201, the admin

Every change is audited in the organisation's trail, naming the operator token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..directory.admins import AdminError, AdminExists, AdminInfo
from ..directory.errors import OrgNotFound
from ..directory.roles import Role
from ..directory.tokens import TokenInfo, TokenKind, TokenScope
from .declared import Body, Choice, Flag, Number, Secret, Text
from .operations import NULLABLE_STRING, STRING, Described, Family, Op, listing, obj
from .operator_auth import OperatorContext, operator_endpoint
from .orgs import ONE, missing, org_id_of
from .responses import JsonResponse
from .v1 import BadRequest, Conflict, NotFound
from .v1_input import read_object

MAX_EXPIRY_DAYS = 3650
# Longest password accepted: argon2 hashes any length, so this only bounds the work.
MAX_PASSWORD = 1024


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def token_json(t: TokenInfo) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "kind": t.kind,
        "scope": t.scope,
        "prefix": t.prefix,
        "created": _iso(t.created),
        "expiresAt": _iso(t.expires_at),
        "revokedAt": _iso(t.revoked_at),
    }


def admin_json(a: AdminInfo) -> dict[str, Any]:
    return {
        "id": a.id,
        "email": a.email,
        "displayName": a.display_name,
        "role": a.role,
        "created": _iso(a.created),
        "lastLogin": _iso(a.last_login),
    }


@dataclass(frozen=True, slots=True)
class TokenBody:
    """`POST /orgs/{id}/tokens`: `name` (1-256 characters, default "SCIM client"), `scope`
    "write" (default) or "read", `admin` false (a SCIM token, the default) or true (the
    organisation's admin APIs), `expiresInDays` 1-3650 (default: never)."""

    name: str
    scope: TokenScope
    kind: TokenKind
    expires_in: timedelta | None

    BODY = Body(
        Text("name", most=256, default="SCIM client"),
        Choice("scope", tuple(TokenScope), TokenScope.WRITE),
        Flag("admin", False, doc="an admin token (the organisation's admin APIs), not SCIM"),
        Number("expiresInDays", least=1, most=MAX_EXPIRY_DAYS, doc="default: never expires"),
    )

    @classmethod
    def parse(cls, body: Any) -> TokenBody:
        v = cls.BODY.read(body)
        days = v["expiresInDays"]
        return cls(
            v["name"],
            TokenScope(v["scope"]),
            TokenKind.ADMIN if v["admin"] else TokenKind.SCIM,
            timedelta(days=days) if days else None,
        )


@dataclass(frozen=True, slots=True)
class AdminBody:
    """`POST /orgs/{id}/admins`: `email`, `password` (12+ characters), `role` "admin"
    (default) or "readonly", `displayName` (default: the email's local part)."""

    email: str
    password: str
    role: Role
    display_name: str | None

    BODY = Body(
        Text("email", most=320),
        Secret("password", most=MAX_PASSWORD, doc="12 characters or more"),
        Choice("role", tuple(Role), Role.ADMIN),
        Text("displayName", most=256, default="", doc="default: the email's local part"),
    )

    @classmethod
    def parse(cls, body: Any) -> AdminBody:
        v = cls.BODY.read(body)
        return cls(v["email"], v["password"], Role(v["role"]), v["displayName"] or None)


@operator_endpoint
async def tokens(request: Request, ctx: OperatorContext) -> Response:
    org_id, hub = org_id_of(request), ctx.hub
    try:
        if request.method == "GET":
            await ctx.off_loop(lambda: hub.orgs.get(org_id))
            found = await ctx.off_loop(lambda: hub.tokens.list(org_id))
            return JsonResponse({"data": [token_json(t) for t in found]})
        body = TokenBody.parse(await read_object(request))
        secret, info = await ctx.off_loop(
            lambda: hub.tokens.create(
                org_id,
                name=body.name,
                kind=body.kind,
                expires_in=body.expires_in,
                scope=body.scope,
                actor=ctx.actor,
            )
        )
    except OrgNotFound:
        raise missing(org_id) from None
    return JsonResponse({**token_json(info), "token": secret}, status_code=201)


@operator_endpoint
async def revoke_token(request: Request, ctx: OperatorContext) -> Response:
    org_id, hub = org_id_of(request), ctx.hub
    token_id = str(request.path_params["token_id"])[:64]
    try:
        revoked = await ctx.off_loop(lambda: hub.tokens.revoke(org_id, token_id, actor=ctx.actor))
    except OrgNotFound:
        raise NotFound(f"no token {token_id} in organisation {org_id}") from None
    return JsonResponse(token_json(revoked))


@operator_endpoint
async def admins(request: Request, ctx: OperatorContext) -> Response:
    org_id, hub = org_id_of(request), ctx.hub
    try:
        if request.method == "GET":
            await ctx.off_loop(lambda: hub.orgs.get(org_id))
            found = await ctx.off_loop(lambda: hub.admins.list(org_id))
            return JsonResponse({"data": [admin_json(a) for a in found]})
        body = AdminBody.parse(await read_object(request))
        created = await ctx.off_loop(  # argon2: ~50 ms of CPU
            lambda: hub.admins.create(
                org_id,
                body.email,
                body.password,
                body.role,
                body.display_name,
                actor=ctx.actor.name,
                tracking_id=ctx.tracking_id,
            ),
            org_id,
        )
    except OrgNotFound:
        raise missing(org_id) from None
    except AdminExists as exc:
        raise Conflict(str(exc)) from None
    except AdminError as exc:
        raise BadRequest(str(exc)) from None
    return JsonResponse(admin_json(created), status_code=201)


TOKEN = obj(
    "id",
    "name",
    "kind",
    "scope",
    "prefix",
    "created",
    "expiresAt",
    "revokedAt",
    id=STRING,
    name=STRING,
    kind=STRING,
    scope=STRING,
    prefix=STRING,
    created=STRING,
    expiresAt=NULLABLE_STRING,
    revokedAt=NULLABLE_STRING,
)
ADMIN = obj(
    "id",
    "email",
    "displayName",
    "role",
    "created",
    "lastLogin",
    id=STRING,
    email=STRING,
    displayName=NULLABLE_STRING,
    role=STRING,
    created=NULLABLE_STRING,
    lastLogin=NULLABLE_STRING,
)
_TAG = "Operator: credentials"
routes = [
    Described(
        f"{ONE}/tokens",
        tokens,
        family=Family.OPERATOR,
        tag=_TAG,
        GET=Op("List an organisation's tokens (never a secret)", listing(TOKEN)),
        POST=Op(
            "Create a SCIM or admin token (its secret is shown once)",
            obj(*TOKEN["required"], "token", **TOKEN["properties"], token=STRING),
            ok=201,
            body=TokenBody.BODY,
        ),
    ),
    Described(
        f"{ONE}/tokens/{{token_id}}",
        revoke_token,
        family=Family.OPERATOR,
        tag=_TAG,
        DELETE=Op("Revoke a token", TOKEN),
    ),
    Described(
        f"{ONE}/admins",
        admins,
        family=Family.OPERATOR,
        tag=_TAG,
        GET=Op("List an organisation's console administrators", listing(ADMIN)),
        POST=Op(
            "Add a console administrator",
            ADMIN,
            ok=201,
            body=AdminBody.BODY,
            errors=(409,),
        ),
    ),
]
