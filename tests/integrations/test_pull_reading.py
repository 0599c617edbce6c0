"""How the Entra pull reads: mappings parsed once per round, the next page read ahead, and
(PostgreSQL) the round's transactions planned for their values."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import text

from scimhub.api.services import Hub
from scimhub.integrations.entra import pull
from scimhub.integrations.entra.mappings import DEFAULT_MAPPINGS
from scimhub.scim.errors import ScimError
from scimhub.store.engine import custom_plans

GRAPH_USER = {
    "id": "o-1",
    "userPrincipalName": "ada@example.com",
    "displayName": "Ada",
    "givenName": "Ada",
    "surname": "Lovelace",
    "mail": "ada@example.com",
    "accountEnabled": True,
}


def test_a_round_parses_the_mapping_targets_once(monkeypatch: pytest.MonkeyPatch) -> None:
    mapper = pull.UserMapper.of([dict(m) for m in DEFAULT_MAPPINGS])
    calls: list[str] = []
    monkeypatch.setattr(pull, "parse_path", lambda text: calls.append(text))
    docs = [mapper.document({**GRAPH_USER, "id": f"o-{i}"}) for i in range(3)]
    assert calls == []
    # the same document as the per-user function makes
    monkeypatch.undo()
    assert docs[0] == pull.user_document(GRAPH_USER, [dict(m) for m in DEFAULT_MAPPINGS])
    assert docs[0]["userName"] == "ada@example.com"


def test_a_target_that_does_not_parse_fails_only_the_users_it_applies_to() -> None:
    mapper = pull.UserMapper.of(
        [
            {"source": "userPrincipalName", "target": "userName"},
            {"source": "jobTitle", "target": "title[[broken"},
        ]
    )
    assert mapper.document(GRAPH_USER)["userName"] == "ada@example.com"
    for _ in range(2):  # refused afresh each time
        with pytest.raises(ScimError):
            mapper.document({**GRAPH_USER, "jobTitle": "Engineer"})


def test_pages_are_read_ahead_in_order_and_a_failed_read_ends_the_round() -> None:
    links = {"p1": "p2", "p2": "p3", "p3": None}
    readers: set[str] = set()

    def read(link: str) -> tuple[str, str | None]:
        readers.add(threading.current_thread().name)
        return link, links[link]

    got = list(pull._read_ahead(read, "p1", lambda page: page[1]))
    assert [page for page, _ in got] == ["p1", "p2", "p3"]
    assert all(name.startswith("pull-read-ahead") for name in readers)

    def failing(link: str) -> tuple[str, str | None]:
        if link == "p2":
            raise RuntimeError("Graph failed")
        return read(link)

    seen = []
    with pytest.raises(RuntimeError, match="Graph failed"):
        for page, _ in pull._read_ahead(failing, "p1", lambda page: page[1]):
            seen.append(page)
    assert seen == ["p1"]


def _plan_mode(conn: Any) -> str:
    return str(conn.execute(text("SHOW plan_cache_mode")).scalar_one())


def test_a_round_plans_its_statements_for_their_values(hub: Hub) -> None:
    if hub.db.is_sqlite:
        pytest.skip("PostgreSQL's plan cache")
    with custom_plans(), hub.db.write() as conn:
        assert _plan_mode(conn) == "force_custom_plan"
    with custom_plans(), hub.db.read() as conn:
        assert _plan_mode(conn) == "force_custom_plan"
    # only for its own transactions: the pooled connection goes back as it was
    with hub.db.write() as conn:
        assert _plan_mode(conn) == "auto"
