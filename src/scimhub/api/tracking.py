"""Tracking ids: every response carries one (`TrackingID` header, and error bodies).

A client that sends a well-formed one (the console does: its session uuid and a request
counter) keeps it, so a support engineer can follow one browser session through the hub;
otherwise the hub makes one (`scimhub.tracking_ids`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..tracking_ids import VALID, new_tracking_id

HEADER = "TrackingID"


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
        tid = given if given and VALID.match(given) else new_tracking_id(self.prefix)
        scope.setdefault("state", {})["tracking_id"] = tid
        header = (HEADER.encode(), tid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_id)
