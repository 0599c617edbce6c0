"""Property tests: random filters, paging parameters and PATCH documents never make the
service (or the console's list pages) answer 500, and a refused PATCH leaves the resource
exactly as it was."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimhub.scim.listing import MAX_START_INDEX, SEARCH_REQUEST_URN
from tests.conftest import OrgClient
from tests.console.conftest import Console, admins, console, make_console, signed_in

__all__ = ["admins", "console", "make_console", "signed_in"]  # console fixtures, shared

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ATTRS = [
    "userName",
    "displayName",
    "title",
    "active",
    "name.givenName",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "meta.created",
    "meta.lastModified",
    "id",
    "externalId",
    "groups",
    "members",
    "members.value",
    "addresses.streetAddress",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "nosuch",
    "name",
    "x509Certificates.value",
]
OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ"]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["True", "False", "2024-01-01T00:00:00Z"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                ["value", "type", "primary", "display", "givenName", "active", "$ref", *ATTRS]
            ),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=8,
)


# Literals at the edges of what a datetime holds: year 1 or 9999 with the widest offsets
# puts the UTC instant outside years 1-9999.
datetime_literals = st.builds(
    lambda moment, offset: f'"{moment}{offset}"',
    st.one_of(
        st.sampled_from(
            [
                "0001-01-01T00:00:00",
                "0001-01-01T13:59:59.999999",
                "9999-12-31T23:59:59",
                "9999-12-31T10:00:00.5",
            ]
        ),
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
            datetime.isoformat
        ),
    ),
    st.sampled_from(["Z", "", "+00:00", "+14:00", "-14:00", "-10:00", "+05:30", "+24:00"]),
)
# Digits that are not ASCII: Arabic-Indic, superscript, extended Arabic-Indic, math bold.
UNICODE_DIGITS = "\u0663\u0661\u00b2\u06f9\U0001d7d7"
numbers = st.one_of(
    st.integers().map(str),
    st.integers(10**18, 10**400).map(str),
    st.sampled_from(["1e308", "1e309", "-1e400", "0.5", "1" * 4000]),
    st.text(alphabet="0123456789" + UNICODE_DIGITS, min_size=1, max_size=8),
)


@st.composite
def filters(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 5 if depth < 3 else 1))
    attr = draw(st.sampled_from(ATTRS))
    if kind == 0:
        value = draw(
            st.one_of(
                st.text(max_size=6).map(lambda s: '"' + s.replace('"', "") + '"'),
                st.sampled_from(["true", "false", "null", "1", "2.5", '"2024-01-01T00:00:00Z"']),
                datetime_literals,
                numbers,
            )
        )
        return f"{attr} {draw(st.sampled_from(OPS))} {value}"
    if kind == 1:
        return f"{attr} pr"
    if kind == 2:
        return f"({draw(filters(depth + 1))}) and {draw(filters(depth + 1))}"
    if kind == 3:
        return f"{draw(filters(depth + 1))} or not ({draw(filters(depth + 1))})"
    if kind == 4:
        return f"{attr}[{draw(filters(depth + 1))}]"
    return draw(st.text(alphabet='abc()[]" .eqnotandor', max_size=30))


patch_ops = st.lists(
    st.fixed_dictionaries(
        {
            "op": st.sampled_from(["add", "replace", "remove", "Add", "Replace", "Remove", "copy"]),
        },
        optional={
            "path": st.one_of(
                st.sampled_from(
                    [*ATTRS, 'emails[type eq "work"].value', 'members[value eq "x"]', "emails[", ""]
                ),
                st.text(max_size=10),
            ),
            "value": json_values,
        },
    ),
    max_size=4,
)


@pytest.fixture(scope="module")
def fuzz_org(hub: Any, app_client: Any) -> OrgClient:
    org = hub.orgs.create("fuzz")
    secret, _ = hub.tokens.create(org.id)
    client = OrgClient(app_client, org.id, secret)
    for i in range(3):
        client.post(
            "/Users",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"f{i}@example.com",
                "title": "T",
                "emails": [{"value": f"f{i}@example.com", "type": "work"}],
            },
        )
    client.post(
        "/Groups",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "fuzzers"},
    )
    return client


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(flt=filters(), resource=st.sampled_from(["/Users", "/Groups"]))
def test_random_filters_never_500(fuzz_org: OrgClient, flt: str, resource: str) -> None:
    r = fuzz_org.get(resource, params={"filter": flt})
    assert r.status_code in (200, 400), (flt, r.status_code, r.text)
    if r.status_code == 400:
        assert r.json()["scimType"] in ("invalidFilter", "invalidValue", "invalidPath")


# Paging parameters as text: integers of any size, numbers that are not integers, digits
# that are not ASCII, and more digits than `int()` reads.
paging_text = st.one_of(
    st.integers().map(str),
    st.integers(2**31, 10**40).map(str),
    st.text(alphabet="0123456789+-. e" + UNICODE_DIGITS, max_size=12),
    st.sampled_from(["9" * 5000, "0" * 40 + "2", "\u00b2", ""]),
)
_PAGING_INTEGER = re.compile(r"\s*[+-]?[0-9]{1,30}\s*")


def _clamped(value: str | None, default: int, low: int, high: int) -> int:
    """RFC 7644 §3.4.2.4: startIndex below 1 means 1, count below 0 means 0; both bounded."""
    return default if value is None else min(max(low, int(value)), high)


@pytest.fixture(scope="module")
def fuzz_group(fuzz_org: OrgClient) -> str:
    """A group of the fuzz org holding its users."""
    users = fuzz_org.get("/Users").json()["Resources"]
    found = fuzz_org.get("/Groups", params={"filter": 'displayName eq "fuzzers"'})
    gid = found.json()["Resources"][0]["id"]
    fuzz_org.patch(
        f"/Groups/{gid}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "add", "path": "members", "value": [{"value": u["id"]} for u in users]}
            ],
        },
    )
    return str(gid)


@FUZZ
@given(
    path=st.sampled_from(["/Users", "/Groups", "/Groups/{gid}/Members"]),
    params=st.dictionaries(
        st.sampled_from(["startIndex", "count", "StartIndex", "COUNT"]), paging_text, max_size=2
    ),
)
def test_random_paging_never_500(
    fuzz_org: OrgClient, fuzz_group: str, hub: Any, path: str, params: dict[str, str]
) -> None:
    r = fuzz_org.get(path.format(gid=fuzz_group), params=params)
    used = {k.lower(): v for k, v in params.items()}  # names are case-insensitive; last wins
    valid = all(_PAGING_INTEGER.fullmatch(v) for v in used.values())
    assert r.status_code == (200 if valid else 400), (params, r.status_code, r.text)
    if not valid:
        assert r.json()["scimType"] == "invalidValue"
        return
    limit = hub.settings.max_members_page_size if "Members" in path else hub.settings.max_page_size
    default = limit if "Members" in path else hub.settings.default_page_size
    start = _clamped(used.get("startindex"), 1, 1, MAX_START_INDEX)
    count = _clamped(used.get("count"), default, 0, limit)
    body = r.json()
    assert body["startIndex"] == start
    assert (
        body["itemsPerPage"]
        == len(body["Resources"])
        == min(count, max(0, body["totalResults"] - start + 1))
    )


@FUZZ
@given(
    members=st.dictionaries(
        st.sampled_from(["startIndex", "count"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.integers(2**64, 10**40),
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(max_size=3),
        ),
        max_size=2,
    ),
    resource=st.sampled_from(["/Users", "/Groups", ""]),
)
def test_random_search_paging_never_500(
    fuzz_org: OrgClient, members: dict[str, Any], resource: str
) -> None:
    r = fuzz_org.post(f"{resource}/.search", {"schemas": [SEARCH_REQUEST_URN], **members})
    assert r.status_code in (200, 400), (members, r.status_code, r.text)
    if r.status_code == 400:
        assert r.json()["scimType"] == "invalidValue"


CONSOLE_LISTS = [
    "/console/users",
    "/console/groups",
    "/console/groups/{gid}",
    "/console/audit",
    "/console/provisioning",
]


@FUZZ
@given(path=st.sampled_from(CONSOLE_LISTS), page=paging_text)
def test_random_console_pages_never_500(
    signed_in: Console, admins: Any, path: str, page: str
) -> None:
    """Whatever `page` says, a list page renders (an unreadable page number is page 1)."""
    found = admins.org.get("/Groups", params={"count": "1"}).json()["Resources"]
    gid = (
        found[0]["id"]
        if found
        else admins.org.post("/Groups", {"schemas": [GROUP], "displayName": "paged"}).json()["id"]
    )
    r = signed_in.http.get(path.format(gid=gid), params={"page": page})
    assert r.status_code == 200, (path, page, r.status_code)


@FUZZ
@given(operations=patch_ops, schemas=st.sampled_from([[PATCH], [], None]))
def test_random_patches_never_500_and_failures_change_nothing(
    fuzz_org: OrgClient, operations: list[dict[str, Any]], schemas: Any
) -> None:
    users = fuzz_org.get("/Users", params={"count": "1"}).json()["Resources"]
    uid = users[0]["id"]
    before = fuzz_org.get(f"/Users/{uid}").json()
    body: dict[str, Any] = {"Operations": operations}
    if schemas is not None:
        body["schemas"] = schemas
    r = fuzz_org.patch(f"/Users/{uid}", body)
    assert r.status_code in (200, 400, 409), (body, r.status_code, r.text)
    if r.status_code != 200:
        assert fuzz_org.get(f"/Users/{uid}").json() == before
    else:
        # whatever it accepted, it can read back and still find by userName
        doc = r.json()
        found = fuzz_org.get("/Users", params={"filter": f'userName eq "{doc["userName"]}"'})
        assert found.json()["totalResults"] == 1


@FUZZ
@given(body=json_values)
def test_random_create_bodies_never_500(fuzz_org: OrgClient, body: Any) -> None:
    if isinstance(body, dict):
        body = {**body, "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}
    r = fuzz_org.post("/Users", body)
    assert r.status_code in (201, 400, 409), (body, r.status_code, r.text)
    if r.status_code == 201:
        fuzz_org.delete(f"/Users/{r.json()['id']}")


def test_unique_names_survive(fuzz_org: OrgClient) -> None:
    name = f"{uuid.uuid4().hex}@example.com"
    assert (
        fuzz_org.post(
            "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}
        ).status_code
        == 201
    )
