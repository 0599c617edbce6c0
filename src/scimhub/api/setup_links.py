"""Setup links in the operator API (docs/operations.md, "Setup links"): a single-use URL
valid for 7 days that lets a customer's IT admin, with no hub account, run the organisation's
Azure AD setup and see its status (`directory.setup_links`, the wizard in
`console/routes_setup.py`). For an operator token, in the `/api/v1` envelope.

    POST   /api/v1/orgs/{id}/setup-links            {"note"?} -> 201, with "url", once
    GET    /api/v1/orgs/{id}/setup-links            {"data": [link, ...]} (never a secret)
    DELETE /api/v1/orgs/{id}/setup-links/{linkId}   revoked (its session ends) -> the link
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..directory.errors import OrgNotFound
from ..directory.setup_links import MAX_NOTE_LENGTH, LinkNotFound
from ..store.engine import utcnow
from .declared import Body, Text
from .operations import STRING, Described, Family, Op, listing, obj
from .operator_auth import OperatorContext, operator_endpoint
from .orgs import ONE, missing, org_id_of
from .responses import JsonResponse
from .scim_endpoint import base_url
from .v1 import NotFound
from .v1_input import read_object

SETUP_PATH = "/console/setup-link"  # where a link's URL leads: `{SETUP_PATH}/{secret}`


@dataclass(frozen=True, slots=True)
class SetupLinkBody:
    """`POST /orgs/{id}/setup-links`: no body, or `{"note": "..."}` (whom it is for, up to
    256 characters, shown in the listing and the audit trail)."""

    note: str

    BODY = Body(
        Text("note", most=MAX_NOTE_LENGTH, default="", doc="whom the link is for"),
        optional=True,
    )

    @classmethod
    def parse(cls, body: Any) -> SetupLinkBody:
        return cls(cls.BODY.read(body)["note"])


@operator_endpoint
async def links(request: Request, ctx: OperatorContext) -> Response:
    org_id, hub = org_id_of(request), ctx.hub
    try:
        if request.method == "GET":
            await ctx.off_loop(lambda: hub.orgs.get(org_id))
            found = await ctx.off_loop(lambda: hub.setup_links.list(org_id))
            now = utcnow()
            return JsonResponse({"data": [link.as_json(now) for link in found]})
        body = SetupLinkBody.parse(await read_object(request, optional=True))
        secret, link = await ctx.off_loop(
            lambda: hub.setup_links.create(org_id, note=body.note, actor=ctx.actor)
        )
    except OrgNotFound:
        raise missing(org_id) from None
    url = f"{base_url(request, hub)}{SETUP_PATH}/{secret}"
    return JsonResponse({**link.as_json(utcnow()), "url": url}, status_code=201)


@operator_endpoint
async def revoke(request: Request, ctx: OperatorContext) -> Response:
    org_id, hub = org_id_of(request), ctx.hub
    link_id = str(request.path_params["link_id"])[:64]
    try:
        revoked = await ctx.off_loop(
            lambda: hub.setup_links.revoke(org_id, link_id, actor=ctx.actor)
        )
    except LinkNotFound:
        raise NotFound(f"no setup link {link_id} in organisation {org_id}") from None
    return JsonResponse(revoked.as_json(utcnow()))


LINK = obj("id", "state", id=STRING, state=STRING, note=STRING)
_TAG = "Operator: setup links"
routes = [
    Described(
        f"{ONE}/setup-links",
        links,
        family=Family.OPERATOR,
        tag=_TAG,
        GET=Op("List an organisation's setup links", listing(LINK)),
        POST=Op(
            "Create a setup link (its URL is shown once)",
            obj("id", "url", **LINK["properties"], url=STRING),
            ok=201,
            body=SetupLinkBody.BODY,
        ),
    ),
    Described(
        f"{ONE}/setup-links/{{link_id}}",
        revoke,
        family=Family.OPERATOR,
        tag=_TAG,
        DELETE=Op("Revoke a setup link", LINK),
    ),
]
