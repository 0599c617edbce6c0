"""Multi-valued attributes: linear de-duplication with the semantics of `==`, and the bound
on the number of elements (SCIMHUB_MAX_MULTI_VALUES), for POST/PUT and PATCH alike."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimhub.scim.patch import PATCH_OP_URN, apply_patch, parse_patch
from scimhub.scim.resource import normalize
from scimhub.scim.schemas import GROUP, USER, USER_SCHEMA, Attribute
from scimhub.scim.values import TooManyValues, coerce_many, coerce_one, value_key

EMAILS = next(a for a in USER_SCHEMA.attributes if a.name == "emails")
DECIMALS = Attribute("scores", type="decimal", multi_valued=True)


def ops(*operations: dict[str, Any]) -> Any:
    return parse_patch({"schemas": [PATCH_OP_URN], "Operations": list(operations)})


def emails(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"value": f"u{i}@example.com", "type": "work"} for i in range(start, start + count)]


def list_membership_dedup(attr: Attribute, items: list[Any]) -> list[Any]:
    """The de-duplication as it was (O(n²)): the reference the linear one must agree with."""
    kept: list[Any] = []
    for item in items:
        element = coerce_one(attr, item, attr.name)
        if element is not None and element not in kept:
            kept.append(element)
    return kept


# -- de-duplication -----------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, width=16)
    | st.sampled_from(["a", "A", "b"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["value", "Value", "type"]), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(JSON_VALUES, JSON_VALUES)
def test_value_key_is_equal_exactly_when_values_are(a: Any, b: Any) -> None:
    assert (value_key(a) == value_key(b)) is (a == b)
    if a == b:
        assert hash(value_key(a)) == hash(value_key(b))


ELEMENTS = st.lists(
    st.fixed_dictionaries(
        {"value": st.sampled_from(["a@x", "A@x", "b@x"])},
        optional={
            "type": st.sampled_from(["work", "home"]),
            "display": st.sampled_from(["d", "D"]),
            "primary": st.just(False),
        },
    ),
    max_size=8,
)


@given(ELEMENTS)
def test_collapses_the_same_elements_as_list_membership_did(items: list[Any]) -> None:
    """Key order does not matter, case does (as before: a differently cased value is kept),
    and the first of each set of duplicates stays, in place."""
    assert coerce_many(EMAILS, items, "emails") == (list_membership_dedup(EMAILS, items) or None)


def test_numbers_equal_by_value_collapse_as_before() -> None:
    assert coerce_many(DECIMALS, [1, 1.0, 2, 2.5, 2.50], "scores") == [1, 2, 2.5]


def test_dedup_of_50000_elements_is_linear() -> None:
    """50,000 elements, half of them repeated: pairwise comparison (the old way, 39.5 s for
    61,500) would take over a minute here; hashing takes a fraction of a second."""
    items = emails(25_000) + emails(25_000)
    started = time.perf_counter()
    result = coerce_many(EMAILS, items, "emails")
    elapsed = time.perf_counter() - started
    assert result == emails(25_000)
    assert elapsed < 2.0, f"de-duplication took {elapsed:.1f} s"


def test_patch_add_merges_50000_onto_50000_in_linear_time() -> None:
    doc = normalize(USER, {"userName": "a", "emails": emails(50_000)}).doc
    started = time.perf_counter()
    result = apply_patch(
        USER, doc, ops({"op": "add", "path": "emails", "value": emails(50_000, start=25_000)})
    )
    elapsed = time.perf_counter() - started
    assert result.doc["emails"] == emails(75_000)
    assert elapsed < 3.0, f"merging took {elapsed:.1f} s"


# -- the bound ----------------------------------------------------------------------------


def test_post_past_the_bound_is_invalid_value_naming_attribute_and_limit() -> None:
    assert normalize(USER, {"userName": "a", "emails": emails(3)}, max_values=3).doc["emails"]
    with pytest.raises(TooManyValues) as refused:
        normalize(USER, {"userName": "a", "emails": emails(4)}, max_values=3)
    assert refused.value.scim_type == "invalidValue" and refused.value.status == 400
    assert refused.value.detail == "'emails' has 4 values; at most 3 are accepted"


def test_the_count_is_checked_before_any_element_is_coerced() -> None:
    """A refused value costs nothing: not even the first element is looked at."""
    with pytest.raises(TooManyValues):
        normalize(USER, {"userName": "a", "roles": ["not an object"] * 100_000}, max_values=1000)


@pytest.mark.parametrize(
    "attribute",
    ["phoneNumbers", "addresses", "roles", "entitlements", "ims", "photos", "x509Certificates"],
)
def test_every_multi_valued_attribute_of_a_user_is_bounded(attribute: str) -> None:
    element = (
        {"formatted": "x"}
        if attribute == "addresses"
        else {"value": "eA=="}
        if attribute == "x509Certificates"
        else {"value": "x"}
    )
    values = [{**element, "display": str(i)} for i in range(3)]
    with pytest.raises(TooManyValues, match=f"'{attribute}' has 3 values; at most 2"):
        normalize(USER, {"userName": "a", attribute: values}, max_values=2)


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "emails", "value": emails(1, start=2)},
        {"op": "replace", "path": "emails", "value": emails(3)},
        {"op": "add", "value": {"emails": emails(1, start=2)}},
        {"op": "add", "path": 'emails[value eq "new@example.com"].type', "value": "work"},
    ],
    ids=["add", "replace", "path-less", "create-on-no-match"],
)
def test_patch_past_the_bound_is_refused(operation: dict[str, Any]) -> None:
    doc = normalize(USER, {"userName": "a", "emails": emails(2)}).doc
    with pytest.raises(TooManyValues, match="'emails' has 3 values; at most 2"):
        apply_patch(USER, doc, ops(operation), max_values=2)


def test_patch_checks_after_every_operation_so_none_works_on_a_larger_attribute() -> None:
    doc = normalize(USER, {"userName": "a"}).doc
    adds = [{"op": "add", "path": "emails", "value": emails(1, start=i)} for i in range(5)]
    with pytest.raises(TooManyValues, match=r"^operation 3: 'emails' has 3 values"):
        apply_patch(USER, doc, ops(*adds), max_values=2)


def test_patch_within_the_bound_and_removals_pass() -> None:
    doc = normalize(USER, {"userName": "a", "emails": emails(2)}).doc
    remove_first = {"op": "remove", "path": 'emails[value eq "u0@example.com"]'}
    result = apply_patch(
        USER,
        doc,
        ops({"op": "add", "path": "emails", "value": emails(2)}, remove_first),
        max_values=2,
    )
    assert result.doc["emails"] == emails(1, start=1)


def test_group_members_are_rows_not_bounded_values() -> None:
    """Members are stored as rows and change in proportion to the request; the payload and
    Bulk limits bound them, not the limit on a document's values."""
    members = [{"value": f"m{i}"} for i in range(10)]
    assert (
        len(normalize(GROUP, {"displayName": "g", "members": members}, max_values=2).members) == 10
    )
    result = apply_patch(
        GROUP,
        {"schemas": [GROUP.schema.id], "displayName": "g"},
        ops({"op": "add", "path": "members", "value": members}),
        max_values=2,
    )
    assert result.deferred[0].values == [m["value"] for m in members]


def test_a_removal_may_leave_an_attribute_above_a_lowered_bound() -> None:
    """A document stored under a higher bound can still be shrunk step by step."""
    doc = normalize(USER, {"userName": "a", "emails": emails(5)}).doc
    result = apply_patch(
        USER, doc, ops({"op": "remove", "path": 'emails[value eq "u0@example.com"]'}), max_values=2
    )
    assert result.doc["emails"] == emails(4, start=1)
