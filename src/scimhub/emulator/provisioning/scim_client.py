"""The HTTP side of the provisioning service: one keep-alive connection pool per cycle,
bounded concurrency, and the only place that turns status codes into outcomes."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from .http11 import Pool, ProtocolError

SCIM_JSON = "application/scim+json"
MAX_RETRY_AFTER = 30.0


class TargetError(Exception):
    """A failed SCIM call. `unauthorized` quarantines the job; anything else escrows."""

    def __init__(self, status: int | None, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail

    @property
    def unauthorized(self) -> bool:
        return self.status == 401

    @property
    def code(self) -> str:
        if self.status == 401:
            return "SystemForCrossDomainIdentityManagementUnauthorized"
        if self.status is None or self.status in (502, 503, 504):
            return "SystemForCrossDomainIdentityManagementServiceUnavailable"
        if self.status == 409:
            return "SystemForCrossDomainIdentityManagementConflict"
        return "SystemForCrossDomainIdentityManagementBadResponse"


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


class ScimClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        concurrency: int = 32,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        retries: int = 2,
    ):
        self.concurrency = concurrency
        self.retries = retries
        self.requests = 0
        try:
            self.pool: Pool | None = Pool(
                base_url, size=concurrency, timeout=timeout, ssl_context=ssl_context
            )
        except ValueError:
            self.pool = None  # every call fails below, and is reported per object
        self.base_url = base_url
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": SCIM_JSON,
            "User-Agent": "Microsoft.Identity.Provisioning/emulator",
        }

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        *,
        ok404: bool = False,
    ) -> Reply:
        """Send one request; 429 waits Retry-After and 5xx/network errors retry a few
        times before the error surfaces (then the object goes to escrow)."""
        if self.pool is None:
            raise TargetError(None, f"Invalid tenant URL {self.base_url!r}.")
        content = orjson.dumps(body) if body is not None else None
        headers = dict(self.headers)
        if content is not None:
            headers["Content-Type"] = SCIM_JSON
        target = f"{path}?{urlencode(params, quote_via=quote)}" if params else path
        for attempt in range(self.retries + 1):
            self.requests += 1
            try:
                resp = await self.pool.request(method, target, headers, content)
            except (OSError, ProtocolError, TimeoutError) as exc:
                if attempt == self.retries:
                    raise TargetError(None, f"{type(exc).__name__}: {exc}") from exc
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            if resp.status == 429 and attempt < self.retries:
                try:
                    wait = float(resp.headers.get("retry-after", "1"))
                except ValueError:
                    wait = 1.0
                await asyncio.sleep(min(wait, MAX_RETRY_AFTER))
                continue
            if resp.status >= 500 and attempt < self.retries:
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            if resp.status < 300 or (ok404 and resp.status == 404):
                return Reply(resp.status, _json(resp.body))
            text = resp.body[:500].decode("utf-8", "replace")
            raise TargetError(resp.status, f"HTTP {resp.status}: {text}")
        raise AssertionError("unreachable")


def _json(content: bytes) -> dict[str, Any]:
    if not content:
        return {}
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}
