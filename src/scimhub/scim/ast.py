"""The syntax tree shared by filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2).

The parser builds it; `store` turns it into SQL and `patch` evaluates it on documents.
Attribute names are kept as written; `schemas.resolve` maps them case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

Scalar = Union[str, int, float, bool, None]


@dataclass(frozen=True, slots=True)
class AttrPath:
    """`[urn:]attr[.sub]` - e.g. `userName`, `name.givenName`, `emails.value`,
    `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`."""

    attr: str
    sub: str | None = None
    urn: str | None = None


@dataclass(frozen=True, slots=True)
class Compare:
    """`path op value` with op one of eq ne co sw ew gt ge lt le (lower-case)."""

    path: AttrPath
    op: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class Present:
    path: AttrPath


@dataclass(frozen=True, slots=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Not:
    expr: Filter


@dataclass(frozen=True, slots=True)
class ValuePath:
    """`emails[type eq "work" and value co "@x"]`: some element of the multi-valued `path`
    satisfies `filter`, whose AttrPaths name sub-attributes (`AttrPath("type")`)."""

    path: AttrPath
    filter: Filter


Filter = Union[Compare, Present, And, Or, Not, ValuePath]


@dataclass(frozen=True, slots=True)
class PatchPath:
    """A PATCH target: `attr`, `attr.sub`, `urn:...:attr`, `attr[filter]`, `attr[filter].sub`."""

    path: AttrPath
    filter: Filter | None = None
    sub_after_filter: str | None = None
