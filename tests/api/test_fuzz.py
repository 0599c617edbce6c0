"""Property tests: random filters and PATCH documents never make the service answer 500,
and a refused PATCH leaves the resource exactly as it was."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import OrgClient

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
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


@st.composite
def filters(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 5 if depth < 3 else 1))
    attr = draw(st.sampled_from(ATTRS))
    if kind == 0:
        value = draw(
            st.one_of(
                st.text(max_size=6).map(lambda s: '"' + s.replace('"', "") + '"'),
                st.sampled_from(["true", "false", "null", "1", "2.5", '"2024-01-01T00:00:00Z"']),
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
