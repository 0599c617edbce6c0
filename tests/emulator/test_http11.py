"""The push client's HTTP/1.1 handling against hand-written server answers."""

from __future__ import annotations

import asyncio

from scimhub.emulator.provisioning.http11 import Pool


async def _serve(
    answers: list[bytes], seen: list[bytes], *, drop_after_each: bool = False
) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            seen.append(head + await reader.readexactly(length))
            answer = answers.pop(0)
            writer.write(answer)
            await writer.drain()
            if b"Connection: close" in answer or drop_after_each:
                break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_chunked_content_length_and_connection_close() -> None:
    async def scenario() -> None:
        seen: list[bytes] = []
        server, port = await _serve(
            [
                b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n'
                b"3\r\n:1}\r\n0\r\n\r\n",
                b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}",
                b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
            ],
            seen,
        )
        pool = Pool(f"http://127.0.0.1:{port}/scim/v2", size=1, timeout=5)
        first = await pool.request("GET", "/Users?filter=x", {"Accept": "a"})
        assert (first.status, first.body) == (200, b'{"a":1}')
        second = await pool.request("POST", "/Users", {}, b'{"userName":"x"}')
        assert (second.status, second.body) == (201, b"{}")
        third = await pool.request("PATCH", "/Users/1", {}, b"{}")
        assert third.status == 204 and not pool.idle  # closed as the server asked
        assert seen[0].startswith(b"GET /scim/v2/Users?filter=x HTTP/1.1\r\n")
        assert seen[1].endswith(b'Content-Length: 16\r\n\r\n{"userName":"x"}')
        await pool.close()
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_a_dropped_keep_alive_connection_is_retried_once() -> None:
    async def scenario() -> None:
        seen: list[bytes] = []
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        # The server silently closes every connection after one answer (an idle timeout).
        server, port = await _serve([ok, ok], seen, drop_after_each=True)
        pool = Pool(f"http://127.0.0.1:{port}", size=1, timeout=5)
        assert (await pool.request("GET", "/a", {})).status == 200
        await asyncio.sleep(0.05)
        assert (await pool.request("GET", "/b", {})).status == 200
        assert len(seen) == 2
        await pool.close()
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
