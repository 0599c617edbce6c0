"""Reading `/api/v1` input: JSON bodies and paging parameters, by declaration.

Each route's body is a small dataclass whose `parse` reads it with a `declared.Body` (the
one place that says what a route takes, and what the OpenAPI document is generated from).
Every refusal is a 400 naming the member or parameter and what it must be (`declared.Invalid`,
which `v1.enveloped` answers as `BadRequest`); one the route does not know is refused, not
ignored, so a misspelt one cannot be silently dropped.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from .body_limit import declared_length
from .declared import Integer, Query
from .v1 import read_json


async def read_object(request: Request, *, optional: bool = False) -> Any:
    """The JSON body; with `optional`, `{}` for a request sent without one."""
    no_body = declared_length(request.scope) in (None, 0) and (
        "transfer-encoding" not in request.headers
    )
    if optional and no_body:
        return {}
    return await read_json(request)


MAX_LIMIT = 500
LIMIT = Integer("limit", 1, MAX_LIMIT, 100, doc="how many to return")
OFFSET = Integer("offset", 0, 10**9, 0, doc="how many to skip")
PAGING = Query(LIMIT, OFFSET)
"""`?limit=` (1-500, default 100) and `?offset=` (default 0); any other is refused."""
