"""The indexed copies of custom attribute values (table `custom_values`): built from a
resource's document, rewritten with it, and checked for uniqueness in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from ..scim.custom import AttributeType, Definition
from ..scim.errors import InvalidValue, Uniqueness
from ..scim.values import parse_datetime
from .errors import is_unique_violation
from .tables import custom_values

# Longest string value kept: enough for any badge number or cost centre, and short enough
# for every database's b-tree entry (PostgreSQL refuses index rows over ~2.7 kB).
MAX_TEXT = 1024


@dataclass(frozen=True, slots=True)
class Indexed:
    """A definition with its row id: what the store needs to keep and find its values."""

    id: str
    definition: Definition


def utc_text(moment: datetime) -> str:
    """A time as fixed-width UTC text: ordering the text orders the times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def text_key(indexed: Indexed, value: str) -> str:
    """A string value as its column holds it (lower-cased unless caseExact)."""
    return value if indexed.definition.case_exact else value.lower()


def rows(
    attributes: Sequence[Indexed], resource_id: str, doc: dict[str, Any]
) -> list[dict[str, Any]]:
    """The value rows of a (validated) document. Raises InvalidValue for a string longer
    than MAX_TEXT."""
    out: list[dict[str, Any]] = []
    for indexed in attributes:
        d = indexed.definition
        value = doc.get(d.schema, {}).get(d.name)
        if value is None:
            continue
        claimed: set[str] = set()
        for position, one in enumerate(value if d.multi_valued else [value]):
            text, number = _columns(indexed, one)
            key = _unique_key(text, number) if d.unique else None
            if key is not None and key in claimed:
                continue  # "A" and "a" of one resource: the same value, claimed once
            if key is not None:
                claimed.add(key)
            out.append(
                {
                    "resource_id": resource_id,
                    "attribute_id": indexed.id,
                    "position": position,
                    "text_value": text,
                    "number_value": number,
                    "unique_key": key,
                }
            )
    return out


def _unique_key(text: str | None, number: float | None) -> str:
    return text if text is not None else repr(number)


def unique_key(definition: Definition, value: Any) -> str | None:
    """The key a unique attribute's `value` is claimed under, as a filter's literal gives
    it (None: a literal no stored value can equal, or a type whose key is not its text)."""
    if definition.type in (AttributeType.STRING, AttributeType.REFERENCE):
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            return None
        return value if definition.case_exact else value.lower()
    if definition.type in (AttributeType.INTEGER, AttributeType.DECIMAL):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return _unique_key(None, float(value))
    return None


def _columns(indexed: Indexed, value: Any) -> tuple[str | None, float | None]:
    kind = indexed.definition.type
    if kind in (AttributeType.BOOLEAN, AttributeType.INTEGER, AttributeType.DECIMAL):
        return None, float(value)
    if kind is AttributeType.DATETIME:
        moment = parse_datetime(value)
        assert moment is not None  # the document was validated
        return utc_text(moment), None
    if len(value) > MAX_TEXT:
        raise InvalidValue(f"'{indexed.definition.path}' is longer than {MAX_TEXT} characters")
    return text_key(indexed, value), None


def write(
    conn: Connection,
    attributes: Sequence[Indexed],
    resource_id: str,
    doc: dict[str, Any],
    *,
    replace: bool,
) -> None:
    """Store a resource's values (`replace`: dropping the ones it had). Raises Uniqueness,
    naming the attribute, when another resource holds a unique value."""
    new = rows(attributes, resource_id, doc)
    if replace:
        conn.execute(delete(custom_values).where(custom_values.c.resource_id == resource_id))
    taken = [r for r in new if r["unique_key"] is not None and _holder(conn, r) is not None]
    if taken:
        raise _in_use(attributes, taken)
    if not new:
        return
    try:
        conn.execute(insert(custom_values), new)
    except IntegrityError as exc:
        # Another transaction claimed the value between the check and the insert
        # (PostgreSQL, concurrent writers).
        if not is_unique_violation(exc):
            raise
        raise _in_use(attributes, [r for r in new if r["unique_key"] is not None]) from None


def _in_use(attributes: Sequence[Indexed], taken: list[dict[str, Any]]) -> Uniqueness:
    ids = {r["attribute_id"] for r in taken}
    names = " or ".join(f"'{i.definition.path}'" for i in attributes if i.id in ids)
    return Uniqueness(f"{names} must be unique and this value is already in use")


def _holder(conn: Connection, row: dict[str, Any]) -> str | None:
    return conn.execute(
        select(custom_values.c.resource_id).where(
            custom_values.c.attribute_id == row["attribute_id"],
            custom_values.c.unique_key == row["unique_key"],
            custom_values.c.resource_id != row["resource_id"],
        )
    ).scalar()


def drop(conn: Connection, resource_id: str) -> None:
    conn.execute(delete(custom_values).where(custom_values.c.resource_id == resource_id))
