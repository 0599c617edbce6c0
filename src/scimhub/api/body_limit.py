"""Request body limits, enforced while the body streams in, before anything parses it.

`BodyLimitMiddleware` stands in front of every route with a byte limit per route family
(the longest matching path prefix wins). A declared Content-Length over the limit is
refused at the first read, before a byte is taken from the connection; any other body is
counted as it arrives and refused the moment it passes the limit, so no reader holds more
than one chunk beyond it. The refusal is `BodyTooLarge`, raised from `receive`: readers that
answer in their family's error shape (SCIM, the integration API) turn it into their own 413,
anything else gets the middleware's plain 413. A refused request's response closes the
connection, so the rest of the upload is never read.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

INTEGRATION_MAX_BYTES = 256 * 1024
FORM_MAX_BYTES = 64 * 1024
FORM_MAX_FIELDS = 50
_CLOSE = (b"connection", b"close")
_HUGE = 10**18
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


class BodyTooLarge(Exception):
    """The request body passed its route's limit; no more of it is read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body exceeds the maximum of {limit} bytes")
        self.limit = limit


def hub_limits(scim_max_bytes: int) -> dict[str, int]:
    """The hub's limit per path prefix. "/" covers every other route: none of them reads a
    body today, so a new one starts with a small limit rather than none."""
    return {
        "/identity/scim/": scim_max_bytes,
        "/extIntegration/": INTEGRATION_MAX_BYTES,
        "/console/": FORM_MAX_BYTES,
        "/": FORM_MAX_BYTES,
    }


def declared_length(scope: Scope) -> int | None:
    """The Content-Length, if it is a number (bytes.isdigit is ASCII-only); one too long
    to convert (`int` refuses 4,300+ digits) is larger than any limit anyway."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not value.isdigit():
                return None
            return int(value) if len(value) <= 18 else _HUGE
    return None


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, or `BodyTooLarge` past `limit` bytes: for readers whose limit must
    hold whatever the middleware in front of them allows (or wherever they are mounted)."""
    declared = declared_length(request.scope)
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request) -> FormData:
    """A console form: at most FORM_MAX_FIELDS fields and no files (the middleware holds its
    bytes to FORM_MAX_BYTES). Starlette keeps the first parse of a request, so every reader
    of a form asks for the same limits; too many fields or a file part is a 400."""
    return await request.form(max_files=0, max_fields=FORM_MAX_FIELDS)


class _Guard:
    """One request's byte count. Once refused, every read raises again and the response
    closes the connection."""

    def __init__(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        self.limit = limit
        declared = declared_length(scope)
        self.refused = declared is not None and declared > limit
        self.started = False
        self._received = 0
        self._receive = receive
        self._send = send

    async def receive(self) -> Message:
        if self.refused:
            raise BodyTooLarge(self.limit)
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self.limit:
                self.refused = True
                raise BodyTooLarge(self.limit)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            if self.refused:
                message = {**message, "headers": [*message.get("headers", []), _CLOSE]}
        await self._send(message)

    async def refuse(self, exc: BodyTooLarge) -> None:
        body = f"Request body too large: {exc}.\n".encode()
        await self.send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await self.send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Pure ASGI, so it sees `receive` itself and nothing buffers the body before it."""

    def __init__(self, app: ASGIApp, *, limits: Mapping[str, int]) -> None:
        self.app = app
        self._limits = sorted(limits.items(), key=lambda item: len(item[0]), reverse=True)

    def limit_for(self, path: str) -> int | None:
        return next((limit for prefix, limit in self._limits if path.startswith(prefix)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Without Content-Length or Transfer-Encoding an HTTP/1.x request has no body (RFC
        # 9112 §6.3): nothing to guard, and most requests (every GET) cost nothing here.
        # HTTP/2 frames bodies without either header, so there the guard always stands.
        has_body = scope["type"] == "http" and (
            scope.get("http_version") not in ("1.0", "1.1")
            or any(name in _BODY_HEADERS for name, _ in scope["headers"])
        )
        limit = self.limit_for(_route_path(scope)) if has_body else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        guard = _Guard(limit, scope, receive, send)
        try:
            await self.app(scope, guard.receive, guard.send)
        except BodyTooLarge as exc:
            if guard.started:  # too late for a 413; the server ends the response
                raise
            await guard.refuse(exc)


def _route_path(scope: Scope) -> str:
    """The path the routes see: without the prefix the app is served under, if any."""
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path
