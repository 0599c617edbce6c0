"""Property tests: whatever a client sends, the protocol core answers with a ScimError (a 4xx
the API renders) or a result, never with any other exception (a 500)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimhub.scim.bind import bind_filter
from scimhub.scim.errors import ScimError
from scimhub.scim.evaluate import matches
from scimhub.scim.filter import parse_filter, parse_path
from scimhub.scim.patch import PATCH_OP_URN, apply_patch, parse_patch
from scimhub.scim.resource import normalize
from scimhub.scim.schemas import ENTERPRISE_URN, GROUP, USER

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = [
    "userName",
    "name",
    "name.givenName",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "active",
    "meta.lastModified",
    "members",
    "members.value",
    "displayName",
    "groups",
    "id",
    "password",
    f"{ENTERPRISE_URN}:manager.value",
    f"{ENTERPRISE_URN}:department",
    "urn:x:y:z",
    "nope",
    "$ref",
    "x509Certificates",
]
OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "pr", "xx"]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["2024-05-01T12:00:00Z", "True", "false", "work"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "value",
                    "type",
                    "primary",
                    "display",
                    "givenName",
                    "Value",
                    "x",
                    "members",
                    "userName",
                ]
            )
            | st.text(max_size=6),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@st.composite
def structured_filters(draw: st.DrawFn, depth: int = 0) -> str:
    """Filter text assembled from grammar pieces: mostly well-formed, sometimes not."""
    kind = draw(st.integers(0, 5 if depth < 3 else 1))
    if kind <= 1:
        name, op = draw(st.sampled_from(NAMES)), draw(st.sampled_from(OPS))
        literal = draw(SCALARS.map(lambda v: json.dumps(v) if v == v else "NaN"))
        return f"{name} {op}" if op == "pr" else f"{name} {op} {literal}"
    inner = draw(structured_filters(depth + 1))
    if kind == 2:
        return f"not ({inner})"
    if kind == 3:
        return f"({inner})"
    if kind == 4:
        sub = draw(st.sampled_from(["", ".value", ".type", ".bogus"]))
        return f"{draw(st.sampled_from(NAMES))}[{inner}]{sub}"
    joiner = draw(st.sampled_from([" and ", " or ", " AND ", " Or "]))
    return inner + joiner + draw(structured_filters(depth + 1))


SAMPLE_USER = normalize(
    USER,
    {
        "userName": "ada@example.org",
        "active": True,
        "name": {"givenName": "Ada"},
        "emails": [{"value": "a@x", "type": "work", "primary": True}],
        ENTERPRISE_URN: {"manager": "boss", "department": "R&D"},
    },
).doc
SAMPLE_GROUP = normalize(GROUP, {"displayName": "Engineering"}).doc


def _filter_pipeline(text: str) -> None:
    with contextlib.suppress(ScimError):
        tree = parse_filter(text)
        with contextlib.suppress(ScimError):
            bind_filter(GROUP, tree)
        matches(USER, tree, SAMPLE_USER)


@SETTINGS
@given(st.text(max_size=200))
def test_random_text_filters(text: str) -> None:
    _filter_pipeline(text)


@SETTINGS
@given(structured_filters())
def test_structured_filters(text: str) -> None:
    _filter_pipeline(text)


@SETTINGS
@given(st.one_of(st.text(max_size=80), structured_filters().map(lambda f: f"emails[{f}].value")))
def test_random_paths(text: str) -> None:
    with contextlib.suppress(ScimError):
        parse_path(text)


PATHS = st.one_of(
    st.sampled_from(
        [
            *NAMES,
            'emails[type eq "work"].value',
            'members[value eq "u1"]',
            'addresses[type eq "work"].streetAddress',
            "name.givenName",
            'emails[type eq "work"]',
            'emails[value co "x"].primary',
            "title",
            f"{ENTERPRISE_URN}:manager",
            'members[type eq "User"]',
        ]
    ),
    st.text(max_size=30),
)
ELEMENT = st.fixed_dictionaries(
    {},
    optional={
        "value": st.text(max_size=5),
        "type": st.sampled_from(["work", "home", "User"]),
        "primary": st.sampled_from([True, False, "True"]),
    },
)
PLAUSIBLE = st.one_of(
    st.text(max_size=8),
    st.booleans(),
    st.sampled_from(["True", "False"]),
    ELEMENT,
    st.lists(ELEMENT, max_size=3),
    st.dictionaries(st.sampled_from(NAMES), st.text(max_size=4), max_size=3),
)
OPERATION = st.fixed_dictionaries(
    {
        "op": st.sampled_from(["add", "Add", "replace", "Replace", "remove", "REMOVE"]),
        "value": st.one_of(PLAUSIBLE, PLAUSIBLE, JSON),
    },
    optional={"path": PATHS},
)
WELL_FORMED = st.fixed_dictionaries(
    {"schemas": st.just([PATCH_OP_URN]), "Operations": st.lists(OPERATION, min_size=1, max_size=3)}
)
MESSAGE = st.one_of(WELL_FORMED, WELL_FORMED, WELL_FORMED, JSON)


@SETTINGS
@given(MESSAGE)
def test_random_patch_documents(body: Any) -> None:
    for rt, doc in ((USER, SAMPLE_USER), (GROUP, SAMPLE_GROUP)):
        try:
            result = apply_patch(rt, doc, parse_patch(body))
        except ScimError:
            continue
        # Whatever was accepted still satisfies the document model.
        assert normalize(rt, result.doc).doc == result.doc


@SETTINGS
@given(st.one_of(JSON, st.dictionaries(st.sampled_from(NAMES), JSON, max_size=6)))
def test_random_resource_bodies(body: Any) -> None:
    for rt in (USER, GROUP):
        with contextlib.suppress(ScimError):
            normalize(rt, body)
