"""A webhook receiver on loopback for the delivery tests: a real HTTP server in a thread
(optionally HTTPS), whose answers a test scripts, recording what reached it."""

from __future__ import annotations

import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic()

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


Answer = tuple[int, dict[str, str]]  # status code, headers


@dataclass
class Receiver:
    """`respond(request)` decides each answer (200 by default); `secrets`, when given,
    are checked on every request with the Standard Webhooks library: a request no secret
    verifies is answered 401 and counted in `bad_signatures`."""

    respond: Callable[[Received], Answer] = lambda r: (200, {})
    secrets: list[str] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    bad_signatures: list[Received] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)  # ids, first 2xx each, in order
    port: int = 0
    scheme: str = "http"
    # unique, so a delivery meant for an earlier test's receiver on a reused port is told
    # apart (answered 404, not recorded)
    path: str = field(default_factory=lambda: f"/hook/{uuid.uuid4().hex[:8]}")
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{self.path}"

    def handle(self, got: Received) -> Answer:
        if got.path != self.path:
            return 404, {}
        with self.lock:
            self.requests.append(got)
        if self.secrets and not any(_verifies(s, got) for s in self.secrets):
            with self.lock:
                self.bad_signatures.append(got)
            return 401, {}
        status, headers = self.respond(got)
        if 200 <= status < 300:
            with self.lock:
                if got.id not in self.acknowledged:
                    self.acknowledged.append(got.id)
        return status, headers

    def wait_for(self, check: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {len(self.requests)} requests")
            time.sleep(0.01)


def _verifies(secret: str, got: Received) -> bool:
    try:
        Webhook(secret).verify(got.body, got.headers)
    except Exception:
        return False
    return True


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            got = Received(
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                body,
                time.monotonic(),
            )
            status, headers = receiver.handle(got)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up (the hub closing a kept-alive connection)


@contextmanager
def serving(
    receiver: Receiver, *, port: int = 0, tls: ssl.SSLContext | None = None
) -> Iterator[Receiver]:
    """Serve `receiver` on 127.0.0.1 (a given port, to come back on the same one after a
    pause) until the block ends."""
    server = _Server(("127.0.0.1", port), _handler(receiver))
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        receiver.scheme = "https"
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
