"""A minimal HTTP/1.1 client with a keep-alive connection pool, on asyncio streams.

The provisioning service sends many small requests to one host; a general-purpose client
spends more time in its own machinery than on the wire (httpx manages ~300 requests/s
on this path on 2 cores). This does only what the service needs: one origin,
Content-Length or chunked bodies, connection reuse, TLS through an ssl context."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit


class ProtocolError(Exception):
    """The server's answer was not HTTP/1.1 we can read, or the connection dropped."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.used = False

    def close(self) -> None:
        self.writer.close()

    async def roundtrip(self, head: bytes, body: bytes | None, method: str) -> Response:
        self.writer.write(head + body if body else head)
        await self.writer.drain()
        line = await self.reader.readline()
        if not line:
            raise ProtocolError("connection closed before the response")
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ProtocolError(f"bad status line {line[:80]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        while True:
            raw = await self.reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            content = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            content = await self._chunked()
        elif "content-length" in headers:
            content = await self.reader.readexactly(int(headers["content-length"]))
        else:
            content = await self.reader.read()
            headers["connection"] = "close"
        return Response(status, headers, content)

    async def _chunked(self) -> bytes:
        out = bytearray()
        while True:
            size = int((await self.reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await self.reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(out)
            out += await self.reader.readexactly(size)
            await self.reader.readexactly(2)


class Pool:
    def __init__(
        self, base_url: str, *, size: int, timeout: float, ssl_context: ssl.SSLContext | None = None
    ):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.host_header = parts.netloc.rsplit("@", 1)[-1].encode()
        self.prefix = parts.path.rstrip("/")
        self.ssl = (
            (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        )
        self.timeout = timeout
        self.sem = asyncio.Semaphore(size)
        self.idle: list[_Connection] = []

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.open_connection(
            self.host, self.port, ssl=self.ssl, limit=2**20
        )
        return _Connection(reader, writer)

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None = None
    ) -> Response:
        lines = [f"{method} {self.prefix}{target} HTTP/1.1".encode(), b"Host: " + self.host_header]
        lines += [f"{k}: {v}".encode() for k, v in headers.items()]
        lines.append(f"Content-Length: {len(body) if body else 0}".encode())
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        async with self.sem:
            for attempt in range(2):
                conn = (
                    self.idle.pop()
                    if self.idle
                    else await asyncio.wait_for(self._open(), self.timeout)
                )
                reused, conn.used = conn.used, True
                try:
                    async with asyncio.timeout(self.timeout):
                        resp = await conn.roundtrip(head, body, method)
                except (ProtocolError, ConnectionError, asyncio.IncompleteReadError) as exc:
                    conn.close()
                    if reused and attempt == 0:
                        continue  # the server closed an idle keep-alive connection
                    raise ProtocolError(str(exc) or type(exc).__name__) from exc
                except BaseException:
                    conn.close()
                    raise
                if resp.headers.get("connection", "").lower() == "close":
                    conn.close()
                else:
                    self.idle.append(conn)
                return resp
        raise ProtocolError("unreachable")

    async def close(self) -> None:
        while self.idle:
            self.idle.pop().close()
