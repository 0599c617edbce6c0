"""Bodies are refused while they stream in, before anything parses them: every route family
has a byte limit, a declared Content-Length over it is refused before a byte is read, and a
chunked body stops being read one chunk past it.

The requests go straight to the ASGI app with a body generator that counts what the app
pulled (the TestClient would read a generator body whole before the app sees it): what was
never pulled was never in the hub's memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message

from scimhub.api.body_limit import (
    FORM_MAX_BYTES,
    INTEGRATION_MAX_BYTES,
    BodyLimitMiddleware,
    declared_length,
    read_limited,
)
from scimhub.api.services import Hub
from scimhub.app import create_app
from scimhub.config import Settings
from scimhub.directory.tokens import TokenKind
from tests.conftest import OrgClient

CHUNK = 64 * 1024
MB = 1024 * 1024


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    pulled: int  # body bytes the app took from the connection

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class _Upload:
    chunks: Iterator[bytes]
    pulled: int = 0
    done: bool = False
    sent: list[Message] = field(default_factory=list)

    async def receive(self) -> Message:
        if self.done:
            return {"type": "http.disconnect"}
        chunk = next(self.chunks, None)
        if chunk is None:
            self.done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        self.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(self, message: Message) -> None:
        self.sent.append(message)


def upload(
    app: ASGIApp,
    path: str,
    chunks: Iterator[bytes],
    *,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    http_version: str = "1.1",
) -> Answer:
    """POST `chunks` to `app` as a streamed body, as an HTTP/1.1 server would pass it on:
    chunked, unless `headers` declare a length."""
    sent = {"host": "hub.test", **(headers or {})}
    if "content-length" not in {k.lower() for k in sent} and http_version != "2":
        sent["transfer-encoding"] = "chunked"  # HTTP/2 frames a body without either header
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": http_version,
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in sent.items()],
        "client": ("10.200.0.1", 40000),
        "server": ("hub.test", 443),
        "state": {},
    }
    body = _Upload(chunks)
    anyio.run(app, scope, body.receive, body.send)
    start = next(m for m in body.sent if m["type"] == "http.response.start")
    return Answer(
        start["status"],
        {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]},
        b"".join(m.get("body", b"") for m in body.sent if m["type"] == "http.response.body"),
        body.pulled,
    )


def stream(total: int, chunk: bytes) -> Iterator[bytes]:
    """`total` bytes in chunks (the same bytes object each time: the test itself holds one)."""
    for _ in range(total // len(chunk)):
        yield chunk


def form_chunks(total: int) -> Iterator[bytes]:
    return stream(total, b"f=" + b"x" * (CHUNK - 3) + b"&")


def json_chunks(total: int) -> Iterator[bytes]:
    """A JSON array of strings, `total` bytes or so: valid JSON up to where it is cut."""
    yield b'["'
    yield from stream(total, b"x" * (CHUNK - 3) + b'","')


@pytest.fixture
def app(settings: Settings, hub: Hub) -> Starlette:
    return create_app(settings, hub=hub)


# -- the console's sign-in form (no session needed) ---------------------------------------

FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_a_50_mb_sign_in_post_is_refused_after_one_chunk(app: Starlette) -> None:
    r = upload(app, "/console/login", form_chunks(50 * MB), headers=FORM)
    assert r.status == 413, r.body
    assert r.pulled <= FORM_MAX_BYTES + CHUNK
    assert r.headers["connection"] == "close"  # the server stops reading the upload
    assert r.headers["TrackingID"]


def test_an_http2_body_without_length_headers_is_guarded_too(app: Starlette) -> None:
    r = upload(app, "/console/login", form_chunks(50 * MB), headers=FORM, http_version="2")
    assert r.status == 413 and r.pulled <= FORM_MAX_BYTES + CHUNK


def test_a_declared_length_over_the_limit_is_refused_before_any_read(app: Starlette) -> None:
    r = upload(
        app,
        "/console/login",
        form_chunks(50 * MB),
        headers={**FORM, "content-length": str(400 * MB)},
    )
    assert r.status == 413 and r.pulled == 0
    assert r.headers["connection"] == "close"


def test_a_small_sign_in_form_still_reaches_the_handler(app: Starlette) -> None:
    r = upload(
        app, "/console/login", iter([b"email=a%40b.c&password=x&csrf_token=t"]), headers=FORM
    )
    assert r.status == 403  # the sign-in form's own CSRF check answered: the body was read
    assert "connection" not in r.headers


# -- the integration API ------------------------------------------------------------------


@pytest.fixture
def integration(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, str], list[Any]]:
    org = hub.orgs.create(f"body limits {uuid.uuid4().hex[:6]}")
    secret, _ = hub.tokens.create(org.id, kind=TokenKind.ADMIN)
    calls: list[Any] = []

    def allow_sync(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(args)
        return {}

    monkeypatch.setattr(hub.entra.control, "allow_sync", allow_sync)
    return (
        f"/extIntegration/azureAD/{org.id}/v1/allowSync",
        {"authorization": f"Bearer {secret}", "content-type": "application/json"},
        calls,
    )


def _assert_413_envelope(r: Answer) -> None:
    assert r.status == 413, r.body
    body = r.json()
    assert body["error"]["key"] == "413"
    assert body["error"]["message"][0]["code"] == "701054"
    assert str(INTEGRATION_MAX_BYTES) in body["error"]["message"][0]["description"]
    assert body["trackingId"] == r.headers["TrackingID"]
    assert r.headers["connection"] == "close"


def test_a_10_mb_integration_body_is_a_413_envelope_and_the_handler_never_runs(
    app: Starlette, integration: tuple[str, dict[str, str], list[Any]]
) -> None:
    path, headers, calls = integration
    r = upload(app, path, json_chunks(10 * MB), headers=headers)
    _assert_413_envelope(r)
    assert r.pulled <= INTEGRATION_MAX_BYTES + CHUNK
    assert calls == []


def test_a_declared_integration_body_over_the_limit_is_never_read(
    app: Starlette, integration: tuple[str, dict[str, str], list[Any]]
) -> None:
    path, headers, calls = integration
    r = upload(app, path, json_chunks(10 * MB), headers={**headers, "content-length": str(10 * MB)})
    _assert_413_envelope(r)
    assert r.pulled == 0 and calls == []


def test_an_unauthenticated_integration_call_is_401_without_reading_the_body(
    app: Starlette, integration: tuple[str, dict[str, str], list[Any]]
) -> None:
    path, _, calls = integration
    r = upload(app, path, json_chunks(10 * MB), headers={"content-type": "application/json"})
    assert r.status == 401 and r.json()["error"]["message"][0]["code"] == "701061"
    assert r.pulled == 0 and calls == []


def test_an_integration_body_within_the_limit_is_read(
    app: Starlette, integration: tuple[str, dict[str, str], list[Any]]
) -> None:
    path, headers, calls = integration
    r = upload(app, path, iter([b'{"enabled": ', b"true}"]), headers=headers)
    assert r.status == 200, r.body
    assert len(calls) == 1


# -- SCIM: its own limit (SCIMHUB_MAX_PAYLOAD_BYTES), its own error shape -----------------


def _assert_scim_413(r: Answer) -> None:
    assert r.status == 413, r.body
    body = r.json()
    assert body["status"] == "413" and "scimType" not in body
    assert body["detail"].endswith(f"TrackingID: {r.headers['TrackingID']}")
    assert r.headers["connection"] == "close"


def test_a_streamed_scim_body_over_the_limit_is_a_scim_413(
    app: Starlette, org: OrgClient, settings: Settings
) -> None:
    r = upload(
        app,
        f"{org.base}/Users",
        json_chunks(4 * settings.max_payload_bytes),
        headers={"authorization": f"Bearer {org.token}", "content-type": "application/scim+json"},
    )
    _assert_scim_413(r)
    assert r.pulled <= settings.max_payload_bytes + CHUNK


def test_a_declared_scim_body_over_the_limit_is_never_read(
    app: Starlette, org: OrgClient, settings: Settings
) -> None:
    r = upload(
        app,
        f"{org.base}/Bulk",
        json_chunks(4 * settings.max_payload_bytes),
        headers={
            "authorization": f"Bearer {org.token}",
            "content-type": "application/scim+json",
            "content-length": str(4 * settings.max_payload_bytes),
        },
    )
    _assert_scim_413(r)
    assert r.pulled == 0


def test_scim_authenticates_before_it_reads(
    app: Starlette, org: OrgClient, settings: Settings
) -> None:
    r = upload(
        app,
        f"{org.base}/Users",
        json_chunks(4 * settings.max_payload_bytes),
        headers={"content-type": "application/scim+json"},
    )
    assert r.status == 401 and r.pulled == 0


# -- the middleware itself ----------------------------------------------------------------


async def _echo(request: Request) -> Response:
    return PlainTextResponse(str(len(await request.body())))


async def _echo_limited(request: Request) -> Response:
    return PlainTextResponse(str(len(await read_limited(request, 10))))


def _echo_app() -> Starlette:
    return Starlette(
        routes=[Route("/{path:path}", _echo, methods=["POST"])],
        middleware=[
            Middleware(BodyLimitMiddleware, limits={"/": 100, "/big/": 1000, "/big/small/": 10})
        ],
    )


@pytest.mark.parametrize(("path", "limit"), [("/x", 100), ("/big/x", 1000), ("/big/small/x", 10)])
def test_the_longest_prefix_sets_the_limit_and_the_limit_itself_passes(
    path: str, limit: int
) -> None:
    assert upload(_echo_app(), path, iter([b"a" * limit])).body == str(limit).encode()
    refused = upload(_echo_app(), path, iter([b"a" * limit, b"a"]))
    assert refused.status == 413 and b"exceeds the maximum of" in refused.body


def test_a_reader_with_a_smaller_limit_of_its_own_keeps_it() -> None:
    app = Starlette(
        routes=[Route("/", _echo_limited, methods=["POST"])],
        middleware=[Middleware(BodyLimitMiddleware, limits={"/": 100})],
    )
    assert upload(app, "/", iter([b"a" * 10])).body == b"10"
    assert upload(app, "/", iter([b"a" * 11])).status == 413
    assert upload(app, "/", iter([]), headers={"content-length": "11"}).pulled == 0


@pytest.mark.parametrize(
    ("header", "expected"),
    [(b"12", 12), ("²".encode(), None), (b"-1", None), (b"1" * 5000, 10**18)],
)
def test_declared_length_never_raises(header: bytes, expected: int | None) -> None:
    assert declared_length({"headers": [(b"content-length", header)]}) == expected
