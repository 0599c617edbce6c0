"""python-scim's scim2-tester checks against a live `scimhub serve`: every check must pass."""

from __future__ import annotations

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.e2e.conftest import LiveHub


def test_scim2_tester_reports_no_failure(live_hub: LiveHub) -> None:
    # scim2-client speaks through httpx2 (its maintained httpx fork)
    with httpx2.Client(
        base_url=live_hub.scim_base,
        trust_env=False,
        timeout=30,
        headers={"Authorization": f"Bearer {live_hub.token}"},
    ) as http:
        client = SyncSCIMClient(http)
        results = check_server(client)
    assert len(results) > 20  # the checker really ran: discovery and CRUD for both types
    failed = [
        f"{r.title}: {r.reason}"
        for r in results
        if r.status not in (Status.SUCCESS, Status.SKIPPED)
    ]
    assert failed == []
