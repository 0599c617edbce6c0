"""Attribute value rules (RFC 7643 §2.3 data types, §2.4 multi-valued attributes).

One function checks and normalises a JSON value against its attribute definition, so a
value reaching the store is the same whether it arrived by POST, PUT or PATCH.
Unassigned values (null, `[]`, `{}`) come back as None: RFC 7643 §2.5 makes them equivalent
to absence, and the document model never stores them.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Any

from . import dialects
from .errors import InvalidValue
from .schemas import ANY, Attribute

_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


class TooManyValues(InvalidValue):
    """A multi-valued attribute with more elements than the service keeps.

    The scimType is invalidValue, not tooMany: RFC 7644 §3.12 defines tooMany for a filter
    that yields more results than the server will process, which a client answers by
    narrowing its query; here the value itself is refused, and the detail names the
    attribute and the limit so the client can act on it.
    """


def storable_text(text: str) -> bool:
    """Text without NUL or unpaired surrogates: what every database and UTF-8 can carry."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_datetime(text: str) -> datetime | None:
    """An xsd:dateTime (RFC 7643 §2.3.5), or None when `text` is not one.

    A value without a zone offset is read as UTC, so any two values compare.
    """
    if not _DATETIME_RE.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def coerce(attr: Attribute, value: Any, where: str, *, max_values: int | None = None) -> Any:
    """The normalised value of a whole attribute (a list when multi-valued), None if unassigned.

    `where` is the attribute's path as the client would write it, for error details;
    `max_values` bounds the elements of a multi-valued attribute (None: unbounded).
    """
    if attr.multi_valued:
        return coerce_many(attr, value, where, max_values=max_values)
    return coerce_one(attr, value, where)


def coerce_many(
    attr: Attribute, value: Any, where: str, *, max_values: int | None = None
) -> list[Any] | None:
    """Elements of a multi-valued attribute; a lone element is tolerated and wrapped.

    Identical elements collapse into one: a set of values has no duplicates (§2.4). The
    count is checked before any element is coerced, so refusing costs nothing.
    """
    items = value if isinstance(value, list) else [value]
    check_count(len(items), where, max_values)
    elements: list[Any] = []
    seen: set[Hashable] = set()
    for item in items:
        element = coerce_one(attr, item, where)
        if element is None:
            continue
        key = value_key(element)
        if key not in seen:
            seen.add(key)
            elements.append(element)
    check_single_primary(attr, elements, where)
    return elements or None


def check_count(count: int, where: str, max_values: int | None) -> None:
    """Raise TooManyValues when a multi-valued attribute has more than `max_values` elements."""
    if max_values is not None and count > max_values:
        raise TooManyValues(f"'{where}' has {count} values; at most {max_values} are accepted")


def value_key(value: Any) -> Hashable:
    """A hashable stand-in for a JSON value, equal to another's exactly when the values are
    equal (`==`), so a set finds duplicates in linear time with the semantics of list
    membership: objects compare without regard to key order, numbers by value (1 == 1.0),
    strings exactly (caseExact or not, a differently cased value is kept, as before)."""
    if isinstance(value, dict):
        return frozenset((key, value_key(item)) for key, item in value.items())
    if isinstance(value, list):
        return tuple(value_key(item) for item in value)
    scalar: str | int | float | bool | None = value  # hash agrees with == across them
    return scalar


def coerce_one(attr: Attribute, value: Any, where: str) -> Any:
    """One value (or one element of a multi-valued attribute), None if unassigned."""
    if attr.type == ANY:
        return value  # kept as sent (schemas.ANY)
    if not attr.multi_valued:
        value = dialects.single_complex(attr, value)
    if value is None:
        return None
    if attr.type == "complex":
        return _complex(attr, value, where)
    return _scalar(attr, value, where)


def check_single_primary(attr: Attribute, elements: list[Any], where: str) -> None:
    """`primary: true` may mark at most one element (RFC 7643 §2.4)."""
    primaries = sum(1 for e in elements if isinstance(e, dict) and e.get("primary") is True)
    if primaries > 1:
        raise InvalidValue(f"'{where}' has {primaries} elements marked primary; at most one")


def _complex(attr: Attribute, value: Any, where: str) -> dict[str, Any] | None:
    """Sub-attribute names map case-insensitively to canonical ones; readOnly ones are
    ignored as input (RFC 7643 §2.2), unknown ones refused so no data is silently lost."""
    if not isinstance(value, dict):
        raise InvalidValue(f"'{where}' must be an object, got {json_type(value)}")
    result: dict[str, Any] = {}
    seen: set[str] = set()
    for key, item in value.items():
        sub = attr.sub(key)
        if sub is None:
            raise InvalidValue(f"unknown attribute '{where}.{key}'")
        if sub.name in seen:
            raise InvalidValue(f"attribute '{where}.{sub.name}' given twice")
        seen.add(sub.name)
        if sub.mutability == "readOnly":
            continue
        coerced = coerce_one(sub, item, f"{where}.{sub.name}")
        if coerced is not None:
            result[sub.name] = coerced
    return result or None


def _scalar(attr: Attribute, value: Any, where: str) -> Any:
    checked = _SCALAR_CHECKS[attr.type](value)
    if checked is None:
        expected = _EXPECTED[attr.type]
        raise InvalidValue(f"'{where}' must be {expected}, got {json_type(value)}{_preview(value)}")
    return checked


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and storable_text(value) else None


def _binary(value: Any) -> str | None:
    if _text(value) is None:
        return None
    try:
        base64.b64decode(value, validate=True)
    except ValueError:  # binascii.Error, or text that is not even ASCII
        return None
    return str(value)


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return dialects.boolean_text(value) if isinstance(value, str) else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _decimal(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None


def _datetime(value: Any) -> str | None:
    return value if _text(value) is not None and parse_datetime(value) else None


_SCALAR_CHECKS = {
    "string": _text,
    "reference": _text,
    "binary": _binary,
    "boolean": _boolean,
    "integer": _integer,
    "decimal": _decimal,
    "dateTime": _datetime,
}
_EXPECTED = {
    "string": "a string",
    "reference": "a string (URI)",
    "binary": "base64 text",
    "boolean": "a boolean (true or false)",
    "integer": "an integer",
    "decimal": "a number",
    "dateTime": "an xsd:dateTime string (e.g. 2024-05-01T12:00:00Z)",
}


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for error details a client can act on."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _preview(value: Any) -> str:
    """A short rendering of a scalar to append to an error detail ('' for containers)."""
    if isinstance(value, dict | list):
        return ""
    text = repr(value)
    return " " + (text if len(text) <= 40 else text[:37] + "...")
