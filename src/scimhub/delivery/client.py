"""The outbound HTTP of webhook delivery: a POST to the address `url_safety` checked.

The request goes to the checked IP, not to the name: the URL's host is replaced by the
address, the `Host` header keeps the name, and for HTTPS the TLS handshake sends the name
(SNI, httpcore's `sni_hostname`) and verifies the certificate against it. A lookup at
connect time could answer differently from the one that was checked (DNS rebinding);
this way there is none. One client serves one endpoint's run and is closed after it, so a
pooled connection is never reused for another name on the same address.

Redirects are not followed (a 3xx is a failed delivery: the receiver's URL is what the
admin entered, and a redirect could point anywhere), proxies from the environment are not
used (they would connect by name), and the answer's body is not used (at most 64 KiB of it is read).
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from types import TracebackType

import httpx

from .url_safety import Target

USER_AGENT = "scimhub-webhooks/1"
MAX_ANSWER_BYTES = 64 * 1024  # an answer's body is never used: read this much at most


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int | None  # None: no answer (connection failed, timed out)
    latency_ms: int
    retry_after: str | None = None  # the Retry-After header, as sent
    error: str | None = None  # short, for the delivery record; never a secret

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _reason(exc: httpx.HTTPError, timeout: float) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no connection within {timeout:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE" in str(exc):
            return "TLS certificate not valid for the host"
        return f"could not connect ({str(exc)[:120] or type(exc).__name__})"
    return f"{type(exc).__name__}: {str(exc)[:120]}"


class PinnedClient:
    def __init__(self, target: Target, *, timeout: float, verify: ssl.SSLContext) -> None:
        self.target = target
        self.timeout = timeout
        original = httpx.URL(target.url)
        self._url = original.copy_with(host=target.address)
        self._host = original.netloc.decode("ascii")
        self._extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        self._http = httpx.Client(
            timeout=timeout, verify=verify, follow_redirects=False, trust_env=False
        )

    def post(self, body: bytes, headers: dict[str, str]) -> Answer:
        started = time.monotonic()
        try:
            with self._http.stream(
                "POST",
                self._url,
                content=body,
                headers={
                    **headers,
                    "Host": self._host,
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                },
                extensions=self._extensions,
            ) as response:
                status, retry_after = response.status_code, response.headers.get("retry-after")
                _drain(response)
        except httpx.HTTPError as exc:
            return Answer(None, _ms(started), error=_reason(exc, self.timeout))
        error = None if 200 <= status < 300 else f"answered {status}"
        return Answer(status, _ms(started), retry_after, error)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PinnedClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _drain(response: httpx.Response) -> None:
    """Read a short answer to its end, so the connection can serve the next event; a long
    one is cut off (the connection is closed instead)."""
    read = 0
    for chunk in response.iter_raw():
        read += len(chunk)
        if read > MAX_ANSWER_BYTES:
            return


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
