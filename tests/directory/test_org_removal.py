"""Deleting an organisation removes every row of it from every table — counted table by
table against the table definitions, so a table added later without a place in the removal
fails here — while another organisation keeps every one of its rows; a write that lands
while the chunks go is caught by the last pass; the hub's own trail keeps the record."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import Connection, func, select

from scimhub.api.services import Hub
from scimhub.directory import org_removal
from scimhub.directory.actor import Actor
from scimhub.directory.errors import OrgNotFound
from scimhub.directory.org_removal import Tally
from scimhub.store.engine import utcnow
from scimhub.store.tables import (
    burst_scans,
    custom_values,
    entra_links,
    ldap_entries,
    metadata,
    orgs,
    users,
)
from tests.org_data import Filled, fill

# Tables that hold no organisation's rows: sign-in failures are keyed by email and client
# address, which no organisation owns (and they go after 15 minutes).
NOT_ORG_DATA = {"login_failures"}


def _owned(filled: Filled) -> dict[str, Callable[[Connection], int]]:
    """How many rows of each table belong to the organisation."""
    org_id = filled.org_id
    resources = [*filled.user_ids, *filled.group_ids, filled.deleted_user_id]

    def by_org(name: str) -> Callable[[Connection], int]:
        table = metadata.tables[name]
        return lambda conn: int(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.org_id == org_id)
            ).scalar_one()
        )

    def count(table: object, where: object) -> Callable[[Connection], int]:
        return lambda conn: int(
            conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()  # type: ignore[arg-type]
        )

    owned = {name: by_org(name) for name, t in metadata.tables.items() if "org_id" in t.c}
    owned["orgs"] = count(orgs, orgs.c.id == org_id)
    owned["custom_values"] = count(custom_values, custom_values.c.resource_id.in_(resources))
    sources = [filled.instance_id, filled.ldap_source_id]
    owned["entra_links"] = count(entra_links, entra_links.c.instance_id.in_(sources))
    owned["ldap_entries"] = count(ldap_entries, ldap_entries.c.source_id == filled.ldap_source_id)
    owned["burst_scans"] = count(burst_scans, burst_scans.c.instance_id == filled.instance_id)
    return owned


def _counts(hub: Hub, filled: Filled) -> dict[str, int]:
    with hub.db.read() as conn:
        return {name: n(conn) for name, n in _owned(filled).items()}


def test_every_table_is_counted() -> None:
    """The counts below cover every table: a new one must say how it belongs to an org."""
    filled = Filled("o", [], [], "d", "i", "e", "a", "s", "t", "l", "c", "k", "p")
    assert set(_owned(filled)) | NOT_ORG_DATA == set(metadata.tables)


@pytest.mark.parametrize("chunk", [2, org_removal.CHUNK])
def test_deleting_an_org_leaves_none_of_its_rows_and_touches_no_other(
    hub: Hub, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(org_removal, "CHUNK", chunk)  # 2: many short transactions
    doomed = fill(hub, hub.orgs.create("doomed").id, users=5)
    kept = fill(hub, hub.orgs.create("kept").id)
    before = _counts(hub, doomed)
    assert {name for name, n in before.items() if n == 0} == set(), before  # all filled
    kept_before = _counts(hub, kept)

    actor = Actor("operator:test", f"TEST_{uuid.uuid4()}_1")
    removed = hub.removal.remove(doomed.org_id, actor=actor)

    assert _counts(hub, doomed) == dict.fromkeys(before, 0)
    assert _counts(hub, kept) == kept_before
    # what it says it removed is what there was
    assert {t: removed.get(t, 0) for t in before} == before
    entries, _ = hub.audit.platform_events(action="org.deleted")
    record = next(e for e in entries if e.target == doomed.org_id)
    assert record.org_id is None and record.actor == "operator:test"
    assert record.tracking_id == actor.tracking_id
    assert record.detail == {"name": "doomed", "removed": removed}


def test_the_last_pass_removes_what_arrived_while_the_chunks_went(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SCIM write on its way when the tokens went (a token cached for a few seconds in
    another process) lands between two chunks: the last transaction removes it."""
    doomed = fill(hub, hub.orgs.create("doomed").id)
    landed: list[str] = []

    def late_write(conn: Connection, org_id: str, tally: Tally) -> int:
        if not landed:
            landed.append(str(uuid.uuid4()))
            now = utcnow()
            conn.execute(
                users.insert().values(
                    id=landed[0],
                    org_id=org_id,
                    user_name="late",
                    user_name_ci="late",
                    active=True,
                    data={"userName": "late"},
                    created=now,
                    last_modified=now,
                    version=1,
                )
            )
        return 0

    steps = list(org_removal.STEPS)
    after_users = [name for name, _ in steps].index("groups")
    steps.insert(after_users, ("late write", late_write))
    monkeypatch.setattr(org_removal, "STEPS", tuple(steps))
    removed = hub.removal.remove(doomed.org_id, actor=Actor("operator:test"))
    with hub.db.read() as conn:
        assert conn.execute(select(users.c.id).where(users.c.id == landed[0])).first() is None
    assert removed["users"] == len(doomed.user_ids) + 1


def test_an_org_deleted_twice_is_not_found_the_second_time(hub: Hub) -> None:
    org_id = hub.orgs.create("once").id
    hub.removal.remove(org_id, actor=Actor("operator:test"))
    with pytest.raises(OrgNotFound):
        hub.removal.remove(org_id, actor=Actor("operator:test"))
