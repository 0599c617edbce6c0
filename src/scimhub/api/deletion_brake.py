"""The deletion brake in the integration API (`/extIntegration/azureAD/{orgId}/v1/...`): an
instance's held removals, approving or discarding them, and the thresholds.

    GET  .../instances/{id}/heldRemovals?limit=&offset=  the held list and its total
    POST .../instances/{id}/heldRemovals/approve         apply them all
    POST .../instances/{id}/heldRemovals/discard         keep the users and groups
    GET|PUT .../instances/{id}/deletionThreshold         {"threshold": {...} | null}
    GET|PUT .../deletionThreshold                        the organisation's
    GET  .../removalBursts?state=open|restored|dismissed bursts Entra's push job made
    POST .../removalBursts/{id}/restore                  undo one
    POST .../removalBursts/{id}/dismiss                  acknowledge one
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.requests import Request

from ..directory.actor import Actor
from ..directory.deletion_brake import InvalidThreshold, RoundRunning, Threshold
from ..directory.locator import Locator
from ..directory.removal_bursts import BurstDecided, BurstState
from ..integrations.entra.errors import BadRequest, Conflict, NotFound
from ..integrations.entra.lookup import saved_instance
from ..scim.errors import NotFound as Missing
from .auth import Principal as Admin
from .declared import Body, Integer, Query, Raw, Word
from .integration import V1, by_method, endpoint
from .operations import BOOLEAN, INTEGER, OBJECT, Described, Family, Op, obj
from .scim_endpoint import base_url
from .services import Hub

_MAX_PAGE = 500
HELD_QUERY = Query(Integer("limit", 0, _MAX_PAGE, 100), Integer("offset", 0, 10**9, 0))
THRESHOLD = Body(
    Raw("threshold", {"type": ["object", "null"]}, required=True, doc="null: back to the default")
)
BURSTS = Query(Word("state", choices=tuple(BurstState)))


@contextmanager
def _refusals() -> Iterator[None]:
    """The brake's refusals in the integration API's terms."""
    try:
        yield
    except (RoundRunning, BurstDecided) as exc:
        raise Conflict(exc.detail) from None
    except Missing:
        raise NotFound("Removal burst") from None
    except InvalidThreshold as exc:
        raise BadRequest(f"deletion threshold: {exc}") from None


def held(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    instance = saved_instance(hub.instances, admin.org_id, request.path_params["instance_id"])
    page = HELD_QUERY.read(request.query_params)
    limit, offset = page["limit"], page["offset"]
    found, total = hub.brake.held(admin.org_id, instance.id, limit=limit, offset=offset)
    return {
        "total": total,
        "removals": [r.as_json() for r in found],
        "threshold": hub.brake.threshold(instance).as_json(),
    }


def approve(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    instance = saved_instance(hub.instances, admin.org_id, request.path_params["instance_id"])
    loc = Locator(base_url(request, hub), admin.org_id)
    with _refusals():
        return {"approved": hub.brake.approve(admin.org_id, instance.id, loc, actor=actor)}


def discard(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    instance = saved_instance(hub.instances, admin.org_id, request.path_params["instance_id"])
    with _refusals():
        return {"discarded": hub.brake.discard(admin.org_id, instance.id, actor=actor)}


def _threshold_in(request: Request) -> Threshold | None:
    raw = THRESHOLD.read(request.state.body)["threshold"]
    with _refusals():
        return None if raw is None else Threshold.parse(raw)


def instance_threshold(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    instance = saved_instance(hub.instances, admin.org_id, request.path_params["instance_id"])
    if request.method == "PUT":
        hub.brake.set_threshold(
            admin.org_id, _threshold_in(request), instance=instance, actor=actor
        )
        instance = saved_instance(hub.instances, admin.org_id, instance.id)
    return {
        "threshold": hub.brake.threshold(instance).as_json(),
        "inherited": instance.deletion_threshold is None,
    }


def org_threshold(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    if request.method == "PUT":
        hub.brake.set_threshold(admin.org_id, _threshold_in(request), actor=actor)
    return {"threshold": hub.brake.org_threshold(admin.org_id).as_json()}


def bursts(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    raw = BURSTS.read(request.query_params)["state"]
    state = BurstState(raw) if raw else None
    return {"bursts": [b.as_json() for b in hub.bursts.listed(admin.org_id, state)]}


def restore_burst(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    loc = Locator(base_url(request, hub), admin.org_id)
    with _refusals():
        done = hub.bursts.restore(admin.org_id, request.path_params["burst_id"], loc, actor=actor)
    return {"restored": done.as_json()}


def dismiss_burst(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    with _refusals():
        hub.bursts.dismiss(admin.org_id, request.path_params["burst_id"], actor=actor)
    return {"dismissed": True}


_HELD = f"{V1}/instances/{{instance_id}}/heldRemovals"
_BURST = f"{V1}/removalBursts/{{burst_id}}"
_THRESHOLD = f"{V1}/instances/{{instance_id}}/deletionThreshold"
_HELD_VIEW = obj(
    "total", "removals", "threshold", total=INTEGER, removals={"type": "array"}, threshold=OBJECT
)
_VIEW = obj("threshold", threshold=OBJECT, inherited=BOOLEAN)
_TAG = "Integration: deletion brake"


def _route(path: str, run: Any, **ops: Op) -> Described:
    return Described(path, run, family=Family.INTEGRATION, tag=_TAG, **ops)


routes = [
    _route(
        _HELD,
        endpoint(held, writes=False),
        GET=Op("An instance's held removals", _HELD_VIEW, query=HELD_QUERY, errors=(404,)),
    ),
    _route(
        f"{_HELD}/approve",
        endpoint(approve, writes=True),
        POST=Op("Apply every held removal", obj("approved", approved=INTEGER), errors=(404, 409)),
    ),
    _route(
        f"{_HELD}/discard",
        endpoint(discard, writes=True),
        POST=Op("Drop the held removals", obj("discarded", discarded=INTEGER), errors=(404, 409)),
    ),
    _route(
        _THRESHOLD,
        by_method(
            GET=endpoint(instance_threshold, writes=False),
            PUT=endpoint(instance_threshold, writes=True),
        ),
        GET=Op("An instance's deletion threshold", _VIEW, errors=(404,)),
        PUT=Op("Set it (null: the organisation's)", _VIEW, body=THRESHOLD, errors=(404,)),
    ),
    _route(
        f"{V1}/deletionThreshold",
        by_method(
            GET=endpoint(org_threshold, writes=False), PUT=endpoint(org_threshold, writes=True)
        ),
        GET=Op("The organisation's deletion threshold", obj("threshold", threshold=OBJECT)),
        PUT=Op("Set it (null: the default)", obj("threshold", threshold=OBJECT), body=THRESHOLD),
    ),
    _route(
        f"{V1}/removalBursts",
        endpoint(bursts, writes=False),
        GET=Op("Removal bursts Entra's push job made", obj("bursts"), query=BURSTS),
    ),
    _route(
        f"{_BURST}/restore",
        endpoint(restore_burst, writes=True),
        POST=Op("Undo a burst", obj("restored", restored=OBJECT), errors=(404, 409)),
    ),
    _route(
        f"{_BURST}/dismiss",
        endpoint(dismiss_burst, writes=True),
        POST=Op("Acknowledge a burst", obj("dismissed", dismissed=BOOLEAN), errors=(404, 409)),
    ),
]
