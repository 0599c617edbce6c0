"""Which endpoints delivery serves first: one with nothing pending before any that is
retrying, on both databases (PostgreSQL sorts NULLs last unless told), so other
organisations' failing endpoints never make a healthy one wait for a free thread."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from scimhub.store.engine import utcnow
from scimhub.store.tables import webhook_endpoints
from tests.delivery.conftest import ADMIN, Hooks
from tests.delivery.receiver import Receiver


def test_a_healthy_endpoint_comes_before_retrying_ones(hooks: Hooks, receiver: Receiver) -> None:
    retrying = [
        hooks.service.add(hooks.org_id, f"{receiver.url}?n={i}", actor=ADMIN).endpoint.id
        for i in range(3)
    ]
    healthy = hooks.service.add(hooks.org_id, receiver.url, actor=ADMIN).endpoint.id
    hooks.emit()
    with hooks.hub.db.write() as conn:
        conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id.in_(retrying))
            .values(next_attempt_at=utcnow() - timedelta(minutes=5), state="retrying")
        )
    due = [i for i in hooks.deliverer.webhooks.due(utcnow()) if i in {*retrying, healthy}]
    assert due[0] == healthy and set(due[1:]) == set(retrying)
