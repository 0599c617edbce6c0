"""Named cross-process locks (PostgreSQL advisory locks; SQLite serves one process)."""

from __future__ import annotations

from scimhub.api.services import Hub
from scimhub.store.locks import try_lock


def test_a_held_lock_is_refused_to_another_holder(hub: Hub) -> None:
    with try_lock(hub.db, "sync-round:test") as first:
        assert first
        with try_lock(hub.db, "sync-round:test") as second:
            # a second connection (another process, on PostgreSQL) cannot take it
            assert second is hub.db.is_sqlite
        with try_lock(hub.db, "sync-round:other") as other:
            assert other
    with try_lock(hub.db, "sync-round:test") as again:
        assert again  # released
