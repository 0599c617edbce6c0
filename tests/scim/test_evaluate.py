"""Filter evaluation on documents: the reference semantics the SQL translation follows."""

from __future__ import annotations

from typing import Any

import pytest

from scimhub.scim.evaluate import element_matches, matches
from scimhub.scim.filter import parse_filter
from scimhub.scim.schemas import ENTERPRISE_URN, USER, USER_SCHEMA

DOC: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_URN],
    "id": "u-1",
    "externalId": "Ext-1",
    "userName": "Ada@Example.org",
    "active": True,
    "name": {"givenName": "Ada", "familyName": "King"},
    "emails": [
        {"value": "ada@work.example", "type": "work", "primary": True},
        {"value": "ada@home.example", "type": "home"},
    ],
    "meta": {"lastModified": "2024-05-01T12:00:00Z", "created": "2024-01-01T00:00:00+02:00"},
    ENTERPRISE_URN: {"manager": {"value": "boss"}, "department": "R&D"},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "ada@example.org"', True),  # caseExact=false
        ('userName sw "ADA@"', True),
        ('userName ew ".ORG"', True),
        ('userName co "example"', True),
        ('externalId eq "ext-1"', False),  # caseExact=true
        ('externalId eq "Ext-1"', True),
        ('id eq "U-1"', False),
        ('title eq "x"', False),
        ('title ne "x"', True),  # absent is "not equal"
        ("title eq null", True),
        ("userName ne null", True),
        ("title pr", False),
        ("name pr", True),
        ("active eq true", True),
        ('active eq "False"', False),
        ("active ne false", True),
        ('name.familyName gt "Hopper"', True),
        ('name.familyName le "King"', True),
        ('name.familyName lt "king"', False),
        ('emails.value co "home"', True),
        ('emails co "@work."', True),
        ('emails[type eq "work" and value co "home"]', False),  # same element required
        ('emails[type eq "home" and value co "home"]', True),
        ('emails[type eq "work"].primary eq true', True),
        ('emails[type eq "home"].primary eq true', False),
        ('emails.value ne "ada@work.example"', False),
        ('meta.lastModified gt "2024-05-01T11:59:59Z"', True),
        ('meta.lastModified ge "2024-05-01T14:00:00+02:00"', True),  # same instant
        ('meta.created lt "2023-12-31T23:00:00Z"', True),  # 22:00 UTC the day before
        (f'{ENTERPRISE_URN}:manager.value eq "BOSS"', True),
        (f'{ENTERPRISE_URN}:department eq "r&d" and not (active eq false)', True),
        ('userName eq "nobody" or name.givenName eq "ada"', True),
    ],
)
def test_matches(text: str, expected: bool) -> None:
    assert matches(USER, parse_filter(text), DOC) is expected


def test_element_matches() -> None:
    emails = USER_SCHEMA.attribute("emails")
    assert emails is not None
    element = {"value": "a@x", "type": "Work"}
    assert element_matches(emails, parse_filter('type eq "work"'), element)
    assert not element_matches(emails, parse_filter("primary eq true"), element)
    assert not element_matches(emails, parse_filter('colour eq "red"'), element)


def test_stored_values_of_the_wrong_type_never_match() -> None:
    odd = {**DOC, "title": 5, "meta": {"lastModified": "not a date"}}
    assert not matches(USER, parse_filter('title eq "5"'), odd)
    assert not matches(USER, parse_filter('meta.lastModified lt "2030-01-01T00:00:00Z"'), odd)
