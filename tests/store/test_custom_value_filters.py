"""Custom string attributes in filters: `sw` gives exact prefixes (case as the attribute
says, LIKE's wildcards literal) from the value index; presence is probed per user."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from scimhub.api.services import Hub
from scimhub.directory.locator import Locator
from scimhub.directory.search import Query
from scimhub.scim.bind import bind_filter
from scimhub.scim.custom import Definition
from scimhub.scim.filter import parse_filter
from scimhub.store.filter_sql import FilterCompiler
from scimhub.store.tables import users

URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
VALUES = ["Abc", "abd", "ab_1", "abx1", "ab%", "ab\U0010ffffz", "b", "ac"]


@pytest.fixture
def org_id(hub: Hub) -> str:
    org = hub.orgs.create(f"Org {uuid.uuid4().hex[:6]}")
    hub.attributes.add(org.id, Definition("User", URN, "code"))
    hub.attributes.add(org.id, Definition("User", URN, "exact", case_exact=True))
    for i, value in enumerate(VALUES):
        body = {"schemas": [CORE, URN], "userName": f"u{i}", URN: {"code": value, "exact": value}}
        hub.users.create(org.id, body, Locator("", org.id))
    hub.users.create(org.id, {"schemas": [CORE], "userName": "none"}, Locator("", org.id))
    return org.id


def _found(hub: Hub, org_id: str, flt: str) -> set[str]:
    docs, total = hub.users.search(org_id, Query(parse_filter(flt)), Locator("", org_id))
    assert total == len(docs)
    return {d[URN]["code"] if URN in d else "-" for d in docs}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (f'{URN}:code sw "ab"', {"Abc", "abd", "ab_1", "abx1", "ab%", "ab\U0010ffffz"}),
        (f'{URN}:code sw "AB_"', {"ab_1"}),  # `_` is no wildcard
        (f'{URN}:code sw "ab%"', {"ab%"}),
        (f'{URN}:code sw "ab\U0010ffff"', {"ab\U0010ffffz"}),  # no successor: LIKE
        (f'{URN}:exact sw "A"', {"Abc"}),  # caseExact: "abd" does not start with "A"
        (f'{URN}:exact sw "a"', {"abd", "ab_1", "abx1", "ab%", "ab\U0010ffffz", "ac"}),
        (f'{URN}:code sw "abc"', {"Abc"}),
        (f'not ({URN}:code sw "a")', {"b", "-"}),
        (f"{URN}:code pr", set(VALUES)),
        (f"not ({URN}:code pr)", {"-"}),
        (f"{URN}:code eq null", {"-"}),
        (f"{URN}:code ne null", set(VALUES)),
    ],
)
def test_filters(hub: Hub, org_id: str, flt: str, expected: set[str]) -> None:
    assert _found(hub, org_id, flt) == expected


def _plan(hub: Hub, org_id: str, flt: str) -> str:
    """SQLite's plan of counting the organisation's users that pass `flt`."""
    types = hub.attributes.types(org_id)
    bound = bind_filter(types.user, parse_filter(flt))
    with hub.db.read() as conn:
        where = FilterCompiler(types.user, "sqlite", types.attribute_ids("User")).where(bound)
        sql = select(func.count()).select_from(users).where(users.c.org_id == org_id, where)
        compiled = sql.compile(conn, compile_kwargs={"literal_binds": True})
        return " ".join(
            str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
        )


def test_starts_with_uses_the_value_index_on_sqlite(hub: Hub, org_id: str) -> None:
    if not hub.db.is_sqlite:
        pytest.skip("PostgreSQL keeps LIKE")
    plan = _plan(hub, org_id, f'{URN}:code sw "ab"')
    assert "text_value>? AND text_value<?" in plan, plan


def test_presence_is_probed_by_the_primary_key_on_sqlite(hub: Hub, org_id: str) -> None:
    if not hub.db.is_sqlite:
        pytest.skip("SQLite's plan")
    plan = _plan(hub, org_id, f"{URN}:code pr")
    assert "(resource_id=? AND attribute_id=?)" in plan, plan
