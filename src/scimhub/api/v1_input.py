"""Reading `/api/v1` input: JSON bodies member by member, and paging parameters.

Each route's body is a small dataclass whose `parse` reads it with `Members` (the one place
that says what a route takes, and what an OpenAPI document will be generated from). Every
refusal is a `BadRequest` naming the member or parameter and what it must be; one the route
does not know is refused, not ignored, so a misspelt one cannot be silently dropped.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from .body_limit import declared_length
from .v1 import BadRequest, read_json


class Members:
    """A JSON object's members, read one at a time as their type."""

    def __init__(self, body: Any, allowed: Collection[str]) -> None:
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        unknown = sorted(k for k in body if k not in allowed)
        if unknown:
            named = ", ".join(repr(k[:64]) for k in unknown[:10])
            raise BadRequest(f"unknown member {named}; this body takes {', '.join(allowed)}")
        self._body: dict[str, Any] = body

    def text(self, name: str, *, most: int, default: str | None = None) -> str:
        """A string of at most `most` characters, stripped: required without a `default`,
        never blank unless the default is ""."""
        value = self._body.get(name, default)
        if value is None:
            raise BadRequest(f"{name} is required")
        if not isinstance(value, str):
            raise BadRequest(f"{name} must be a string")
        value = value.strip()
        if not value and default != "":
            raise BadRequest(f"{name} must not be blank")
        if len(value) > most:
            raise BadRequest(f"{name} has at most {most} characters")
        return value

    def secret(self, name: str, *, most: int) -> str:
        """A string taken as sent (a password: blanks are its own), required."""
        value = self._body.get(name)
        if not isinstance(value, str) or not value:
            raise BadRequest(f"{name} is required, a string")
        if len(value) > most:
            raise BadRequest(f"{name} has at most {most} characters")
        return value

    def choice(self, name: str, choices: Collection[str], default: str) -> str:
        value = self._body.get(name, default)
        if value not in choices:
            raise BadRequest(f"{name} must be one of {', '.join(map(repr, choices))}")
        return str(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self._body.get(name, default)
        if not isinstance(value, bool):
            raise BadRequest(f"{name} must be true or false")
        return value

    def number(self, name: str, *, least: int, most: int) -> int | None:
        """An integer in [least, most], or None when absent (or null)."""
        value = self._body.get(name)
        if value is None:
            return None
        # bool is an int in Python, never in the body's intent
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
            raise BadRequest(f"{name} must be an integer from {least} to {most}")
        return value


async def read_object(request: Request, *, optional: bool = False) -> Any:
    """The JSON body; with `optional`, `{}` for a request sent without one."""
    no_body = declared_length(request.scope) in (None, 0) and (
        "transfer-encoding" not in request.headers
    )
    if optional and no_body:
        return {}
    return await read_json(request)


MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Paging:
    """`?limit=` (1-500, default 100) and `?offset=` (default 0), and `extra` parameters
    the route reads itself; any other is refused."""

    limit: int
    offset: int

    @classmethod
    def parse(cls, request: Request, extra: Collection[str] = ()) -> Paging:
        params = request.query_params
        known = ("limit", "offset", *extra)
        unknown = sorted(k for k in params if k not in known)
        if unknown:
            raise BadRequest(
                f"unknown parameter {unknown[0][:64]!r}; this takes {', '.join(known)}"
            )
        return cls(
            _number(params.get("limit"), "limit", 100, 1, MAX_LIMIT),
            _number(params.get("offset"), "offset", 0, 0, 10**9),
        )


def _number(raw: str | None, name: str, default: int, least: int, most: int) -> int:
    if raw is None:
        return default
    # str.isdigit accepts "²", which int() refuses
    if raw.isascii() and raw.isdigit() and len(raw) <= 10 and least <= int(raw) <= most:
        return int(raw)
    raise BadRequest(f"{name} must be an integer from {least} to {most}, got {raw[:64]!r}")
