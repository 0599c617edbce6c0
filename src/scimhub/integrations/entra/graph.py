"""A small Microsoft Graph client: bearer tokens from `CredentialSource`, retries on
throttling (honouring `Retry-After`) and on 5xx, and Graph's errors turned into
the integration's error types. It is the only place that reads Graph status codes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from .credentials import CredentialSource
from .errors import (
    BadRequest,
    NotFound,
    Throttled,
    Unauthorized,
    Unavailable,
    UnexpectedAnswer,
    Upstream,
)

_RETRIES = 3


class GraphClient:
    """Graph calls for one tenant, all tagged with one client-request-id."""

    def __init__(
        self,
        credentials: CredentialSource,
        http: httpx.Client,
        tenant_id: str,
        client_request_id: str,
        *,
        max_wait: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.credentials = credentials
        self.http = http
        self.tenant_id = tenant_id
        self.client_request_id = client_request_id
        self.max_wait = max_wait  # longest Retry-After worth waiting for; else 429 upward
        self.sleep = sleep
        self.base = credentials.settings.graph_url + "/v1.0"

    def get(self, path: str, **params: str) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def pages(self, path: str, **params: str) -> Iterator[dict[str, Any]]:
        """Each page of a collection, following `@odata.nextLink` to the end."""
        page = self.request("GET", path, params=params or None)
        while True:
            yield page
            link = page.get("@odata.nextLink")
            if not link:
                return
            page = self.request("GET", link)

    def request(
        self, method: str, path: str, *, params: dict[str, str] | None = None, json: Any = None
    ) -> Any:
        url = path if path.startswith("https://") else self.base + path
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            token = self.credentials.token(self.tenant_id, self.client_request_id)
            try:
                response = self.http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "client-request-id": self.client_request_id,
                        "Accept": "application/json",
                    },
                )
            except httpx.TransportError as exc:
                if attempt < _RETRIES:
                    self.sleep(0.2 * attempt)
                    continue
                raise Unavailable(
                    self.client_request_id, Upstream(message=type(exc).__name__)
                ) from None
            status = response.status_code
            if status < 300:
                return response.json() if response.content else None
            upstream = _upstream(response)
            if status == 401 and not refreshed:
                # An expired or revoked token: drop the cache and ask Entra once more.
                self.credentials.forget(self.tenant_id)
                refreshed = True
                continue
            if status in (401, 403):
                raise Unauthorized(self.client_request_id, upstream)
            if status == 404:
                raise NotFound(path.split("?")[0], upstream)
            if status == 429:
                wait = _retry_after(response)
                if attempt < _RETRIES and wait <= self.max_wait:
                    self.sleep(wait)
                    continue
                raise Throttled(max(1, int(wait)), self.client_request_id, upstream)
            if status >= 500:
                if attempt < _RETRIES:
                    self.sleep(0.5 * attempt)
                    continue
                raise Unavailable(self.client_request_id, upstream)
            if status == 400:
                raise BadRequest(
                    upstream.message or "Bad request to Graph.",
                    upstream=upstream,
                    client_request_id=self.client_request_id,
                )
            raise UnexpectedAnswer(self.client_request_id, upstream)


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def _upstream(response: httpx.Response) -> Upstream:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return Upstream(code=str(response.status_code))
    inner = error.get("innerError") or {}
    return Upstream(
        code=error.get("code"), message=error.get("message"), correlation_id=inner.get("request-id")
    )
