"""Reading request bodies safely: media type, size limit, JSON syntax."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from ..scim.errors import InvalidSyntax, PayloadTooLarge, UnsupportedMediaType
from .body_limit import BodyTooLarge, read_limited

_ACCEPTED = ("application/scim+json", "application/json")


async def read_json(request: Request, *, limit: int) -> Any:
    """The parsed JSON body; 415 for other media types, 413 past `limit` bytes, 400 if bad."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _ACCEPTED:
        raise UnsupportedMediaType(
            f"send the body as application/scim+json (got '{media_type or 'none'}')"
        )
    try:
        raw = await read_limited(request, limit)
    except BodyTooLarge as exc:
        raise PayloadTooLarge(f"the body exceeds the maximum of {exc.limit} bytes") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidSyntax(f"the body is not valid JSON: {exc.msg}") from None
