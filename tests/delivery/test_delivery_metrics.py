"""Webhook deliveries are counted by outcome, and each delivered event's lag (from its
commit to its delivery) is observed."""

from __future__ import annotations

from scimhub import metrics
from tests.delivery.conftest import ADMIN, Hooks
from tests.delivery.receiver import Received, Receiver, serving

LAG = "scimhub_webhook_delivery_lag_seconds_count"


def test_deliveries_are_counted_by_outcome_with_their_lag(hooks: Hooks) -> None:
    counted = metrics.install(per_org=False)

    def sample(name: str, **labels: str) -> float:
        return counted.registry.get_sample_value(name, labels) or 0.0

    def total(outcome: str) -> float:
        return sample("scimhub_webhook_deliveries_total", outcome=outcome)

    before = {o: total(o) for o in ("delivered", "failed")}
    lag_before = sample(LAG)
    fails = iter([True, False, False])

    def flaky(got: Received) -> tuple[int, dict[str, str]]:
        return (500, {}) if next(fails, False) else (200, {})

    receiver = Receiver(respond=flaky)
    with serving(receiver) as up:
        created = hooks.service.add(hooks.org_id, up.url, actor=ADMIN)
        receiver.secrets = [created.secret]
        hooks.emit(2)
        hooks.drain(created.endpoint.id, lambda: len(receiver.acknowledged) == 2)
    assert total("delivered") == before["delivered"] + 2
    assert total("failed") == before["failed"] + 1
    assert sample(LAG) == lag_before + 2
