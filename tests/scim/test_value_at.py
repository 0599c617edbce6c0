"""Reading a document at a PATCH path (what a sync preview compares attribute by attribute)."""

from __future__ import annotations

import pytest

from scimhub.scim.errors import InvalidPath
from scimhub.scim.evaluate import value_at
from scimhub.scim.filter import parse_path
from scimhub.scim.schemas import USER

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
DOC = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
    "userName": "ada@example.com",
    "active": False,
    "name": {"givenName": "Ada"},
    "emails": [
        {"type": "home", "value": "ada@home.example"},
        {"type": "work", "value": "ada@example.com", "primary": True},
    ],
    ENTERPRISE: {"department": "Research", "manager": {"value": "m-1"}},
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("userName", "ada@example.com"),
        ("active", False),
        ("name.givenName", "Ada"),
        ("name.familyName", None),
        ('emails[type eq "work"].value', ["ada@example.com"]),
        ('emails[type eq "other"].value', None),
        ('emails[type eq "home"]', [{"type": "home", "value": "ada@home.example"}]),
        (f"{ENTERPRISE}:department", "Research"),
        (f"{ENTERPRISE.upper()}:DEPARTMENT", "Research"),
        (f"{ENTERPRISE}:manager.value", "m-1"),
        (f"{ENTERPRISE}:employeeNumber", None),
        ("title", None),
    ],
)
def test_value_at(path: str, expected: object) -> None:
    assert value_at(USER, DOC, parse_path(path)) == expected


def test_an_unknown_attribute_is_refused_as_a_patch_would() -> None:
    with pytest.raises(InvalidPath):
        value_at(USER, DOC, parse_path("shoeSize"))
