"""Values at and past the edges of every range a client can name: dateTimes whose UTC
instant falls outside years 1-9999, integers past any database's, digits that are not
ASCII. Each gets a correct answer or a 400, never a 500."""

from __future__ import annotations

import pytest

from scimhub.scim.listing import MAX_START_INDEX, SEARCH_REQUEST_URN
from tests.api.test_bad_input import assert_error
from tests.api.test_users import new_user
from tests.conftest import OrgClient

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
# In year 10000 UTC, after every stored time; in year 0 UTC, before every stored time.
AFTER_ALL = "9999-12-31T23:59:59-10:00"
BEFORE_ALL = "0001-01-01T00:00:00+05:00"
HUGE = str(10**25)


def _seed(org: OrgClient) -> str:
    """One user and one group holding it; returns the group's id."""
    uid = org.post("/Users", new_user("edge@example.com")).json()["id"]
    r = org.post(
        "/Groups", {"schemas": [GROUP], "displayName": "edge", "members": [{"value": uid}]}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.mark.parametrize(
    ("literal", "op", "matches"),
    [
        (AFTER_ALL, "gt", False),
        (AFTER_ALL, "ge", False),
        (AFTER_ALL, "eq", False),
        (AFTER_ALL, "lt", True),
        (AFTER_ALL, "le", True),
        (AFTER_ALL, "ne", True),
        (BEFORE_ALL, "gt", True),
        (BEFORE_ALL, "ge", True),
        (BEFORE_ALL, "eq", False),
        (BEFORE_ALL, "lt", False),
        (BEFORE_ALL, "le", False),
        (BEFORE_ALL, "ne", True),
        ("9999-12-31T23:59:59.999999-14:00", "gt", False),
        ("0001-01-01T00:00:00.000001+14:00", "lt", False),
    ],
)
def test_datetimes_outside_the_stored_range_compare_as_instants(
    org: OrgClient, literal: str, op: str, matches: bool
) -> None:
    """RFC 7644 §3.4.2.2 compares dateTimes chronologically, and these are valid
    xsd:dateTimes: one in year 10000 UTC is after every stored time, so it gets the same
    answer the in-memory evaluator gives, not a 400."""
    _seed(org)
    for resource in ("/Users", "/Groups"):
        for attr in ("meta.created", "meta.lastModified"):
            flt = f'{attr} {op} "{literal}"'
            r = org.get(resource, params={"filter": flt})
            assert r.status_code == 200, (flt, r.text)
            assert r.json()["totalResults"] == (1 if matches else 0), flt
            negated = org.get(resource, params={"filter": f"not ({flt})"})
            assert negated.json()["totalResults"] == (0 if matches else 1), flt


def test_datetimes_at_the_range_edges_in_utc_still_work(org: OrgClient) -> None:
    _seed(org)
    for flt in (
        'meta.created lt "9999-12-31T23:59:59Z"',
        'meta.created gt "0001-01-01T00:00:00Z"',
        'meta.created lt "9999-12-31T23:59:59+10:00"',
    ):
        assert org.get("/Users", params={"filter": flt}).json()["totalResults"] == 1, flt


@pytest.mark.parametrize(
    "flt",
    [
        'meta.created gt "10000-01-01T00:00:00Z"',
        'meta.created gt "2024-01-01T00:00:00+24:00"',
        "meta.created gt 5",
    ],
)
def test_datetimes_that_are_not_xsd_datetimes_are_invalid_filters(org: OrgClient, flt: str) -> None:
    assert_error(org.get("/Users", params={"filter": flt}), 400, "invalidFilter")


# ARABIC-INDIC DIGIT THREE, ARABIC-INDIC DIGIT ONE, SUPERSCRIPT TWO; JSON has no leading 0
@pytest.mark.parametrize(
    "flt",
    [
        "externalId eq \u0663",
        "emails[value eq \u0661]",
        "id eq \u00b2",
        "externalId eq 007",
        "title eq -01.5",
    ],
)
def test_numbers_json_would_not_read_are_invalid_filters(org: OrgClient, flt: str) -> None:
    assert_error(org.get("/Users", params={"filter": flt}), 400, "invalidFilter")


def test_members_paging_past_every_database_integer(org: OrgClient) -> None:
    gid = _seed(org)
    r = org.get(f"/Groups/{gid}/Members", params={"startIndex": HUGE, "count": HUGE})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["totalResults"], body["Resources"], body["startIndex"]) == (1, [], MAX_START_INDEX)
    r = org.get(f"/Groups/{gid}/Members", params={"startIndex": "-" + HUGE, "count": HUGE})
    assert r.json()["itemsPerPage"] == 1


@pytest.mark.parametrize("path", ["/Users", "/Groups", "/Groups/{gid}/Members"])
@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "1.5", "1e3", "", "9" * 5000])
def test_paging_parameters_must_be_ascii_integers(org: OrgClient, path: str, value: str) -> None:
    gid = _seed(org)
    for name in ("startIndex", "count"):
        r = org.get(path.format(gid=gid), params={name: value})
        assert_error(r, 400, "invalidValue")


@pytest.mark.parametrize(
    ("member", "status"),
    [
        (10**25, 200),
        (-(10**30), 200),
        (2**64, 200),
        (2.0, 200),
        (1.5, 400),
        (True, 400),
        ("1", 400),
        ([1], 400),
    ],
)
def test_search_body_paging_members(org: OrgClient, member: object, status: int) -> None:
    """orjson reads integers past 64 bits as floats, so an integral float is the integer it
    spells: the body means what the same number means as a query parameter."""
    _seed(org)
    for name in ("startIndex", "count"):
        r = org.post("/Users/.search", {"schemas": [SEARCH_REQUEST_URN], name: member})
        assert r.status_code == status, (name, member, r.text)
        if status == 400:
            assert r.json()["scimType"] == "invalidValue"


def test_a_huge_start_index_on_the_root_search_is_an_empty_page(org: OrgClient) -> None:
    _seed(org)
    r = org.post("/.search", {"schemas": [SEARCH_REQUEST_URN], "startIndex": 10**25})
    assert r.status_code == 200, r.text
    assert (r.json()["totalResults"], r.json()["Resources"]) == (2, [])


def test_users_listing_with_huge_integers(org: OrgClient) -> None:
    _seed(org)
    r = org.get("/Users", params={"startIndex": HUGE, "count": HUGE})
    assert r.status_code == 200 and r.json()["Resources"] == []
    assert org.get("/Users", params={"count": HUGE}).json()["itemsPerPage"] == 1


def test_binary_values_that_are_not_even_ascii_are_invalid(org: OrgClient) -> None:
    body = new_user("cert@example.com", x509Certificates=[{"value": "\x80"}])
    assert_error(org.post("/Users", body), 400, "invalidValue")
