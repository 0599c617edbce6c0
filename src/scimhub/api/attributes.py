"""An organisation's custom attributes in the admin API (`/api/v1`, `v1.py`'s envelope;
docs/scim.md, "Custom attributes").

    GET    /attributes[?resource=User|Group]   {"data": [definition, ...]}
    POST   /attributes                         201, the definition (400 bad, 409 exists)
    GET    /attributes/{id}                    the definition
    DELETE /attributes/{id}[?purge=true]       204; 409 while resources hold values,
                                               unless purge clears them first
    GET|PUT /attributes/undeclared              {"undeclared": "refuse" | "keep"}
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..directory.attribute_removal import remove_attribute
from ..directory.custom_attributes import AttributeExists, AttributeInUse
from ..directory.locator import Locator
from ..scim.custom import AttributeType, definition_from_json
from ..scim.errors import InvalidValue, Uniqueness
from ..scim.errors import NotFound as ScimNotFound
from .declared import Body, Choice, Flag, Query, Raw, Word
from .operations import STRING, Described, Family, Op, listing, obj
from .responses import JsonResponse
from .scim_endpoint import base_url
from .v1 import V1_PREFIX, BadRequest, Conflict, NotFound, V1Context, read_json, v1_endpoint

_BASE = f"{V1_PREFIX}/attributes"
_STRING = {"type": "string"}
# Checked member by member here; the definition's own rules (its name, its schema URN, its
# collisions) by `definition_from_json` and the service.
DEFINITION = Body(
    Choice("resource", ("User", "Group"), "User"),
    Raw("schema", {**_STRING, "description": "the extension schema's URN"}, required=True),
    Raw("name", _STRING, required=True),
    Choice("type", tuple(t.value for t in AttributeType), "string"),
    Flag("multiValued", False),
    Flag("caseExact", False),
    Choice("uniqueness", ("none", "server"), "none"),
    Flag("required", False),
    Raw("description", {**_STRING, "maxLength": 1024}),
)
LIST_QUERY = Query(Word("resource", choices=("User", "Group")))
ONE_QUERY = Query(Word("purge", choices=("true", "false"), doc="clear held values first"))
UNDECLARED = Body(Choice("undeclared", ("refuse", "keep")))


@v1_endpoint
async def list_or_add(request: Request, ctx: V1Context) -> Response:
    attributes = ctx.hub.attributes
    if request.method == "GET":
        resource = LIST_QUERY.read(request.query_params)["resource"]
        found = await ctx.off_loop(lambda: attributes.definitions(ctx.org_id, resource))
        return JsonResponse({"data": [d.as_json() for d in found]})
    body = await read_json(request)
    DEFINITION.read(body)
    try:
        defined = await ctx.off_loop(
            lambda: attributes.add(ctx.org_id, definition_from_json(body), actor=ctx.actor)
        )
    except InvalidValue as exc:
        raise BadRequest(exc.detail) from None
    except (AttributeExists, Uniqueness) as exc:  # Uniqueness: kept values that collide
        raise Conflict(exc.detail) from None
    return JsonResponse(defined.as_json(), status_code=201)


@v1_endpoint
async def one(request: Request, ctx: V1Context) -> Response:
    attribute_id = str(request.path_params["attribute_id"])[:64]
    attributes = ctx.hub.attributes
    purge = ONE_QUERY.read(request.query_params)["purge"] or "false"
    loc = Locator(base_url(request, ctx.hub), ctx.org_id)

    def act() -> Response:
        if request.method == "GET":
            return JsonResponse(attributes.get(ctx.org_id, attribute_id).as_json())
        hub = ctx.hub
        remove_attribute(
            attributes,
            hub.users,
            hub.groups,
            ctx.org_id,
            attribute_id,
            loc,
            purge=purge == "true",
            actor=ctx.actor,
        )
        return Response(status_code=204)

    try:
        return await ctx.off_loop(act)
    except ScimNotFound:
        raise NotFound(f"no attribute {attribute_id} in this organisation") from None
    except AttributeInUse as exc:
        raise Conflict(exc.detail) from None


@v1_endpoint
async def undeclared(request: Request, ctx: V1Context) -> Response:
    attributes = ctx.hub.attributes
    if request.method == "PUT":
        choice = UNDECLARED.read(await read_json(request))["undeclared"]
        await ctx.off_loop(
            lambda: attributes.keep_undeclared(ctx.org_id, choice == "keep", actor=ctx.actor)
        )
    keep = await ctx.off_loop(lambda: attributes.keeps_undeclared(ctx.org_id))
    return JsonResponse({"undeclared": "keep" if keep else "refuse"})


DEFINED = obj("id", "name", id=STRING, name=STRING, schema=STRING, resource=STRING)
KEEPS = obj("undeclared", undeclared={"type": "string", "enum": ["refuse", "keep"]})
_TAG = "Custom attributes"
routes = [
    Described(
        _BASE,
        list_or_add,
        family=Family.ORG,
        tag=_TAG,
        GET=Op("List the custom attribute definitions", listing(DEFINED), query=LIST_QUERY),
        POST=Op("Define a custom attribute", DEFINED, ok=201, body=DEFINITION, errors=(409,)),
    ),
    # before /attributes/{id}, which would take "undeclared" for an id
    Described(
        f"{_BASE}/undeclared",
        undeclared,
        family=Family.ORG,
        tag=_TAG,
        GET=Op("Whether undeclared extension attributes are kept or refused", KEEPS),
        PUT=Op("Keep or refuse undeclared extension attributes", KEEPS, body=UNDECLARED),
    ),
    Described(
        f"{_BASE}/{{attribute_id}}",
        one,
        family=Family.ORG,
        tag=_TAG,
        GET=Op("Get a definition", DEFINED, query=ONE_QUERY),
        DELETE=Op(
            "Remove a definition (409 while values are held, unless purge)",
            None,
            ok=204,
            query=ONE_QUERY,
            errors=(409,),
        ),
    ),
]
