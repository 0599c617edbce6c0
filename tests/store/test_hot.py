"""The hot path's reads (`store.hot.HotRead`) give what SQLAlchemy gives for the same
statement: on SQLite they run on the driver with SQLAlchemy's converters, and a join's
repeated columns are converted once; on PostgreSQL they are SQLAlchemy's own rows."""

from __future__ import annotations

from typing import Any

from scimhub.api.services import Hub
from scimhub.directory.locator import Locator
from scimhub.store import queries
from scimhub.store.hot import HotRead
from tests.conftest import OrgClient


def _sqlalchemy_rows(hub: Hub, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with hub.db.read() as conn:
        return [tuple(row) for row in conn.execute(statement, params)]


def test_a_user_in_several_groups_reads_as_sqlalchemy_reads_it(hub: Hub, org: OrgClient) -> None:
    loc = Locator("https://hub.test", org.org_id)
    user = hub.users.create(
        org.org_id,
        {"userName": "hot@example.com", "name": {"givenName": "Hot"}, "emails": []},
        loc,
    )
    groups = [
        hub.groups.create(
            org.org_id, {"displayName": f"G{i}", "members": [{"value": user["id"]}]}, loc
        )
        for i in range(3)
    ]
    params = {"id": user["id"], "org_id": org.org_id}
    read = HotRead(hub.db, queries.user_with_groups)
    rows = read.rows(params)

    assert [tuple(r) for r in rows] == _sqlalchemy_rows(hub, queries.user_with_groups, params)
    assert sorted(r.group_name for r in rows) == ["G0", "G1", "G2"]
    assert {r.group_id for r in rows} == {g["id"] for g in groups}
    assert all(r.data == rows[0].data and r.created == rows[0].created for r in rows)
    assert rows[0].data["name"] == {"givenName": "Hot"}
    assert rows[0].created.year >= 2026 and rows[0].active is True

    assert read.rows({"id": "nobody", "org_id": org.org_id}) == []
    elsewhere = hub.orgs.create("Hot elsewhere").id
    assert read.rows({"id": user["id"], "org_id": elsewhere}) == []
