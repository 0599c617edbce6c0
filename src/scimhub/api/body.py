"""Reading request bodies safely: media type, size limit, JSON syntax."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from ..scim.errors import InvalidSyntax, PayloadTooLarge, UnsupportedMediaType

_ACCEPTED = ("application/scim+json", "application/json")


async def read_json(request: Request, *, limit: int) -> Any:
    """The parsed JSON body; 415 for other media types, 413 past `limit` bytes, 400 if bad."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _ACCEPTED:
        raise UnsupportedMediaType(
            f"send the body as application/scim+json (got '{media_type or 'none'}')")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body exceeds the maximum of {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body exceeds the maximum of {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidSyntax(f"the body is not valid JSON: {exc.msg}") from None
