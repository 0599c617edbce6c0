"""Turning a stored document into a response resource: `id`, derived attributes and `meta`
(RFC 7643 §3.1), with versions as weak ETags (RFC 7644 §3.14)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def format_datetime(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z` and milliseconds (xsd:dateTime, RFC 7643 §2.3.5). A naive
    value is taken to be UTC already, which is what SQLite hands back."""
    utc = moment if moment.tzinfo is None or moment.tzinfo is UTC else moment.astimezone(UTC)
    # isoformat is several times cheaper than strftime, and this runs twice per resource;
    # its first 23 characters are `YYYY-MM-DDTHH:MM:SS.mmm`, before any `+00:00`.
    return utc.isoformat(timespec="milliseconds")[:23] + "Z"


def etag(version: int) -> str:
    """`W/"3"`: weak, since equal versions mean equal resources, not equal bytes."""
    return f'W/"{version}"'


def etag_matches(header: str, version: int) -> bool:
    """Whether an If-Match / If-None-Match header names this version: `*`, or a list of
    tags compared weakly (RFC 9110 §8.8.3.2, the `W/` prefix does not matter)."""
    tags = [tag.strip() for tag in header.split(",")]
    wanted = f'"{version}"'
    return any(tag == "*" or tag.removeprefix("W/") == wanted for tag in tags)


def meta_for(
    resource_type: str, created: datetime, last_modified: datetime, version: int, location: str
) -> dict[str, Any]:
    """The `meta` attribute of a resource (RFC 7643 §3.1)."""
    return {
        "resourceType": resource_type,
        "created": format_datetime(created),
        "lastModified": format_datetime(last_modified),
        "location": location,
        "version": etag(version),
    }


def render(
    doc: Mapping[str, Any],
    *,
    resource_id: str,
    meta: Mapping[str, Any],
    derived: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A response resource: `schemas` and `id` first, then the document, then derived
    attributes the store supplies (user `groups`, group `members`; empty ones left out,
    RFC 7643 §2.5), then `meta`."""
    resource: dict[str, Any] = {"schemas": doc["schemas"], "id": resource_id}
    resource.update((k, v) for k, v in doc.items() if k != "schemas")
    resource.update((k, v) for k, v in (derived or {}).items() if v not in (None, [], {}))
    resource["meta"] = dict(meta)
    return resource
