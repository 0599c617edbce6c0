"""The platform operator's credential on `/api/v1`: an operator token (`scimhub token
create --operator`), which manages organisations (`orgs.py`, `org_credentials.py`,
`setup_links.py`, `platform_audit.py`) and acts in none of them.

An operator route is a handler wrapped by `operator_endpoint`; it answers in the `/api/v1`
envelope (`v1.enveloped`). No token or an unusable one is 401, and so is any other kind of
token: an organisation's admin token opens its own organisation's APIs, never the
operator's, as the operator's token opens no organisation's SCIM, events or integration
API. A read-scoped operator token is 403 on every method but GET and HEAD.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response

from ..directory.actor import Actor
from ..directory.tokens import TokenInfo, TokenKind
from .auth import bearer_secret
from .services import Hub
from .tracking import tracking_id
from .v1 import Unauthorized, enveloped, refuse_read_only_writes

T = TypeVar("T")
_ALL = ""  # the offload share of requests about no one organisation (list, create)


@dataclass(frozen=True, slots=True)
class OperatorContext:
    """What an operator handler acts for: the operator token, the request's tracking id."""

    hub: Hub
    token: TokenInfo
    tracking_id: str

    @property
    def actor(self) -> Actor:
        """The name the audit trails record for what the operator does."""
        return Actor(f"operator:{self.token.name}", self.tracking_id)

    async def off_loop(self, work: Callable[[], T], org_id: str = _ALL) -> T:
        """`work()` in the offload pool, within the share of the organisation it is about:
        removing or exporting one is as heavy as the organisation is large."""
        return await self.hub.offload.run(org_id, True, work)


OperatorHandler = Callable[[Request, OperatorContext], Awaitable[Response]]


def authenticate(request: Request, hub: Hub) -> TokenInfo:
    """The operator token the request carries. Raises Unauthorized."""
    secret = bearer_secret(request)
    if not secret:
        raise Unauthorized(
            "an operator token is required as 'Authorization: Bearer <token>' "
            "(scimhub token create --operator)"
        )
    token = hub.tokens.authenticate(secret, TokenKind.OPERATOR)
    if token is None:
        raise Unauthorized(
            "the bearer token is not a usable operator token: invalid, expired, revoked, "
            "or an organisation's token (which cannot manage organisations)",
            error="invalid_token",
        )
    return token


def operator_endpoint(handler: OperatorHandler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: authenticate the operator, refuse writes by a read-only token,
    render every failure in the `/api/v1` envelope."""

    async def endpoint(request: Request) -> Response:
        hub: Hub = request.app.state.hub
        tid = tracking_id(request.scope)

        async def respond() -> Response:
            token = authenticate(request, hub)
            refuse_read_only_writes(request, token)
            return await handler(request, OperatorContext(hub, token, tid))

        return await enveloped(tid, respond)

    return endpoint
