"""`/metrics`: absent (404) without SCIMHUB_METRICS_TOKEN, 401 for a scraper without it or
with another, and then the counts: requests by route family and status, SCIM operations,
integration errors by code, sync rounds, the queue's gauges — never a path, a user id, or
an organisation unless SCIMHUB_METRICS_PER_ORG asks, and then only a proven one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from scimhub import metrics
from scimhub.api.access import path_org, route_family
from scimhub.api.probes import QueueCollector
from scimhub.api.services import Hub
from scimhub.app import create_app
from scimhub.config import Settings
from scimhub.directory.health import Health
from scimhub.integrations.entra.errors import BadRequest, Conflict
from scimhub.integrations.entra.failures import recording_failures
from tests.conftest import OrgClient

TOKEN = "metrics-" + uuid.uuid4().hex
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
Labels = dict[str, str]


def value(text: str, name: str, **labels: str) -> float:
    """One sample of a scrape, 0 when absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def client_for(settings: Settings, hub: Hub, **changes: object) -> TestClient:
    app = create_app(replace(settings, metrics_token=TOKEN, **changes), hub=hub)  # type: ignore[arg-type]
    return TestClient(app, base_url="https://hub.test")


@pytest.fixture
def scraped(settings: Settings, hub: Hub) -> Iterator[tuple[TestClient, OrgClient]]:
    """An app with metrics on, and a fresh organisation's SCIM client on it."""
    with client_for(settings, hub) as client:
        org = hub.orgs.create(f"Metrics {uuid.uuid4().hex[:6]}")
        secret, _ = hub.tokens.create(org.id)
        yield client, OrgClient(client, org.id, secret)


def scrape(client: TestClient) -> str:
    got = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/plain")
    return got.text


def test_without_a_token_configured_metrics_are_not_there(app_client: TestClient) -> None:
    got = app_client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert got.status_code == 404
    assert got.headers["TrackingID"] in got.text


def test_a_scraper_needs_the_token_as_a_bearer_token(
    scraped: tuple[TestClient, OrgClient],
) -> None:
    client, _ = scraped
    for headers in (
        {},
        {"Authorization": "Bearer not-the-metrics-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
    ):
        got = client.get("/metrics", headers=headers)
        assert got.status_code == 401, headers
        assert got.headers["WWW-Authenticate"].startswith("Bearer")
        assert "scimhub_http_requests_total" not in got.text
    assert "scimhub_http_requests_total" in scrape(client)


def test_requests_are_counted_by_route_family_and_status_never_by_path(
    scraped: tuple[TestClient, OrgClient],
) -> None:
    client, org = scraped
    uid = org.post("/Users", {"schemas": [USER], "userName": "counted@example.com"}).json()["id"]
    before = scrape(client)
    for _ in range(3):
        assert org.get(f"/Users/{uid}").status_code == 200
    assert org.get(f"/Users/{uuid.uuid4()}").status_code == 404
    assert org.get("/Groups").status_code == 200
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    users_get = {"family": "scim_users", "method": "GET"}
    assert delta("scimhub_http_requests_total", **users_get, status="200") == 3
    assert delta("scimhub_http_requests_total", **users_get, status="404") == 1
    assert delta("scimhub_http_request_duration_seconds_count", **users_get) == 4
    assert delta("scimhub_http_request_duration_seconds_bucket", **users_get, le="+Inf") == 4
    assert delta("scimhub_http_requests_total", family="scim_groups", method="GET", status="200")
    scim = {"resource": "User", "operation": "get"}
    assert delta("scimhub_scim_operations_total", **scim, status="200") == 3
    assert delta("scimhub_scim_operations_total", **scim, status="404") == 1
    assert delta("scimhub_scim_operations_total", resource="Group", operation="list", status="200")
    # the scrape before was counted too, as the metrics family
    assert delta("scimhub_http_requests_total", family="metrics", method="GET", status="200") == 1
    assert uid not in after and org.org_id not in after and 'org="' not in after


def test_the_organisation_is_a_label_only_when_asked_and_only_once_proven(
    settings: Settings, hub: Hub
) -> None:
    org = hub.orgs.create(f"Per org {uuid.uuid4().hex[:6]}")
    secret, _ = hub.tokens.create(org.id)
    made_up = f"made-up-{uuid.uuid4().hex}"
    with client_for(settings, hub, metrics_per_org=True) as client:
        scim = OrgClient(client, org.id, secret)
        assert scim.get("/Users").status_code == 200
        assert client.get(f"/identity/scim/{made_up}/v2/Users").status_code == 401
        # a good token of another organisation: 404, as if the organisation did not exist
        other = client.get(f"/identity/scim/{made_up}/v2/Users", headers=scim._headers(None))
        assert other.status_code == 404
        text = scrape(client)
    labels = {"family": "scim_users", "method": "GET", "status": "200", "org": org.id}
    assert value(text, "scimhub_http_requests_total", **labels) == 1
    assert made_up not in text
    assert value(text, "scimhub_http_requests_total", **{**labels, "status": "401", "org": ""})


def test_integration_errors_are_counted_by_code(
    scraped: tuple[TestClient, OrgClient], hub: Hub
) -> None:
    client, org = scraped
    before = value(scrape(client), "scimhub_integration_errors_total", code=BadRequest.code)
    failing = recording_failures(hub.instances, org.org_id, None, tracking_id="T", operation="x")
    with pytest.raises(BadRequest), failing:
        raise BadRequest("the request is wrong")
    after = value(scrape(client), "scimhub_integration_errors_total", code=BadRequest.code)
    assert after == before + 1


def test_sync_rounds_are_counted_by_outcome(
    scraped: tuple[TestClient, OrgClient], hub: Hub
) -> None:
    client, org = scraped
    before = scrape(client)
    with pytest.raises(Conflict):  # no such pull instance: the round fails at once
        hub.pull.run(org.org_id, str(uuid.uuid4()))
    after = scrape(client)
    for name in ("scimhub_sync_rounds_total", "scimhub_sync_round_duration_seconds_count"):
        assert value(after, name, outcome="failed") == value(before, name, outcome="failed") + 1


class _Workers(Health):
    """Health as the API sees it with `scimhub worker` processes (PostgreSQL)."""

    def __init__(self) -> None:
        pass

    def workers_alive(self) -> int | None:
        return 2

    def queue(self) -> list[tuple[str, str, int]]:
        return [("scimhub.pull_round", "todo", 3), ("scimhub.deliver_webhook", "doing", 1)]


def test_the_queue_gauges_are_read_at_scrape_time_when_workers_run_the_work(hub: Hub) -> None:
    text = metrics.exposition([QueueCollector(_Workers())]).decode()
    assert value(text, "scimhub_workers_alive") == 2
    assert value(text, "scimhub_queue_jobs", task="scimhub.pull_round", status="todo") == 3
    real = metrics.exposition([QueueCollector(hub.health)]).decode()
    if hub.health.in_process:  # SQLite: the API process has no queue, so no gauges
        assert "scimhub_workers_alive" not in real and "scimhub_queue_jobs" not in real
    else:  # PostgreSQL: procrastinate's tables, read for the scrape
        assert "# TYPE scimhub_workers_alive gauge" in real
        assert "# TYPE scimhub_queue_jobs gauge" in real


@pytest.mark.parametrize(
    ("path", "family", "org"),
    [
        ("/identity/scim/o1/v2/Users/123", "scim_users", "o1"),
        ("/identity/scim/o1/v2/Users", "scim_users", "o1"),
        ("/identity/scim/o1/v2/Groups/9/Members", "scim_groups", "o1"),
        ("/identity/scim/o1/v2/Bulk", "scim_bulk", "o1"),
        ("/identity/scim/o1/v2/.search", "scim_search", "o1"),
        ("/identity/scim/o1/v2/Schemas/urn:x", "scim_discovery", "o1"),
        ("/identity/scim/o1/v2/Devices/7", "scim_other", "o1"),
        ("/identity/scim/o1", "scim_other", "o1"),
        ("/extIntegration/azureAD/o2/v1/status", "integration", "o2"),
        ("/extIntegration/azureAD/consent/callback", "integration", "consent"),
        ("/api/v1/orgs/o3/events", "api_v1", "o3"),
        ("/console/users", "console", None),
        ("/healthz", "health", None),
        ("/readyz", "health", None),
        ("/metrics", "metrics", None),
        ("/wp-admin/setup.php", "other", None),
    ],
)
def test_route_families_are_few_and_never_hold_an_id(
    path: str, family: str, org: str | None
) -> None:
    assert route_family(path) == family
    assert path_org(path) == org
