"""meta, ETags and rendering (RFC 7643 §3.1, RFC 7644 §3.14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from scimhub.scim.render import etag, etag_matches, format_datetime, meta_for, render


def test_format_datetime_is_utc_with_z() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert format_datetime(datetime(2024, 5, 1, 14, 0, 0, 123456, plus_two)) == (
        "2024-05-01T12:00:00.123Z"
    )
    assert format_datetime(datetime(2024, 5, 1, 12, 0)) == "2024-05-01T12:00:00.000Z"
    assert format_datetime(datetime(2024, 5, 1, 12, 0, 0, 999999, UTC)) == (
        "2024-05-01T12:00:00.999Z"
    )
    zero = timezone(timedelta(0))  # equal to UTC but not the same object
    assert format_datetime(datetime(1, 1, 1, 0, 0, 1, tzinfo=zero)) == "0001-01-01T00:00:01.000Z"
    minus_five = timezone(timedelta(hours=-5))
    assert format_datetime(datetime(2024, 12, 31, 20, 30, tzinfo=minus_five)) == (
        "2025-01-01T01:30:00.000Z"
    )


def test_meta_for() -> None:
    created = datetime(2024, 1, 1, tzinfo=UTC)
    assert meta_for("User", created, created + timedelta(seconds=1), 4, "https://h/Users/1") == {
        "resourceType": "User",
        "created": "2024-01-01T00:00:00.000Z",
        "lastModified": "2024-01-01T00:00:01.000Z",
        "location": "https://h/Users/1",
        "version": 'W/"4"',
    }


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('W/"4"', True),
        ('"4"', True),
        ("*", True),
        ('W/"3", W/"4"', True),
        ('W/"3"', False),
        ('W/"44"', False),
        ("4", False),
        ("", False),
    ],
)
def test_etag_matches(header: str, expected: bool) -> None:
    assert etag(4) == 'W/"4"'
    assert etag_matches(header, 4) is expected


def test_render_orders_and_skips_empty_derived() -> None:
    doc = {"schemas": ["urn:x"], "displayName": "G"}
    resource = render(
        doc, resource_id="g1", meta={"version": 'W/"1"'}, derived={"members": [], "extra": None}
    )
    assert resource == {
        "schemas": ["urn:x"],
        "id": "g1",
        "displayName": "G",
        "meta": {"version": 'W/"1"'},
    }
    assert list(resource) == ["schemas", "id", "displayName", "meta"]
    with_members = render(doc, resource_id="g1", meta={}, derived={"members": [{"value": "u"}]})
    assert with_members["members"] == [{"value": "u"}]
