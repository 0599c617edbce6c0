"""The events API (`GET /api/v1/orgs/{orgId}/events`) and the `/api/v1` wrapper it shares
with the webhooks API: an admin token of the organisation, cursors that read the same
events again, strict parameters, 410 past retention (never a silent skip), tenants apart,
one error envelope with tracking ids."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from scimhub.api import v1
from scimhub.api.responses import JsonResponse
from scimhub.api.routes import http_error
from scimhub.api.services import Hub
from scimhub.api.tracking import TrackingMiddleware
from scimhub.asgi import background_work
from scimhub.directory.events import EventType, NewEvent, record
from scimhub.directory.tokens import TokenKind, TokenScope
from scimhub.store.engine import utcnow
from scimhub.store.tables import events

TID = f"APP_{uuid.uuid4()}_1"


@dataclass
class EventsClient:
    http: TestClient
    org_id: str
    token: str

    @property
    def url(self) -> str:
        return f"/api/v1/orgs/{self.org_id}/events"

    def get(self, token: str | None = None, **params: str) -> httpx2.Response:
        return self.http.get(
            self.url, params=params, headers={"Authorization": f"Bearer {token or self.token}"}
        )

    def ok(self, **params: str) -> dict[str, Any]:
        r = self.get(**params)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def _admin_token(hub: Hub, org_id: str, scope: TokenScope = TokenScope.WRITE) -> str:
    return hub.tokens.create(org_id, name="events app", kind=TokenKind.ADMIN, scope=scope)[0]


def _org(hub: Hub, client: TestClient) -> EventsClient:
    org_id = hub.orgs.create(f"events {uuid.uuid4().hex[:6]}").id
    return EventsClient(client, org_id, _admin_token(hub, org_id))


@pytest.fixture
def app_org(hub: Hub, app_client: TestClient) -> EventsClient:
    return _org(hub, app_client)


def _emit(hub: Hub, org_id: str, *ids: str, type: EventType = EventType.USER_CREATED) -> None:
    with hub.db.write() as conn:
        record(conn, org_id, [NewEvent(type, {"id": i}) for i in ids])


def _error(r: httpx2.Response) -> tuple[int, str, str, str]:
    """(status, key, code, description), checking the envelope's shape on the way."""
    body = r.json()
    assert set(body) == {"error", "trackingId"}
    assert body["trackingId"] == r.headers["TrackingID"]
    assert r.headers["content-type"] == "application/json"
    (message,) = body["error"]["message"]
    assert set(message) == {"code", "description"}
    return r.status_code, body["error"]["key"], message["code"], message["description"]


def test_pages_come_oldest_first_and_a_cursor_reads_the_same_events_again(
    hub: Hub, app_org: EventsClient
) -> None:
    _emit(hub, app_org.org_id, "a", "b", "c", "d", "e")
    first = app_org.ok(limit="2")
    assert [e["data"]["id"] for e in first["data"]] == ["a", "b"]
    event = first["data"][0]
    assert set(event) == {"id", "type", "occurred_at", "org_id", "data", "source", "cursor"}
    assert event["type"] == "user.created" and event["org_id"] == app_org.org_id
    assert event["occurred_at"].endswith("Z") and event["source"]["kind"] == "system"
    assert first["next_cursor"] == first["data"][-1]["cursor"]
    second = app_org.ok(after=first["next_cursor"], limit="2")
    assert [e["data"]["id"] for e in second["data"]] == ["c", "d"]
    assert app_org.ok(after=first["next_cursor"], limit="2") == second  # the same again
    last = app_org.ok(after=second["next_cursor"])
    assert [e["data"]["id"] for e in last["data"]] == ["e"]
    end = app_org.ok(after=last["next_cursor"])
    assert end == {"data": [], "next_cursor": last["next_cursor"]}  # the end keeps its cursor
    _emit(hub, app_org.org_id, "f")
    assert [e["data"]["id"] for e in app_org.ok(after=end["next_cursor"])["data"]] == ["f"]
    assert len(app_org.ok(limit="500")["data"]) == 6


def test_an_organisation_without_events_starts_at_the_beginning(app_org: EventsClient) -> None:
    assert app_org.ok() == {"data": [], "next_cursor": "0"}
    assert app_org.ok(after="0") == {"data": [], "next_cursor": "0"}


def test_types_filter_the_page_and_unknown_names_are_refused_by_name(
    hub: Hub, app_org: EventsClient
) -> None:
    _emit(hub, app_org.org_id, "u1")
    _emit(hub, app_org.org_id, "g1", type=EventType.GROUP_CREATED)
    _emit(hub, app_org.org_id, "u2", type=EventType.USER_DELETED)
    page = app_org.ok(types="group.created, user.deleted")
    assert [(e["type"], e["data"]["id"]) for e in page["data"]] == [
        ("group.created", "g1"),
        ("user.deleted", "u2"),
    ]
    assert app_org.ok(types="group.created")["next_cursor"] == "3"  # past what it passed over
    status, key, code, text = _error(app_org.get(types="user.created,user.renamed,nope"))
    assert (status, key, code) == (400, "400", "702000")
    assert "'nope', 'user.renamed'" in text and "user.created," in text  # the valid set
    assert "'user.created'" not in text
    assert _error(app_org.get(types=" , "))[:3] == (400, "400", "702000")
    many = ",".join(f"x{i}" for i in range(30))
    assert "and 20 more" in _error(app_org.get(types=many))[3]


@pytest.mark.parametrize("limit", ["0", "501", "-1", "1.5", "", "ten", "²", "1e2", "+5", "9" * 40])
def test_a_limit_outside_1_to_500_or_not_an_integer_is_refused(
    app_org: EventsClient, limit: str
) -> None:
    status, _, code, text = _error(app_org.get(limit=limit))
    assert (status, code) == (400, "702000") and "limit must be an integer from 1 to 500" in text


@pytest.mark.parametrize("cursor", ["", "x", "-1", "²", "1" * 30, "12345678"])
def test_a_cursor_that_is_not_this_organisations_is_refused(
    app_org: EventsClient, cursor: str
) -> None:
    """ "12345678": well-formed but ahead of the stream (reading from it would skip every
    event written until the stream got there)."""
    status, key, code, text = _error(app_org.get(after=cursor))
    assert (status, key, code) == (400, "400", "702001") and "next_cursor" in text


def test_unknown_or_repeated_parameters_are_refused(app_org: EventsClient) -> None:
    text = _error(app_org.get(type="user.created"))[3]  # `types` misspelt
    assert "unknown parameter 'type'" in text and "after, limit, types" in text
    r = app_org.http.get(
        f"{app_org.url}?limit=1&limit=2", headers={"Authorization": f"Bearer {app_org.token}"}
    )
    assert _error(r)[:3] == (400, "400", "702000") and "'limit' at most once" in r.text


def test_a_cursor_older_than_retention_is_gone_never_skipped(
    hub: Hub, app_org: EventsClient
) -> None:
    _emit(hub, app_org.org_id, "old1", "old2", "old3")
    start = app_org.ok(limit="1")["next_cursor"]
    with hub.db.write() as conn:
        conn.execute(
            update(events)
            .where(events.c.org_id == app_org.org_id)
            .values(occurred_at=utcnow() - timedelta(days=hub.settings.event_retention_days + 1))
        )
    _emit(hub, app_org.org_id, "new")
    assert background_work(hub).clean_up().events >= 3  # the clean-up's own retention
    status, key, code, text = _error(app_org.get(after=start))
    assert (status, key, code) == (410, "410", "702030")
    assert text == (
        "events before this cursor were removed after SCIMHUB_EVENT_RETENTION_DAYS (30) "
        "days; start again from the oldest with no cursor, and reconcile over SCIM"
    )
    assert _error(app_org.get(after=start, limit="1"))[0] == 410  # every time, not once
    fresh = app_org.ok()
    assert [e["data"]["id"] for e in fresh["data"]] == ["new"]
    assert app_org.ok(after="3")["data"] == fresh["data"]  # from the last one removed: whole


def test_another_organisations_token_finds_nothing(
    hub: Hub, app_client: TestClient, app_org: EventsClient
) -> None:
    """The attack: an admin of org B reads org A's events with B's own token, by A's id.
    It is answered as a missing organisation, as the SCIM API answers."""
    _emit(hub, app_org.org_id, "secret")
    intruder = _org(hub, app_client)
    _emit(hub, intruder.org_id, "theirs")
    attack = app_org.get(token=intruder.token)
    assert _error(attack)[:3] == (404, "404", "702020")
    assert "secret" not in attack.text
    missing = EventsClient(app_client, str(uuid.uuid4()), intruder.token).get()
    assert _error(missing)[:3] == _error(attack)[:3]  # indistinguishable from no such org
    # and its own stream holds only its own events
    assert [e["data"]["id"] for e in intruder.ok()["data"]] == ["theirs"]


def test_no_token_or_an_unusable_one_is_401(
    hub: Hub, app_client: TestClient, app_org: EventsClient
) -> None:
    scim_token = hub.tokens.create(app_org.org_id)[0]  # a SCIM client's, not an admin's
    revoked, info = hub.tokens.create(app_org.org_id, kind=TokenKind.ADMIN)
    hub.tokens.revoke(app_org.org_id, info.id)
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer scimhub_nope"},
        {"Authorization": f"Basic {app_org.token}"},
        {"Authorization": f"Bearer {scim_token}"},
        {"Authorization": f"Bearer {revoked}"},
    ):
        r = app_client.get(app_org.url, headers=headers)
        assert _error(r)[:3] == (401, "401", "702010"), headers
        assert r.headers["WWW-Authenticate"].startswith('Bearer realm="scimhub"')


def test_a_read_only_admin_token_reads_events_and_a_client_tracking_id_is_kept(
    hub: Hub, app_org: EventsClient
) -> None:
    _emit(hub, app_org.org_id, "a")
    reader = _admin_token(hub, app_org.org_id, TokenScope.READ)
    r = app_org.http.get(
        app_org.url, headers={"Authorization": f"Bearer {reader}", "TrackingID": TID}
    )
    assert r.status_code == 200 and r.headers["TrackingID"] == TID
    refused = app_org.http.get(app_org.url, params={"limit": "0"}, headers={"TrackingID": TID})
    assert refused.json()["trackingId"] == TID


def test_a_page_is_read_off_the_event_loop(
    hub: Hub, app_org: EventsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _emit(hub, app_org.org_id, *(str(i) for i in range(20)))
    seen: list[bool] = []
    run, page = hub.offload.run, hub.events.page
    loop_thread: list[int] = []

    async def spy_run(org_id: str, heavy: bool, work: Any) -> Any:
        seen.append(heavy)
        loop_thread.append(threading.get_ident())
        return await run(org_id, heavy, work)

    def spy_page(*args: Any, **kwargs: Any) -> Any:
        assert threading.get_ident() != loop_thread[-1]
        return page(*args, **kwargs)

    monkeypatch.setattr(hub.offload, "run", spy_run)
    monkeypatch.setattr(hub.events, "page", spy_page)
    assert len(app_org.ok(limit="500")["data"]) == 20
    assert seen == [True]


def test_starlettes_own_404_and_405_under_api_v1_use_the_envelope(
    app_client: TestClient, app_org: EventsClient
) -> None:
    post = app_client.post(app_org.url, headers={"Authorization": f"Bearer {app_org.token}"})
    assert _error(post)[:3] == (405, "405", "702021") and post.headers["Allow"]
    assert _error(app_client.get("/api/v1/nothing/here"))[:3] == (404, "404", "702020")
    assert _error(app_client.get("/api/v1"))[:3] == (404, "404", "702020")
    # the SCIM API's own 404s keep the SCIM shape
    scim = app_client.get(f"/identity/scim/{app_org.org_id}/v2/Nothing")
    assert scim.status_code == 404 and "schemas" in scim.json()


# -- the wrapper, as another /api/v1 API (webhooks) uses it -------------------------------


@v1.v1_endpoint
async def things(request: Request, ctx: v1.V1Context) -> Response:
    if request.method == "GET":
        return JsonResponse({"org": ctx.org_id, "actor": ctx.actor.name})
    body = await v1.read_json(request, limit=64)
    if body == "crash":
        raise RuntimeError("a bug")
    if body == "db down":
        raise OperationalError("SELECT 1", None, ConnectionError("gone"))
    return await ctx.off_loop(lambda: JsonResponse({"got": body}, status_code=201))


@pytest.fixture
def wrapper_client(hub: Hub) -> TestClient:
    app = Starlette(
        routes=[Route(f"{v1.V1_PREFIX}/things", things, methods=["GET", "POST"])],
        exception_handlers={HTTPException: http_error},
    )
    app.state.hub = hub
    return TestClient(TrackingMiddleware(app, prefix="TEST"), base_url="https://hub.test")


def test_the_wrapper_refuses_writes_by_a_read_only_token_and_renders_every_failure(
    hub: Hub, wrapper_client: TestClient, app_org: EventsClient, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"/api/v1/orgs/{app_org.org_id}/things"
    writer = {"Authorization": f"Bearer {app_org.token}"}
    reader = {"Authorization": f"Bearer {_admin_token(hub, app_org.org_id, TokenScope.READ)}"}
    got = wrapper_client.get(url, headers=reader)
    assert got.json() == {"org": app_org.org_id, "actor": "token:events app"}
    refused = wrapper_client.post(url, json={"a": 1}, headers=reader)
    assert _error(refused)[:3] == (403, "403", "702011") and "read-only" in refused.text
    assert wrapper_client.post(url, json={"a": 1}, headers=writer).json() == {"got": {"a": 1}}
    bad = wrapper_client.post(url, content=b"{", headers={**writer, "Content-Type": "text/plain"})
    assert _error(bad)[:3] == (400, "400", "702000") and "application/json" in bad.text
    not_json = wrapper_client.post(
        url, content=b"{", headers={**writer, "Content-Type": "application/json"}
    )
    assert _error(not_json)[:3] == (400, "400", "702000") and "not valid JSON" in not_json.text
    big = wrapper_client.post(url, json="x" * 100, headers=writer)
    assert _error(big)[:3] == (413, "413", "702040")
    down = wrapper_client.post(url, json="db down", headers=writer)
    assert _error(down)[:3] == (503, "503", "702098") and down.headers["Retry-After"] == "1"
    crash = wrapper_client.post(url, json="crash", headers=writer)
    status, _, code, text = _error(crash)
    assert (status, code) == (500, "702099") and crash.json()["trackingId"] in text
    assert "a bug" not in crash.text and "a bug" in caplog.text  # logged, never sent
