"""Routes that describe themselves: a `Described` route is a Starlette route whose methods
are the operations it declares, each with its body and query declarations (the very ones
its handler reads with, `declared.py`), what it answers, and the errors it may. The
OpenAPI document (`openapi.py`) is built from the route table alone, and a route cannot take
a method it does not document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from starlette.routing import Route

from .declared import Body, Query, Schema


class Family(StrEnum):
    """Who may call a route and in which error envelope it answers."""

    OPERATOR = "operator"  # an operator token, `/api/v1` envelope
    ORG = "org"  # an organisation's admin token, `/api/v1` envelope
    INTEGRATION = "integration"  # admin token or console session, integration envelope
    BROWSER = "browser"  # no credential (Entra's redirect back), integration envelope


@dataclass(frozen=True, slots=True)
class Op:
    """One operation. `returns` is the success body's schema (None: no body), `errors`
    the statuses it may answer beyond those of its family (`openapi.py`); one below 400
    there is another success, with the same body (a PUT that creates: 201)."""

    summary: str
    returns: Schema | None = None
    ok: int = 200
    body: Body | None = None
    query: Query | None = None
    errors: tuple[int, ...] = ()
    doc: str = ""
    media: str = "application/json"
    path: dict[str, Schema] = field(default_factory=dict)  # a path parameter's, if not any string


class Described(Route):
    """A route and its operations, one per method (HEAD comes with GET, as Starlette's)."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        family: Family,
        tag: str,
        **operations: Op,
    ) -> None:
        super().__init__(path, endpoint, methods=list(operations))
        self.family = family
        self.tag = tag
        self.operations = operations


# -- response schemas, a few shapes most routes share ------------------------------------


def obj(*required: str, **properties: Schema) -> Schema:
    """An object with these properties (those in `required` always there); open to more,
    as answers may grow."""
    doc: Schema = {"type": "object", "properties": properties}
    if required:
        doc["required"] = list(required)
    return doc


def listing(item: Schema, *extra: str) -> Schema:
    """`{"data": [item, ...]}` and the `extra` integer members (such as `total`)."""
    props: dict[str, Schema] = {"data": {"type": "array", "items": item}}
    props.update({name: {"type": "integer"} for name in extra})
    return obj("data", *extra, **props)


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
OBJECT: Schema = {"type": "object"}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
