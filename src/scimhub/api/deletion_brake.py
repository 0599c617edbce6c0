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
from starlette.routing import Route

from ..directory.actor import Actor
from ..directory.deletion_brake import InvalidThreshold, RoundRunning, Threshold
from ..directory.locator import Locator
from ..directory.removal_bursts import BurstDecided, BurstState
from ..integrations.entra.errors import BadRequest, Conflict, NotFound
from ..integrations.entra.lookup import saved_instance
from ..scim.errors import NotFound as Missing
from .auth import Principal as Admin
from .integration import V1, by_method, endpoint
from .scim_endpoint import base_url
from .services import Hub

_MAX_PAGE = 500


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


def _page(request: Request) -> tuple[int, int]:
    def number(name: str, default: int, top: int) -> int:
        raw = request.query_params.get(name, "")
        if not raw:
            return default
        if not (raw.isascii() and raw.isdigit()):
            raise BadRequest(f"{name} must be a whole number")
        return min(int(raw[:9]), top)

    return number("limit", 100, _MAX_PAGE), number("offset", 0, 10**9)


def held(request: Request, hub: Hub, admin: Admin, actor: Actor) -> dict[str, Any]:
    instance = saved_instance(hub.instances, admin.org_id, request.path_params["instance_id"])
    limit, offset = _page(request)
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
    body = request.state.body
    if not isinstance(body, dict) or "threshold" not in body:
        raise BadRequest('the body is {"threshold": {...}} (null: back to the default)')
    with _refusals():
        return None if body["threshold"] is None else Threshold.parse(body["threshold"])


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
    raw = request.query_params.get("state", "")
    try:
        state = BurstState(raw) if raw else None
    except ValueError:
        raise BadRequest("state must be open, restored or dismissed") from None
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
routes = [
    Route(_HELD, endpoint(held, writes=False), methods=["GET"]),
    Route(f"{_HELD}/approve", endpoint(approve, writes=True), methods=["POST"]),
    Route(f"{_HELD}/discard", endpoint(discard, writes=True), methods=["POST"]),
    Route(
        _THRESHOLD,
        by_method(
            GET=endpoint(instance_threshold, writes=False),
            PUT=endpoint(instance_threshold, writes=True),
        ),
        methods=["GET", "PUT"],
    ),
    Route(
        f"{V1}/deletionThreshold",
        by_method(
            GET=endpoint(org_threshold, writes=False), PUT=endpoint(org_threshold, writes=True)
        ),
        methods=["GET", "PUT"],
    ),
    Route(f"{V1}/removalBursts", endpoint(bursts, writes=False), methods=["GET"]),
    Route(f"{_BURST}/restore", endpoint(restore_burst, writes=True), methods=["POST"]),
    Route(f"{_BURST}/dismiss", endpoint(dismiss_burst, writes=True), methods=["POST"]),
]
