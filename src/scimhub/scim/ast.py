"""The syntax tree shared by filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2).

The parser builds it; `store` turns it into SQL and `patch` evaluates it on documents.
Attribute names are kept as written; `schemas.resolve` maps them case-insensitively.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class AttrPath:
    """`[urn:]attr[.sub]` - e.g. `userName`, `name.givenName`, `emails.value`,
    `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`."""

    attr: str
    sub: str | None = None
    urn: str | None = None

    def __str__(self) -> str:
        text = f"{self.attr}.{self.sub}" if self.sub else self.attr
        return f"{self.urn}:{text}" if self.urn else text


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


Filter = Compare | Present | And | Or | Not | ValuePath


def all_of(filters: Sequence[Filter]) -> Filter:
    """`f1 and f2 and ...` as a balanced tree (depth log2 n), since `and` is associative:
    long chains then cannot push any recursive consumer to Python's recursion limit."""
    return _balanced(And, filters)


def any_of(filters: Sequence[Filter]) -> Filter:
    """`f1 or f2 or ...` as a balanced tree, like `all_of`."""
    return _balanced(Or, filters)


def _balanced(make: type[And] | type[Or], filters: Sequence[Filter]) -> Filter:
    if not filters:
        raise ValueError("a chain needs at least one filter")
    if len(filters) == 1:
        return filters[0]
    middle = len(filters) // 2
    return make(_balanced(make, filters[:middle]), _balanced(make, filters[middle:]))


@dataclass(frozen=True, slots=True)
class PatchPath:
    """A PATCH target: `attr`, `attr.sub`, `urn:...:attr`, `attr[filter]`, `attr[filter].sub`."""

    path: AttrPath
    filter: Filter | None = None
    sub_after_filter: str | None = None
