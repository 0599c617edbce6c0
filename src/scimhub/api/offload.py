"""Where a SCIM request's work runs: inline on the event loop, or in a bounded thread pool.

One event loop serves every organisation, so whatever a request computes on it, every other
organisation waits for. Work whose cost is small and known in advance runs inline: a thread
hop (~40 us) costs more than a sub-millisecond indexed read. Work that is CPU-heavy (argon2,
Bulk) or whose cost the request does not bound (large bodies, unindexed searches, a group's
members) runs in `SCIMHUB_OFFLOAD_THREADS` threads, of which one organisation holds at most
half, so a tenant that floods the pool still leaves room for everyone else's heavy work.
The rule is stated in docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from weakref import WeakValueDictionary

import orjson
from anyio import CapacityLimiter, to_thread
from starlette.requests import Request

from ..directory import search
from ..scim import listing, projection
from ..scim.bind import bind_filter
from ..scim.patch import parse_patch
from ..scim.schemas import ResourceType
from .body_limit import declared_length

T = TypeVar("T")

# Bodies up to this size are normalised in about a millisecond (measured: a 16 KiB user
# with 380 emails, 1.1 ms); larger ones, up to SCIMHUB_MAX_PAYLOAD_BYTES, go off the loop.
LARGE_BODY_BYTES = 16 * 1024


class Offload:
    """The pool for heavy work: `threads` at once, at most half of them (at least one) for
    any one organisation. Created once per process, used from the event loop only."""

    def __init__(self, threads: int) -> None:
        self._pool = CapacityLimiter(threads)
        self._share = max(1, threads // 2)
        # An organisation's share lives while one of its requests holds or awaits it.
        self._orgs: WeakValueDictionary[str, CapacityLimiter] = WeakValueDictionary()

    async def run(self, org_id: str, heavy: bool, work: Callable[[], T]) -> T:
        """`work()`, inline when not `heavy`, else in the pool once a thread is free."""
        if not heavy:
            return work()
        share = self._orgs.get(org_id)
        if share is None:
            share = self._orgs[org_id] = CapacityLimiter(self._share)
        async with share:
            return await to_thread.run_sync(work, limiter=self._pool)


def large_body(request: Request) -> bool:
    """A body over LARGE_BODY_BYTES, or of undeclared size (chunked): its cost is unknown."""
    declared = declared_length(request.scope)
    return declared is None or declared > LARGE_BODY_BYTES


def sets_password(body: Any) -> bool:
    """Whether a User body (a resource or a PatchOp message) may carry a password, which the
    directory hashes with argon2 (~150 ms of CPU). Searched as text so that no spelling the
    schema accepts (any case, urn-prefixed, PATCH path or path-less value) escapes; a false
    yes costs only a thread hop. Called on small bodies only (after `large_body`)."""
    return b"password" in orjson.dumps(body).lower()


def user_write_is_heavy(request: Request, body: Any) -> bool:
    return large_body(request) or sets_password(body)


def group_write_is_heavy(request: Request, body: Any, *, with_members: bool) -> bool:
    """A group write costs what its member rows cost: PUT replaces them all, a `remove` or
    `replace` of members (or a path-less replace, which may hold them) can touch every row,
    and a response listing members renders every one. Only a small PATCH that adds members
    or changes other attributes, answered without members, has a cost its body bounds."""
    if request.method != "PATCH" or with_members or large_body(request):
        return True
    return any(
        op.op != "add" and (op.path is None or op.path.path.attr.lower() == "members")
        for op in parse_patch(body)
    )


def search_is_heavy(rt: ResourceType, req: listing.SearchRequest) -> bool:
    """Only a lookup by the unique, indexed name (Entra's matching query) or by a unique
    custom attribute of users has a cost known in advance; any other filter, or none, is
    counted and paged over the whole organisation, and a group's members are as many as
    it has."""
    if req.filter is None:
        return True
    if not rt.is_user and projection.needs(rt, req.attributes, req.excluded_attributes, "members"):
        return True
    bound = bind_filter(rt, req.filter)
    unique = search.unique_lookup(rt, bound) or (
        rt.is_user and search.unique_custom_lookup(rt, bound)
    )
    return not unique
