"""Tracking ids: every response carries one (`TrackingID` header, and error bodies).

Format `<PREFIX>_<uuid>_<n>` as in the seed's `ATLAS_497d70df-..._136`: a client that sends
its own (the console does: its session uuid and a request counter) keeps it, so a support
engineer can follow one browser session through the hub. Otherwise the hub makes one from
a uuid drawn once per process and that process's request counter: unique across
processes with nothing shared between them, and cheaper than a uuid per request.
"""

from __future__ import annotations

import itertools
import os
import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "TrackingID"
_VALID = re.compile(r"^[A-Za-z0-9]{1,16}_[0-9a-fA-F-]{36}_\d{1,9}$")


_process = str(uuid.uuid4())
_counter = itertools.count(1)


def _new_process() -> None:
    """A forked worker (gunicorn --preload) must not reuse its parent's uuid."""
    global _process, _counter
    _process, _counter = str(uuid.uuid4()), itertools.count(1)


os.register_at_fork(after_in_child=_new_process)


def new_tracking_id(prefix: str) -> str:
    return f"{prefix}_{_process}_{next(_counter)}"


def tracking_id(scope: Scope) -> str:
    return str(scope["state"]["tracking_id"])


class TrackingMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware): it runs on every request, so it stays cheap."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope["headers"]:
            if name == b"trackingid":
                given = value.decode("latin-1")
                break
        tid = given if given and _VALID.match(given) else new_tracking_id(self.prefix)
        scope.setdefault("state", {})["tracking_id"] = tid
        header = (HEADER.encode(), tid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_id)
