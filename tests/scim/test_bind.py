"""Binding filters to a resource type: canonical names, type and operator checks."""

from __future__ import annotations

import pytest

from scimhub.scim.ast import And, AttrPath, Compare, Present, ValuePath
from scimhub.scim.bind import bind_filter
from scimhub.scim.errors import InvalidFilter
from scimhub.scim.filter import parse_filter
from scimhub.scim.schemas import ENTERPRISE_URN, GROUP, USER, USER_URN


def bound(text: str) -> object:
    return bind_filter(USER, parse_filter(text))


def test_names_become_canonical_and_urn_only_for_extensions() -> None:
    assert bound('USERNAME eq "a"') == Compare(AttrPath("userName"), "eq", "a")
    assert bound(f'{USER_URN}:name.GIVENNAME sw "A"') == Compare(
        AttrPath("name", "givenName"), "sw", "A"
    )
    assert bound(f'{ENTERPRISE_URN.lower()}:Manager.Value eq "m"') == Compare(
        AttrPath("manager", "value", ENTERPRISE_URN), "eq", "m"
    )
    assert bound('META.lastModified gt "2024-01-01T00:00:00Z"') == Compare(
        AttrPath("meta", "lastModified"), "gt", "2024-01-01T00:00:00Z"
    )


def test_multi_valued_complex_compares_its_value() -> None:
    assert bound('emails co "@x"') == Compare(AttrPath("emails", "value"), "co", "@x")
    assert bind_filter(GROUP, parse_filter('members eq "u1"')) == Compare(
        AttrPath("members", "value"), "eq", "u1"
    )


def test_value_path_sub_attributes_are_canonical() -> None:
    assert bound('Emails[TYPE eq "work"].VALUE pr') == ValuePath(
        AttrPath("emails"), And(Compare(AttrPath("type"), "eq", "work"), Present(AttrPath("value")))
    )


def test_boolean_strings_become_booleans() -> None:
    assert bound('active eq "False"') == Compare(AttrPath("active"), "eq", False)


def test_presence_of_complex_attribute_is_allowed() -> None:
    assert bound("name pr") == Present(AttrPath("name"))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('favourite eq "x"', "unknown attribute 'favourite'"),
        ('name.nick eq "x"', "unknown sub-attribute"),
        ('urn:example:x:1.0:User:y eq "x"', "is not defined"),
        ('emails[colour eq "x"]', "unknown attribute 'emails.colour'"),
        ('name[givenName eq "x"]', "not a multi-valued complex"),
        ('emails.value[type eq "x"]', "not a sub-attribute"),
        ('name eq "x"', "compare one of its sub-attributes"),
        ("active gt true", "'gt' does not apply"),
        ('active eq "yes"', "cannot be compared"),
        ("userName eq 5", "cannot be compared"),
        ('meta.created gt "yesterday"', "cannot be compared"),
        ('meta.created co "2024"', "'co' does not apply"),
        ("userName gt null", "meaningless"),
    ],
)
def test_refusals(text: str, fragment: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        bound(text)
    assert fragment in caught.value.detail
