"""Request body limits for the emulator, enforced while the body streams in, before anything
parses it. (The hub has its own: the emulator plays an independent vendor and shares no
code with it.)

A declared Content-Length over the limit is answered 413 at once; any other body is counted
as it arrives and refused the moment it passes the limit. The emulator's handlers turn a
failed read into their own errors (a missing parameter, a Graph 500), so once a body is
refused the middleware answers 413 in place of whatever the handler says, and closes the
connection rather than read the rest of the upload.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_MAX_BYTES = 64 * 1024  # the sign-in, consent and token forms
MAX_BODY_BYTES = 1024 * 1024  # Graph and admin JSON
_FORMS = (b"application/x-www-form-urlencoded", b"multipart/form-data")


class BodyTooLarge(Exception):
    pass


def _limit_and_declared(scope: Scope) -> tuple[int, int | None]:
    headers = dict(scope["headers"])
    limit = (
        FORM_MAX_BYTES
        if headers.get(b"content-type", b"").lower().startswith(_FORMS)
        else MAX_BODY_BYTES
    )
    declared = headers.get(b"content-length", b"")
    return limit, int(declared) if declared.isdigit() else None


class _Request:
    """One request's byte count, and the 413 that replaces the handler's answer."""

    def __init__(self, limit: int, receive: Receive, send: Send) -> None:
        self.limit = limit
        self.refused = False
        self.started = False
        self._replaced = False
        self._received = 0
        self._receive = receive
        self._send = send

    async def receive(self) -> Message:
        if self.refused:
            raise BodyTooLarge
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self.limit:
                self.refused = True
                raise BodyTooLarge
        return message

    async def send(self, message: Message) -> None:
        if self._replaced:
            return  # the handler's answer to a refused body: the 413 went instead
        if message["type"] == "http.response.start":
            self.started = True
            if self.refused:
                await self.refuse()
                return
        await self._send(message)

    async def refuse(self) -> None:
        self._replaced = True
        body = (
            b'{"error":"invalid_request","error_description":"The request body exceeds '
            b'the maximum of %d bytes."}' % self.limit
        )
        await self._send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", b"%d" % len(body)),
                    (b"connection", b"close"),
                ],
            }
        )
        await self._send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, declared = _limit_and_declared(scope)
        request = _Request(limit, receive, send)
        if declared is not None and declared > limit:
            await request.refuse()
            return
        try:
            await self.app(scope, request.receive, request.send)
        except BodyTooLarge:
            if request.started:  # too late for a 413; the server ends the response
                raise
            await request.refuse()
