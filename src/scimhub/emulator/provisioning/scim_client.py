"""The HTTP side of the provisioning service: one keep-alive connection pool per cycle,
bounded concurrency, and the only place that turns status codes into outcomes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

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
    def __init__(self, base_url: str, token: str, *, concurrency: int = 32,
                 timeout: float = 30.0, verify: Any = True, retries: int = 2):
        self.base_url = base_url.rstrip("/")
        self.sem = asyncio.Semaphore(concurrency)
        self.retries = retries
        self.requests = 0
        self.http = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}", "Accept": SCIM_JSON,
                     "User-Agent": "Microsoft.Identity.Provisioning/emulator"},
            limits=httpx.Limits(max_connections=concurrency,
                                max_keepalive_connections=concurrency),
            timeout=timeout, verify=verify, trust_env=False,
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None,
                   params: dict[str, str] | None = None, *, ok404: bool = False) -> Reply:
        """Send one request; 429 waits Retry-After and 5xx/timeouts retry a few times
        before the error surfaces (then the object goes to escrow)."""
        content = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": SCIM_JSON} if content is not None else None
        for attempt in range(self.retries + 1):
            try:
                async with self.sem:
                    self.requests += 1
                    resp = await self.http.request(method, f"{self.base_url}{path}",
                                                   content=content, params=params,
                                                   headers=headers)
            except httpx.HTTPError as exc:
                if attempt == self.retries:
                    raise TargetError(None, f"{type(exc).__name__}: {exc}") from exc
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            if resp.status_code == 429 and attempt < self.retries:
                await asyncio.sleep(min(float(resp.headers.get("Retry-After", "1") or 1),
                                        MAX_RETRY_AFTER))
                continue
            if resp.status_code >= 500 and attempt < self.retries:
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            if resp.status_code < 300 or (ok404 and resp.status_code == 404):
                return Reply(resp.status_code, _json(resp))
            raise TargetError(resp.status_code, f"HTTP {resp.status_code}: {resp.text[:500]}")
        raise AssertionError("unreachable")


def _json(resp: httpx.Response) -> dict[str, Any]:
    if not resp.content:
        return {}
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}
