"""The hot path's reads (`store.hot.HotRead`) give what SQLAlchemy gives for the same
statement: on SQLite they run on the driver with SQLAlchemy's converters, and a join's
repeated columns are converted once; on PostgreSQL they are SQLAlchemy's own rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from scimhub.api.services import Hub
from scimhub.directory.locator import Locator
from scimhub.directory.request_log import RequestEntry
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


def test_the_provisioning_log_batch_stores_what_each_entry_holds(hub: Hub, org: OrgClient) -> None:
    """`HotInsert` under the request log: every field back as recorded, the time to the
    microsecond, absent values as NULL, several batches in order."""
    start = datetime.now(UTC).replace(microsecond=123456)
    entries = [
        RequestEntry(
            org_id=org.org_id,
            time=start + timedelta(seconds=i),
            method="PATCH" if i % 2 else "GET",
            path=f"/identity/scim/{org.org_id}/v2/Users/u{i}",
            resource_type="User" if i % 3 else None,
            status=400 if i == 4 else 200,
            scim_type="invalidValue" if i == 4 else None,
            duration_ms=i,
            tracking_id=f"HOT_{i}",
            client="Azure AD" if i else None,
            token_id=None,
            undefined_attribute="urn:x:costCenter" if i == 4 else None,
            subject="u4" if i == 4 else None,
        )
        for i in range(7)
    ]
    for entry in entries[:3]:
        hub.requests.record(entry)
    hub.requests.flush()
    for entry in entries[3:]:
        hub.requests.record(entry)
    stored, total = hub.requests.entries(org.org_id, limit=10)
    assert total == 7
    assert sorted(stored, key=lambda e: e.time) == entries
