"""Filters, sorting and paging: translated to SQL and checked against known data."""

from __future__ import annotations

import pytest

from tests.api.test_users import ENTERPRISE, USER
from tests.conftest import OrgClient

PEOPLE = [
    # userName, given, family, title, active, dept, emails
    (
        "alice@example.com",
        "Alice",
        "Archer",
        "Engineer",
        True,
        "R&D",
        [("alice@example.com", "work"), ("alice@home.org", "home")],
    ),
    ("bob@example.com", "Bob", "Baker", "Manager", True, "Sales", [("bob@example.com", "work")]),
    ("carol@other.net", "Carol", "Cole", None, False, "R&D", [("carol@other.net", "work")]),
    ("dave_100%@example.com", "Dave", "Dunn", "Engineer", True, None, []),
]


@pytest.fixture
def people(org: OrgClient) -> dict[str, str]:
    ids = {}
    for name, given, family, title, active, dept, emails in PEOPLE:
        body = {
            "schemas": [USER, ENTERPRISE],
            "userName": name,
            "active": active,
            "name": {"givenName": given, "familyName": family},
            "emails": [{"value": v, "type": t} for v, t in emails],
        }
        if title:
            body["title"] = title
        if dept:
            body[ENTERPRISE] = {"department": dept}
        r = org.post("/Users", body)
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    return ids


def names(org: OrgClient, flt: str, **params: str) -> list[str]:
    r = org.get("/Users", params={"filter": flt, **params})
    assert r.status_code == 200, r.text
    return sorted(u["userName"] for u in r.json()["Resources"])


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ('userName eq "ALICE@example.com"', ["alice@example.com"]),
        (
            'userName ne "alice@example.com"',
            ["bob@example.com", "carol@other.net", "dave_100%@example.com"],
        ),
        (
            'userName co "example"',
            ["alice@example.com", "bob@example.com", "dave_100%@example.com"],
        ),
        ('userName sw "b"', ["bob@example.com"]),
        ('userName ew ".NET"', ["carol@other.net"]),
        ('userName co "_100%"', ["dave_100%@example.com"]),  # LIKE wildcards are escaped
        ('userName co "%"', ["dave_100%@example.com"]),
        ("title pr", ["alice@example.com", "bob@example.com", "dave_100%@example.com"]),
        ("not (title pr)", ["carol@other.net"]),
        ('title eq "engineer" and active eq true', ["alice@example.com", "dave_100%@example.com"]),
        ('title eq "Manager" or active eq false', ["bob@example.com", "carol@other.net"]),
        ('not (title eq "Engineer")', ["bob@example.com", "carol@other.net"]),
        ('name.givenName eq "bob"', ["bob@example.com"]),
        (
            'name.familyName gt "B" and name.familyName lt "D"',
            ["bob@example.com", "carol@other.net"],
        ),
        ('emails.value eq "alice@home.org"', ["alice@example.com"]),
        (
            'emails[type eq "work" and value co "@example.com"]',
            ["alice@example.com", "bob@example.com"],
        ),
        ('emails[type eq "work"].value eq "carol@other.net"', ["carol@other.net"]),
        ("emails pr", ["alice@example.com", "bob@example.com", "carol@other.net"]),
        ('emails[type eq "home"]', ["alice@example.com"]),
        (f'{ENTERPRISE}:department eq "r&d"', ["alice@example.com", "carol@other.net"]),
        (
            '(userName sw "a" or userName sw "b") and not (emails[type eq "home"])',
            ["bob@example.com"],
        ),
        ('meta.resourceType eq "User" and userName sw "c"', ["carol@other.net"]),
        ("externalId pr", []),
    ],
)
def test_filters(org: OrgClient, people: dict[str, str], flt: str, expected: list[str]) -> None:
    assert names(org, flt) == expected


def test_filter_by_id_and_meta_dates(org: OrgClient, people: dict[str, str]) -> None:
    uid = people["bob@example.com"]
    assert names(org, f'id eq "{uid}"') == ["bob@example.com"]
    assert len(names(org, 'meta.lastModified ge "2000-01-01T00:00:00Z"')) == 4
    assert names(org, 'meta.created gt "2999-01-01T00:00:00Z"') == []


def test_sorting_and_paging(org: OrgClient, people: dict[str, str]) -> None:
    r = org.get("/Users", params={"sortBy": "name.givenName", "sortOrder": "descending"}).json()
    assert [u["name"]["givenName"] for u in r["Resources"]] == ["Dave", "Carol", "Bob", "Alice"]
    page = org.get("/Users", params={"sortBy": "userName", "startIndex": "2", "count": "2"})
    body = page.json()
    assert body["totalResults"] == 4 and body["startIndex"] == 2 and body["itemsPerPage"] == 2
    assert [u["userName"] for u in body["Resources"]] == ["bob@example.com", "carol@other.net"]
    empty = org.get("/Users", params={"count": "0"}).json()
    assert empty["totalResults"] == 4 and empty.get("Resources", []) == []


def test_post_search(org: OrgClient, people: dict[str, str]) -> None:
    r = org.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName sw "a"',
            "attributes": ["userName"],
            "count": 10,
        },
    )
    assert r.status_code == 200, r.text
    res = r.json()["Resources"]
    assert [u["userName"] for u in res] == ["alice@example.com"]
    assert "name" not in res[0]


def test_entra_test_connection_random_guid_finds_nothing(org: OrgClient) -> None:
    r = org.get("/Users", params={"filter": 'userName eq "6a2d5b3c-98e4-4e3e-9a56-3c0b4f2f9e11"'})
    assert r.status_code == 200 and r.json()["totalResults"] == 0


@pytest.mark.parametrize(
    "flt",
    [
        "userName eq",
        'userName xx "a"',
        '(userName eq "a"',
        'emails[type eq "work"',
        "active gt true",
        'nosuch eq "x"',
        'name eq "x"',
        'userName eq "a" and',
        'meta.created gt "not-a-date"',
    ],
)
def test_bad_filters_are_invalid_filter(org: OrgClient, flt: str) -> None:
    r = org.get("/Users", params={"filter": flt})
    assert r.status_code == 400, (flt, r.text)
    assert r.json()["scimType"] == "invalidFilter"
