"""Declared input: what a JSON body or a query string takes, as values that both read a
request and describe themselves as JSON Schema. The handlers read with them and the OpenAPI
document (`openapi.py`) is generated from the same values, so what is validated and what is
documented cannot drift apart.

A refusal is `Invalid`, naming the member or parameter and what it must be; each API family
turns it into its own 400 (`v1.enveloped`, `integration.endpoint`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]


class Invalid(ValueError):
    """The body or a parameter is not what the declaration takes; the text says why."""


# -- body members ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    """A string of at most `most` characters, stripped: required without a `default`
    (`optional`: None when absent), never blank unless the default is ""."""

    name: str
    most: int
    default: str | None = None
    doc: str = ""
    optional: bool = False

    @property
    def required(self) -> bool:
        return self.default is None and not self.optional

    def read(self, value: Any) -> Any:
        value = self.default if value is None else value
        if value is None:
            if self.optional:
                return None
            raise Invalid(f"{self.name} is required")
        if not isinstance(value, str):
            raise Invalid(f"{self.name} must be a string")
        value = value.strip()
        if not value and self.default != "":
            raise Invalid(f"{self.name} must not be blank")
        if len(value) > self.most:
            raise Invalid(f"{self.name} has at most {self.most} characters")
        return value

    def schema(self) -> Schema:
        doc: Schema = {"type": "string", "maxLength": self.most}
        if self.default != "":
            doc["pattern"] = r"\S"  # blank is refused (surrounding blanks are stripped)
        if self.default is not None:
            doc["default"] = self.default
        return doc


@dataclass(frozen=True, slots=True)
class Secret:
    """A string taken as sent (a password: blanks are its own), required."""

    name: str
    most: int
    doc: str = ""
    required: bool = field(default=True, init=False)

    def read(self, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise Invalid(f"{self.name} is required, a string")
        if len(value) > self.most:
            raise Invalid(f"{self.name} has at most {self.most} characters")
        return value

    def schema(self) -> Schema:
        return {"type": "string", "minLength": 1, "maxLength": self.most, "writeOnly": True}


@dataclass(frozen=True, slots=True)
class Choice:
    """One of `choices`; required without a `default`."""

    name: str
    choices: tuple[str, ...]
    default: str | None = None
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is None

    def read(self, value: Any) -> str:
        value = self.default if value is None else value
        if value not in self.choices:
            raise Invalid(f"{self.name} must be one of {', '.join(map(repr, self.choices))}")
        return str(value)

    def schema(self) -> Schema:
        doc: Schema = {"type": "string", "enum": list(self.choices)}
        if self.default is not None:
            doc["default"] = self.default
        return doc


@dataclass(frozen=True, slots=True)
class Flag:
    """true or false; required without a `default` (`optional`: None when absent)."""

    name: str
    default: bool | None = None
    doc: str = ""
    optional: bool = False

    @property
    def required(self) -> bool:
        return self.default is None and not self.optional

    def read(self, value: Any) -> bool | None:
        value = self.default if value is None else value
        if value is None and self.optional:
            return None
        if not isinstance(value, bool):
            raise Invalid(f"{self.name} must be true or false")
        return value

    def schema(self) -> Schema:
        doc: Schema = {"type": "boolean"}
        if self.default is not None:
            doc["default"] = self.default
        return doc


@dataclass(frozen=True, slots=True)
class Number:
    """An integer in [least, most], or None when absent (or null)."""

    name: str
    least: int
    most: int
    doc: str = ""
    required: bool = field(default=False, init=False)

    def read(self, value: Any) -> int | None:
        if value is None:
            return None
        # bool is an int in Python, never in the body's intent
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not self.least <= value <= self.most
        ):
            raise Invalid(f"{self.name} must be an integer from {self.least} to {self.most}")
        return value

    def schema(self) -> Schema:
        return {"type": ["integer", "null"], "minimum": self.least, "maximum": self.most}


@dataclass(frozen=True, slots=True)
class Strings:
    """A list of strings (None when absent or null), each checked where it is used."""

    name: str
    doc: str = ""
    required: bool = False

    def read(self, value: Any) -> list[str] | None:
        if value is None:
            if self.required:
                raise Invalid(f"{self.name} is required, a list of strings")
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Invalid(f"{self.name} must be a list of strings")
        return value

    def schema(self) -> Schema:
        return {"type": "array", "items": {"type": "string"}}


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def _is(value: Any, kind: str) -> bool:
    if isinstance(value, bool):  # an int in Python, never in JSON
        return kind == "boolean"
    return isinstance(value, _JSON_TYPES[kind])


@dataclass(frozen=True, slots=True)
class Raw:
    """A member passed on as sent to what checks it in depth (a threshold, a mapping list,
    an attribute definition): its `shape` is what that check takes, documented here, and
    its top-level `type` and `enum` are checked here."""

    name: str
    shape: Schema
    required: bool = False
    doc: str = ""

    def read(self, value: Any) -> Any:
        kinds = self.shape.get("type")
        if kinds is not None:
            kinds = [kinds] if isinstance(kinds, str) else kinds
            if not any(_is(value, k) for k in kinds):
                raise Invalid(f"{self.name} must be {' or '.join(kinds)}")
        if "enum" in self.shape and value not in self.shape["enum"]:
            raise Invalid(f"{self.name} must be one of {', '.join(map(repr, self.shape['enum']))}")
        return value

    def schema(self) -> Schema:
        return self.shape


Member = Text | Secret | Choice | Flag | Number | Strings | Raw


@dataclass(frozen=True, slots=True)
class Body:
    """A JSON object body: its members, and whether others are refused (`closed`, so a
    misspelt one cannot be silently dropped) or ignored."""

    members: tuple[Member, ...]
    closed: bool = True
    optional: bool = False  # no body at all reads as {}
    doc: str = ""

    def __init__(
        self, *members: Member, closed: bool = True, optional: bool = False, doc: str = ""
    ) -> None:
        object.__setattr__(self, "members", members)
        object.__setattr__(self, "closed", closed)
        object.__setattr__(self, "optional", optional)
        object.__setattr__(self, "doc", doc)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.members)

    def read(self, body: Any) -> dict[str, Any]:
        """Each member's value by name (a `Raw` member absent from the body is left out).
        Raises Invalid."""
        if not isinstance(body, dict):
            raise Invalid("the body must be a JSON object")
        if self.closed:
            unknown = sorted(k for k in body if k not in self.names)
            if unknown:
                named = ", ".join(repr(k[:64]) for k in unknown[:10])
                raise Invalid(
                    f"unknown member {named}; this body takes {', '.join(self.names) or 'none'}"
                )
        values: dict[str, Any] = {}
        for m in self.members:
            if isinstance(m, Raw):
                if m.name in body:
                    values[m.name] = body[m.name]
                elif m.required:
                    raise Invalid(f"{m.name} is required")
                continue
            values[m.name] = m.read(body.get(m.name))
        return values

    def schema(self) -> Schema:
        properties = {}
        for m in self.members:
            prop = m.schema()
            if m.doc:
                prop = {**prop, "description": m.doc}
            properties[m.name] = prop
        doc: Schema = {
            "type": "object",
            "properties": properties,
            "additionalProperties": not self.closed,
        }
        required = [m.name for m in self.members if m.required]
        if required:
            doc["required"] = required
        if self.doc:
            doc["description"] = self.doc
        return doc


# -- query parameters --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Integer:
    """A decimal integer in [least, most], `default` when absent."""

    name: str
    least: int
    most: int
    default: int | None = None
    doc: str = ""

    def read(self, raw: str | None) -> int | None:
        if raw is None:
            return self.default
        # str.isdigit accepts "²", which int() refuses; "007" is 7.
        if (
            raw.isascii()
            and raw.isdigit()
            and len(raw) <= 20
            and self.least <= int(raw) <= self.most
        ):
            return int(raw)
        raise Invalid(
            f"{self.name} must be an integer from {self.least} to {self.most}, got {raw[:64]!r}"
        )

    def schema(self) -> Schema:
        doc: Schema = {"type": "integer", "minimum": self.least, "maximum": self.most}
        if self.default is not None:
            doc["default"] = self.default
        return doc


@dataclass(frozen=True, slots=True)
class Word:
    """A string of `least` to `most` characters, one of `choices` when given; None when
    absent."""

    name: str
    most: int = 128
    choices: tuple[str, ...] = ()
    doc: str = ""
    least: int = 1

    def read(self, raw: str | None) -> str | None:
        if raw is None:
            return None
        if self.choices and raw not in self.choices:
            raise Invalid(f"{self.name} must be one of {', '.join(self.choices)}")
        if not self.least <= len(raw) <= self.most:
            raise Invalid(f"{self.name} has {self.least} to {self.most} characters")
        return raw

    def schema(self) -> Schema:
        if self.choices:
            return {"type": "string", "enum": list(self.choices)}
        return {"type": "string", "minLength": self.least, "maxLength": self.most}


@dataclass(frozen=True, slots=True)
class Names:
    """A comma-separated list of names from `choices` (blanks around names allowed); None
    when absent."""

    name: str
    choices: tuple[str, ...]
    doc: str = ""

    def read(self, raw: str | None) -> frozenset[str] | None:
        if raw is None:
            return None
        names = [n.strip() for n in raw.split(",") if n.strip()]
        if not names:
            raise Invalid(f"{self.name} must name at least one, comma-separated")
        unknown = sorted({n for n in names if n not in self.choices})
        if unknown:
            raise Invalid(
                f"unknown {self.name} {named(unknown)}; they are {', '.join(self.choices)}"
            )
        return frozenset(names)

    def schema(self) -> Schema:
        # A pattern, not an enum: any comma-separated selection of the names is taken.
        alternatives = "|".join(self.choices).replace(".", r"\.")
        return {
            "type": "string",
            # blanks and empty items around the names are skipped, as `read` does
            "pattern": rf"^[\s,]*({alternatives})([\s,]*,[\s,]*({alternatives}))*[\s,]*$",
            "description": f"comma-separated, of: {', '.join(self.choices)}",
        }


Param = Integer | Word | Names


@dataclass(frozen=True, slots=True)
class Query:
    """A route's query parameters: any other is refused (a misspelt one would otherwise
    widen a read without a word), and with `once`, a repeated one."""

    params: tuple[Param, ...]
    once: bool = False

    def __init__(self, *params: Param, once: bool = False) -> None:
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "once", once)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def read(self, query: Mapping[str, str]) -> dict[str, Any]:
        """Each parameter's value by name. Raises Invalid."""
        unknown = sorted({k for k in query if k not in self.names})
        if unknown:
            raise Invalid(
                f"unknown parameter {named(unknown)}; this takes {', '.join(self.names) or 'none'}"
            )
        getlist = getattr(query, "getlist", None)
        if self.once and getlist is not None:
            repeated = [k for k in self.names if len(getlist(k)) > 1]
            if repeated:
                raise Invalid(f"give {named(repeated)} at most once")
        return {p.name: p.read(query.get(p.name)) for p in self.params}


def named(names: Collection[str], most: int = 10) -> str:
    """Names quoted in a refusal, each cut to 64 characters, at most `most` of them."""
    listed = list(names)
    shown = ", ".join(repr(n[:64]) for n in listed[:most])
    more = len(listed) - most
    return shown + (f" and {more} more" if more > 0 else "")
