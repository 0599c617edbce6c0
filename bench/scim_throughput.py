#!/usr/bin/env python
"""SCIM throughput: scimhub against the reference server scim2-server (issue 2, "Speed").

Run from the repository root (the script installs nothing; scim2-server comes with the
`bench` extra, `pip install -e '.[bench]'`):

    .venv/bin/python bench/scim_throughput.py [--users 10000 --groups 100 --duration 10]

About 3 minutes with the defaults. What it does, all on 127.0.0.1:

1. Starts three servers, each ONE process pinned to CPU 0 (the load generator, this
   process, is pinned to CPU 1, so each side has one core):
   - scimhub: `scimhub serve` on a fresh temporary data directory (one uvicorn process);
     its organisation has `group_patch_status=204`, as Entra's gallery expects;
   - scim2-server 0.8.x: its `scim2-server` command (in-memory store behind wsgiref's
     threading WSGI server, which answers HTTP/1.0 and closes the connection after every
     response), started through its own `main()` with the listen backlog raised from 5 to
     128 so bursts of new connections are not dropped (this only helps the reference);
   - hello-world: a Starlette app returning a small JSON on uvicorn with the settings
     `scimhub serve` uses: the framework's ceiling.
2. Loads scimhub and scim2-server with the same data (16 concurrent POSTs, not measured):
   --users users, --groups groups of 10 members, one group holding every user (10,000) and
   one of 10, plus spare users, not members of either, for the PATCHes. Then checks both
   answer a GET, a filtered search and the member counts as expected.
3. Drives the same requests at both from one asyncio HTTP/1.1 client (raw asyncio
   protocol; keep-alive where the server allows it; Content-Length and chunked bodies):
   GET /Users/{random id}; GET /Users?filter=userName eq "<random existing>"; POST /Users
   (new userNames); PATCH /Groups/{big}?excludedAttributes=members adding one spare user;
   the same PATCH on the 10-member group; and a latency probe (one connection, PATCHes to
   the two groups interleaved, so the big/small comparison sees the same conditions).
   Each operation runs --duration seconds split in --rounds rounds that alternate between
   the servers (so a change in background load hits both); PATCH phases also stop when
   their spare users run out. Every non-2xx answer counts as an error; a run with errors
   is INVALID and exits 1. After the PATCHes both servers' groups must hold the new
   members.
4. Measures, per phase, the CPU used by the server, by the load generator and by every
   other process. On a shared machine the servers lose part of their core (a one-thread
   server like uvicorn loses more than a thread-per-connection one), so it also reports
   req/CPU-s = req/s / share of the core the server used; when other processes were busy
   (> 15% of a core) the targets are judged on that.
5. Prints a table (req/s, req/CPU-s, ratios, targets), the hello-world ceiling, PATCH
   latencies, the machine, and a markdown block it also writes into bench/RESULTS.md
   (section "SCIM throughput (issue 2)"; other sections are kept), unless --no-write.

Targets (issue 2): scimhub >= 2x scim2-server on GET by id and filtered search, >= 1x on
POST; PATCH on the 10,000-member group within 2x the latency of the 10-member one; stretch:
~4,500 GET-by-id/s on one core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

try:
    import orjson

    _loads = orjson.loads
    _dumps = orjson.dumps
except ImportError:  # pragma: no cover - orjson ships with scimhub
    _loads = json.loads

    def _dumps(value: object) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()


HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
RESULTS_SECTION = "## SCIM throughput (issue 2)"

# --------------------------------------------------------------------------------------------
# A small, fast HTTP/1.1 client on asyncio protocols (httpx cannot saturate a fast server).
# --------------------------------------------------------------------------------------------


class HttpError(Exception):
    pass


class _Conn(asyncio.Protocol):
    """One connection; one request in flight at a time (no pipelining)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.fut: asyncio.Future | None = None
        self.head: tuple[int, int, object, bool] | None = None  # status, body start, length, keep
        self.no_body = False
        self.eof = False
        self.received_any = False

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self.received_any = True
        if self.fut is not None:
            self._parse()

    def eof_received(self) -> bool:
        self.eof = True
        if self.fut is not None:
            self._parse()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        if self.fut is not None and not self.fut.done():
            self._parse()
            if self.fut is not None and not self.fut.done():
                self.fut.set_exception(HttpError(f"connection lost: {exc!r}"))

    # parsing
    def _parse(self) -> None:
        buf = self.buf
        if self.head is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(buf[:end]).split(b"\r\n")
            parts = lines[0].split(b" ", 2)
            version, status = parts[0], int(parts[1])
            headers: dict[bytes, bytes] = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            conn_hdr = headers.get(b"connection", b"").lower()
            keep = (conn_hdr != b"close") if version == b"HTTP/1.1" else (conn_hdr == b"keep-alive")
            length: object
            if self.no_body or status in (204, 304) or 100 <= status < 200:
                length = 0
            elif b"chunked" in headers.get(b"transfer-encoding", b"").lower():
                length = "chunked"
            elif b"content-length" in headers:
                length = int(headers[b"content-length"])
            else:
                length = None  # until the server closes
                keep = False
            self.head = (status, end + 4, length, keep)
        status, start, length, keep = self.head
        if isinstance(length, int):
            if len(buf) - start < length:
                return
            body = bytes(buf[start : start + length])
            rest = start + length
        elif length == "chunked":
            chunks = []
            pos = start
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return
                size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
                pos = eol + 2
                if size == 0:
                    if buf[pos : pos + 2] == b"\r\n":
                        rest = pos + 2
                    else:
                        tend = buf.find(b"\r\n\r\n", pos)
                        if tend < 0:
                            return
                        rest = tend + 4
                    break
                if len(buf) < pos + size + 2:
                    return
                chunks.append(bytes(buf[pos : pos + size]))
                pos += size + 2
            body = b"".join(chunks)
        else:
            if not self.eof:
                return
            body = bytes(buf[start:])
            rest = len(buf)
        del buf[:rest]
        self.head = None
        fut, self.fut = self.fut, None
        if fut is not None and not fut.done():
            fut.set_result((status, body, keep and not self.eof))


class Client:
    """One logical client connection (reconnects when the server closes)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.conn: _Conn | None = None
        self.connects = 0

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Conn, self.host, self.port)
        sock = conn.transport.get_extra_info("socket")  # type: ignore[union-attr]
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connects += 1
        return conn

    async def request(self, data: bytes, *, head: bool = False) -> tuple[int, bytes]:
        for attempt in (0, 1):
            reused = self.conn is not None
            if self.conn is None or self.conn.eof:
                self.conn = await self._connect()
                reused = False
            conn = self.conn
            fut = asyncio.get_running_loop().create_future()
            conn.fut, conn.no_body, conn.received_any = fut, head, False
            conn.transport.write(data)  # type: ignore[union-attr]
            try:
                status, body, keep = await fut
            except HttpError:
                self.close()
                # A kept-alive connection the server closed while idle: retry once, fresh.
                if reused and attempt == 0 and not conn.received_any:
                    continue
                raise
            if not keep:
                self.close()
            return status, body
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None and self.conn.transport is not None:
            self.conn.transport.close()
        self.conn = None


@dataclass
class Target:
    name: str
    host: str
    port: int
    base: str  # path prefix of the SCIM root, e.g. /identity/scim/ORG/v2
    token: str = ""
    pid: int = 0  # the server process, for CPU accounting

    def raw(self, method: str, path: str, body: bytes | None = None) -> bytes:
        lines = [
            f"{method} {self.base}{path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "User-Agent: scimhub-bench",
            "Accept: application/scim+json",
        ]
        if self.token:
            lines.append(f"Authorization: Bearer {self.token}")
        if body is not None:
            lines += ["Content-Type: application/scim+json", f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_ticks(pid: int) -> int:
    """CPU time (user + system, all threads) of a process, in clock ticks."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def _system_ticks() -> tuple[int, int]:
    """(busy, steal) clock ticks of all CPUs since boot."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    user, nice, system, _idle, _iowait, irq, softirq = f[:7]
    steal = f[7] if len(f) > 7 else 0
    return user + nice + system + irq + softirq, steal


class CpuWatch:
    """CPU used during a phase by the server, by this load generator, and by everything else
    on the machine (other processes distort a one-core benchmark; reported, not hidden)."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid

    def __enter__(self) -> CpuWatch:
        self.t0 = time.monotonic()
        self.s0 = _proc_ticks(self.server_pid) if self.server_pid else 0
        self.c0 = _proc_ticks(os.getpid())
        self.b0, self.st0 = _system_ticks()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = max(time.monotonic() - self.t0, 1e-9) * CLK_TCK
        server = (_proc_ticks(self.server_pid) - self.s0) if self.server_pid else 0
        client = _proc_ticks(os.getpid()) - self.c0
        busy, steal = _system_ticks()
        # Percent of one core.
        self.server = 100.0 * server / wall
        self.client = 100.0 * client / wall
        self.other = max(0.0, 100.0 * (busy - self.b0 - server - client) / wall)
        self.steal = 100.0 * (steal - self.st0) / wall


@dataclass
class PhaseResult:
    name: str
    count: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    connects: int = 0
    cpu_server: float = float("nan")  # % of one core, during the phase
    cpu_client: float = float("nan")
    cpu_other: float = float("nan")
    cpu_steal: float = float("nan")

    @property
    def rps(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    @property
    def per_core(self) -> float:
        """Requests per CPU-second of the server: what it would serve with a whole core to
        itself (it is CPU-bound at these concurrencies). Robust to other processes taking
        part of the core, which shows as server CPU < 100%."""
        return self.rps * 100.0 / self.cpu_server if self.cpu_server > 1 else float("nan")

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))] * 1000.0


async def run_phase(
    target: Target,
    name: str,
    make: Callable[[int], bytes],
    *,
    duration: float,
    max_count: int,
    concurrency: int,
    on_ok: Callable[[int, bytes], None] | None = None,
    on_latency: Callable[[int, float], None] | None = None,
    quiet: bool = False,
) -> PhaseResult:
    """Send make(0), make(1), ... from `concurrency` connections until duration or count."""
    result = PhaseResult(name)
    counter = 0
    start = time.perf_counter()
    deadline = start + duration
    last_done = start
    clients = [Client(target.host, target.port) for _ in range(concurrency)]

    async def worker(client: Client) -> None:
        nonlocal counter, last_done
        perf = time.perf_counter
        lat = result.latencies
        while True:
            if counter >= max_count or perf() >= deadline:
                return
            i = counter
            counter += 1
            data = make(i)
            t0 = perf()
            try:
                status, body = await client.request(data)
            except (OSError, HttpError) as exc:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"#{i}: {exc!r}")
                continue
            t1 = perf()
            lat.append(t1 - t0)
            if on_latency is not None:
                on_latency(i, t1 - t0)
            last_done = t1
            if 200 <= status < 300:
                result.count += 1
                if on_ok is not None:
                    on_ok(i, body)
            else:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"#{i}: HTTP {status} {body[:300]!r}")

    try:
        with CpuWatch(target.pid or None) as cpu:
            await asyncio.gather(*(worker(c) for c in clients))
    finally:
        for c in clients:
            c.close()
    result.cpu_server, result.cpu_client = cpu.server, cpu.client
    result.cpu_other, result.cpu_steal = cpu.other, cpu.steal
    result.elapsed = last_done - start
    result.connects = sum(c.connects for c in clients)
    if result.errors and not quiet:
        print(f"  !! {target.name} {name}: {result.errors} errors", flush=True)
        for sample in result.error_samples:
            print(f"     {sample}", flush=True)
    return result


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pin(cpu: int | None) -> Callable[[], None] | None:
    if cpu is None:
        return None

    def pre() -> None:
        os.sched_setaffinity(0, {cpu})

    return pre


SCIM2_LAUNCHER = textwrap.dedent("""
    import sys
    from wsgiref.simple_server import WSGIServer
    # wsgiref keeps socketserver's listen backlog of 5; a burst of new connections (it closes
    # every connection after one response) would overflow it and stall on SYN retries.
    WSGIServer.request_queue_size = 128
    from scim2_server.testserver.cli import main
    sys.argv = ["scim2-server", *sys.argv[1:]]
    main()
""")

HELLO_APP = textwrap.dedent("""
    import sys
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def hello(request):
        return JSONResponse({"hello": "world"})

    app = Starlette(routes=[Route("/hello", hello)])
    # The same uvicorn settings as `scimhub serve` (src/scimhub/cli.py).
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info",
                access_log=False)
""")


class Server:
    def __init__(
        self,
        name: str,
        argv: list[str],
        cpu: int | None,
        *,
        env: dict[str, str] | None = None,
        log: Path,
    ) -> None:
        self.name = name
        self.log_path = log
        self.log = open(log, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            argv,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_pin(cpu),
            env={**os.environ, **(env or {})},
            cwd=ROOT,
        )

    def wait_ready(
        self, url: str, headers: dict[str, str] | None = None, timeout: float = 60.0
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                req = urllib.request.Request(url, headers=headers or {})
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise SystemExit(
            f"{self.name} not ready after {timeout}s:\n{self.log_path.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _run_json(argv: list[str], env: dict[str, str] | None = None) -> dict:
    out = subprocess.run(
        argv,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def start_scimhub(
    tmp: Path,
    cpu: int | None,
    *,
    wrap: Callable[[list[str]], list[str]] | None = None,
    name: str = "scimhub",
    env: dict[str, str] | None = None,
) -> tuple[Server, Target]:
    """`wrap` may turn the `scimhub serve` command line into another (the profiler's);
    `env` may point PYTHONPATH at another checkout (bench/regression.py's baseline)."""
    data = tmp / f"{name}-data"
    cli = str(BIN / "scimhub")
    org = _run_json(
        [cli, "org", "create", "--name", "bench", "--json", "--data-dir", str(data)], env
    )
    tok = _run_json(
        [cli, "token", "create", "--org", org["id"], "--json", "--data-dir", str(data)], env
    )
    # Group PATCH answers 204, as Entra's gallery expects (an organisation setting).
    subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        from pathlib import Path
        from scimhub.api.services import Hub
        from scimhub.config import Settings
        hub = Hub.open(Settings(data_dir=Path({str(data)!r})))
        hub.orgs.update_setting({org["id"]!r}, "group_patch_status", 204)
        hub.close()
    """),
        ],
        check=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    port = free_port()
    argv = [cli, "serve", "--data-dir", str(data), "--port", str(port)]
    server = Server(name, wrap(argv) if wrap else argv, cpu, env=env, log=tmp / f"{name}.log")
    server.wait_ready(f"http://127.0.0.1:{port}/healthz")
    return server, Target(
        name, "127.0.0.1", port, f"/identity/scim/{org['id']}/v2", tok["token"], server.proc.pid
    )


def start_scim2_server(tmp: Path, cpu: int | None) -> tuple[Server, Target]:
    port = free_port()
    token = "bench-" + os.urandom(8).hex()
    server = Server(
        "scim2-server",
        [sys.executable, "-c", SCIM2_LAUNCHER, "--port", str(port), "--bearer-token", token],
        cpu,
        log=tmp / "scim2.log",
    )
    server.wait_ready(
        f"http://127.0.0.1:{port}/v2/ServiceProviderConfig", {"Authorization": f"Bearer {token}"}
    )
    return server, Target("scim2-server", "127.0.0.1", port, "/v2", token, server.proc.pid)


def start_hello(tmp: Path, cpu: int | None) -> tuple[Server, Target]:
    port = free_port()
    server = Server(
        "hello", [sys.executable, "-c", HELLO_APP, str(port)], cpu, log=tmp / "hello.log"
    )
    server.wait_ready(f"http://127.0.0.1:{port}/hello")
    return server, Target("hello", "127.0.0.1", port, "", "", server.proc.pid)


# --------------------------------------------------------------------------------------------
# Data and the request mix
# --------------------------------------------------------------------------------------------


def user_body(user_name: str, n: int) -> bytes:
    return _dumps(
        {
            "schemas": [USER_SCHEMA],
            "userName": user_name,
            "externalId": f"ext-{user_name}",
            "name": {"givenName": f"Given{n}", "familyName": f"Family{n}"},
            "displayName": f"Given{n} Family{n}",
            "emails": [{"value": user_name, "type": "work", "primary": True}],
            "active": True,
        }
    )


def add_members_body(ids: list[str]) -> bytes:
    return _dumps(
        {
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}],
        }
    )


@dataclass
class Loaded:
    user_ids: list[str]
    user_names: list[str]
    pool_ids: list[str]
    probe_ids: list[str]
    big_group: str
    small_group: str
    seconds: float
    probe_lat: dict[int, list[float]] = field(default_factory=dict)


async def load(target: Target, args: argparse.Namespace) -> Loaded:
    t0 = time.perf_counter()
    conc = args.concurrency
    forever = 3600.0

    async def create_users(prefix: str, n: int) -> list[str]:
        ids: list[str] = [""] * n
        names = [f"{prefix}{i:06d}@bench.example" for i in range(n)]

        def ok(i: int, body: bytes) -> None:
            ids[i] = _loads(body)["id"]

        r = await run_phase(
            target,
            f"load {prefix}",
            lambda i: target.raw("POST", "/Users", user_body(names[i], i)),
            duration=forever,
            max_count=n,
            concurrency=conc,
            on_ok=ok,
        )
        if r.errors:
            raise SystemExit(f"{target.name}: loading users failed")
        return ids

    user_ids = await create_users("user", args.users)
    user_names = [f"user{i:06d}@bench.example" for i in range(args.users)]
    pool_ids = await create_users("pool", args.pool)
    probe_ids = await create_users("probe", args.probe)

    rng = random.Random(7)
    group_ids: list[str] = [""] * (args.groups + 2)
    specs: list[tuple[str, list[str]]] = [
        (f"group-{g:04d}", rng.sample(user_ids, min(10, len(user_ids)))) for g in range(args.groups)
    ]
    # The big group is created with its first 10,000 members in the POST (scimhub's default
    # body limit is 1 MiB), then the rest, if any, are added 5,000 per PATCH.
    first = user_ids[:10_000]
    specs.append((f"big-{args.users}", first))
    specs.append(("small-10", rng.sample(user_ids, min(10, len(user_ids)))))

    def ok_group(i: int, body: bytes) -> None:
        group_ids[i] = _loads(body)["id"]

    r = await run_phase(
        target,
        "load groups",
        lambda i: target.raw(
            "POST",
            "/Groups?excludedAttributes=members",
            _dumps(
                {
                    "schemas": [GROUP_SCHEMA],
                    "displayName": specs[i][0],
                    "members": [{"value": m} for m in specs[i][1]],
                }
            ),
        ),
        duration=forever,
        max_count=len(specs),
        concurrency=conc,
        on_ok=ok_group,
    )
    if r.errors:
        raise SystemExit(f"{target.name}: loading groups failed")
    big, small = group_ids[-2], group_ids[-1]
    rest = user_ids[len(first) :]
    chunks = [rest[i : i + 5000] for i in range(0, len(rest), 5000)]
    if chunks:
        r = await run_phase(
            target,
            "load big group",
            lambda i: target.raw(
                "PATCH", f"/Groups/{big}?excludedAttributes=members", add_members_body(chunks[i])
            ),
            duration=forever,
            max_count=len(chunks),
            concurrency=1,
        )
        if r.errors:
            raise SystemExit(f"{target.name}: filling the big group failed")
    return Loaded(user_ids, user_names, pool_ids, probe_ids, big, small, time.perf_counter() - t0)


OPERATIONS = [
    ("get", "GET /Users/{id}"),
    ("search", 'GET /Users?filter=userName eq "..."'),
    ("post", "POST /Users"),
    ("patch_big", "PATCH group +1 member (10k members)"),
    ("patch_small", "PATCH group +1 member (10 members)"),
]


async def fetch_json(target: Target, path: str) -> dict:
    got: list[bytes] = []
    r = await run_phase(
        target,
        "check",
        lambda i: target.raw("GET", path),
        duration=60,
        max_count=1,
        concurrency=1,
        on_ok=lambda i, body: got.append(body),
    )
    if r.errors or not got:
        raise SystemExit(f"{target.name}: GET {path} failed: {r.error_samples}")
    return _loads(got[0])


async def check_loaded(target: Target, data: Loaded, args: argparse.Namespace) -> None:
    """Both servers hold what the benchmark thinks they hold."""
    doc = await fetch_json(target, f"/Users/{data.user_ids[0]}")
    assert doc["id"] == data.user_ids[0] and doc["userName"] == data.user_names[0], doc
    flt = quote(f'userName eq "{data.user_names[-1]}"', safe="")
    found = await fetch_json(target, f"/Users?filter={flt}")
    assert found["totalResults"] == 1, (target.name, found)
    assert found["Resources"][0]["id"] == data.user_ids[-1], (target.name, found)
    for gid, n in ((data.big_group, len(data.user_ids)), (data.small_group, 10)):
        got = await member_count(target, gid)
        if got != n:
            raise SystemExit(f"{target.name}: group {gid} has {got} members, expected {n}")


async def member_count(target: Target, gid: str) -> int:
    doc = await fetch_json(target, f"/Groups/{gid}?attributes=members")
    return len(doc.get("members", []))


@dataclass
class Op:
    make: Callable[[int], bytes]
    max_count: int  # per round
    concurrency: int
    on_latency: Callable[[int, float], None] | None = None


def plan(target: Target, data: Loaded, args: argparse.Namespace, rnd: int) -> dict[str, Op]:
    """The measured operations of round `rnd` against one server. Each PATCH round uses its
    own slice of the spare users, so every PATCH adds a user that is not yet a member."""
    rng = random.Random(11 + rnd)
    n = len(data.user_ids)
    ids, names = data.user_ids, data.user_names
    get_order = [ids[rng.randrange(n)] for _ in range(100_000)]
    search_order = [
        quote(f'userName eq "{names[rng.randrange(n)]}"', safe="") for _ in range(100_000)
    ]
    run_tag = f"{os.urandom(3).hex()}-{rnd}"
    conc = args.concurrency
    rounds = args.rounds

    def get(i: int) -> bytes:
        return target.raw("GET", f"/Users/{get_order[i % len(get_order)]}")

    def search(i: int) -> bytes:
        return target.raw("GET", f"/Users?filter={search_order[i % len(search_order)]}")

    def post(i: int) -> bytes:
        return target.raw("POST", "/Users", user_body(f"new-{run_tag}-{i}@bench.example", i))

    per = len(data.pool_ids) // rounds
    pool = data.pool_ids[rnd * per : (rnd + 1) * per]

    def patch(group: str) -> Callable[[int], bytes]:
        return lambda i: target.raw(
            "PATCH", f"/Groups/{group}?excludedAttributes=members", add_members_body([pool[i]])
        )

    # Unloaded latency, the fair test of "costs what it changes": one connection, the two
    # groups interleaved (so any disturbance hits both alike), a fresh member each time.
    pper = len(data.probe_ids) // rounds
    probe = data.probe_ids[rnd * pper : (rnd + 1) * pper]
    groups = (data.big_group, data.small_group)
    data.probe_lat.setdefault(0, [])
    data.probe_lat.setdefault(1, [])

    def probe_req(i: int) -> bytes:
        return target.raw(
            "PATCH",
            f"/Groups/{groups[i % 2]}?excludedAttributes=members",
            add_members_body([probe[i // 2]]),
        )

    return {
        "get": Op(get, 10**9, conc),
        "search": Op(search, 10**9, conc),
        "post": Op(post, 10**9, conc),
        "patch_big": Op(patch(data.big_group), len(pool), args.patch_concurrency),
        "patch_small": Op(patch(data.small_group), len(pool), args.patch_concurrency),
        "probe": Op(
            probe_req, 2 * len(probe), 1, lambda i, seconds: data.probe_lat[i % 2].append(seconds)
        ),
    }


def merge(parts: list[PhaseResult], name: str) -> PhaseResult:
    """Rounds of one operation as one result (counts and times added, CPU time-weighted)."""
    out = PhaseResult(name)
    for r in parts:
        out.count += r.count
        out.errors += r.errors
        out.elapsed += r.elapsed
        out.latencies += r.latencies
        out.error_samples += r.error_samples
        out.connects += r.connects
    total = sum(r.elapsed for r in parts) or 1.0
    for attr in ("cpu_server", "cpu_client", "cpu_other", "cpu_steal"):
        setattr(out, attr, sum(getattr(r, attr) * r.elapsed for r in parts) / total)
    return out


def _progress(target: Target, r: PhaseResult, note: str = "") -> None:
    print(
        f"  {note} {target.name:12s} {r.name:12s} {r.rps:7.0f} req/s  n={r.count:<6d} "
        f"p50={r.pct(50):7.2f} ms  p99={r.pct(99):7.2f} ms  err={r.errors}  "
        f"conns={r.connects:<5d} cpu: server {r.cpu_server:3.0f}% client "
        f"{r.cpu_client:3.0f}% other {r.cpu_other:3.0f}% steal {r.cpu_steal:2.0f}%"
        + ("  << other load" if r.cpu_other > 15 else ""),
        flush=True,
    )


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for mod in ("starlette", "uvicorn", "sqlalchemy", "uvloop", "httptools", "orjson"):
        try:
            from importlib.metadata import version

            versions[mod] = version(mod)
        except Exception:
            versions[mod] = "absent"
    try:
        from importlib.metadata import version

        scim2 = version("scim2-server")
    except Exception:
        scim2 = "?"
    try:
        rev = subprocess.run(
            ["git", "describe", "--always"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        if subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip():
            rev += " + uncommitted changes in src/"
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return {
        "rev": rev or "unknown",
        "cpu": model,
        "cores": str(os.cpu_count()),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
        "libs": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "scim2_server": scim2,
    }


def fmt_rps(x: float) -> str:
    return f"{x:,.1f}" if x < 10 else f"{x:,.0f}"


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def build_report(
    res: dict[str, dict[str, PhaseResult]],
    hello: PhaseResult,
    loads: dict[str, float],
    args: argparse.Namespace,
    info: dict[str, str],
    pinned: bool,
    invalid: list[str],
) -> tuple[str, str, bool]:
    hub, ref = res["scimhub"], res["scim2-server"]
    targets = {"get": 2.0, "search": 2.0, "post": 1.0}
    measured = [r for phases in [*res.values(), {"hello": hello}] for r in phases.values()]
    busy = max(r.cpu_other for r in measured)
    # On a busy machine the servers do not get their whole core (a one-thread server loses
    # more of it than a thread-per-connection one), so the targets are judged per CPU-second.
    normalised = busy > 15
    head = (
        "operation",
        "scimhub req/s",
        "scim2-server req/s",
        "ratio",
        "scimhub req/CPU-s",
        "scim2-server req/CPU-s",
        "ratio/CPU",
        "target",
        "met",
    )
    rows = []
    for key, label in OPERATIONS:
        r = ratio(hub[key].rps, ref[key].rps)
        rn = ratio(hub[key].per_core, ref[key].per_core)
        tgt = targets.get(key)
        judged = rn if normalised else r
        rows.append(
            (
                label,
                fmt_rps(hub[key].rps),
                fmt_rps(ref[key].rps),
                f"{r:.2f}x",
                fmt_rps(hub[key].per_core),
                fmt_rps(ref[key].per_core),
                f"{rn:.2f}x",
                f">= {tgt:g}x" if tgt else "-",
                ("yes" if judged >= tgt else "NO") if tgt else "-",
            )
        )
    hb50, hs50 = hub["patch_big"].pct(50), hub["patch_small"].pct(50)
    hb99, hs99 = hub["patch_big"].pct(99), hub["patch_small"].pct(99)
    rb50, rs50 = ref["patch_big"].pct(50), ref["patch_small"].pct(50)
    rb99, rs99 = ref["patch_big"].pct(99), ref["patch_small"].pct(99)
    # The target is judged on the unloaded, interleaved probe (one connection).
    pb50, ps50 = hub["probe_big"].pct(50), hub["probe_small"].pct(50)
    pb99, ps99 = hub["probe_big"].pct(99), hub["probe_small"].pct(99)
    qb50, qs50 = ref["probe_big"].pct(50), ref["probe_small"].pct(50)
    qb99, qs99 = ref["probe_big"].pct(99), ref["probe_small"].pct(99)
    patch_ok = pb50 <= 2 * ps50
    get_best = hub["get"].per_core if normalised else hub["get"].rps
    get_ok = get_best >= 4500
    all_ok = all(r[-1] != "NO" for r in rows) and patch_ok and not invalid
    basis = (
        "judged per CPU-second of the server (other processes used up to "
        f"{busy:.0f}% of a core during the run)"
        if normalised
        else "judged on raw req/s (the machine was quiet)"
    )
    cmd = (
        f".venv/bin/python bench/scim_throughput.py --users {args.users} --groups "
        f"{args.groups} --duration {args.duration:g}"
    )
    defaults = parse_args([])
    for opt in (
        "pool",
        "probe",
        "probe_seconds",
        "concurrency",
        "patch_concurrency",
        "warmup",
        "rounds",
        "wait_quiet",
    ):
        if getattr(args, opt) != getattr(defaults, opt):
            cmd += f" --{opt.replace('_', '-')} {getattr(args, opt):g}"
    noisy = [
        f"{srv} {r.name} ({r.cpu_other:.0f}%)"
        for srv, phases in [*res.items(), ("hello", {"hello": hello})]
        for r in phases.values()
        if r.cpu_other > 15
    ]
    detail = [
        (
            srv,
            r.name,
            fmt_rps(r.rps),
            fmt_rps(r.per_core),
            str(r.count),
            f"{r.pct(50):.2f}",
            f"{r.pct(99):.2f}",
            f"{r.cpu_server:.0f}",
            f"{r.cpu_client:.0f}",
            f"{r.cpu_other:.0f}",
            f"{r.cpu_steal:.0f}",
        )
        for srv, phases in [*res.items(), ("hello", {"hello": hello})]
        for r in phases.values()
    ]
    dhead = (
        "server",
        "phase",
        "req/s",
        "req/CPU-s",
        "n",
        "p50 ms",
        "p99 ms",
        "server cpu%",
        "client cpu%",
        "other cpu%",
        "steal%",
    )

    def table(header: tuple[str, ...], body: list[tuple[str, ...]]) -> list[str]:
        w = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        return [
            "  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r))
            for r in [header, *body]
        ]

    lines = [
        "",
        "=" * 100,
        "SCIM throughput (issue 2)" + ("   ** INVALID: ERRORS **" if invalid else ""),
        "=" * 100,
    ]
    lines += table(head, rows)
    lines += [
        "",
        f"targets {basis}",
        f"hello-world ceiling (Starlette + uvicorn, same settings, GET small JSON): "
        f"{fmt_rps(hello.rps)} req/s, {fmt_rps(hello.per_core)} req/CPU-s "
        f"(p50 {hello.pct(50):.2f} ms)",
        f"scimhub GET by id vs stretch goal 4,500 req/s: {fmt_rps(get_best)} "
        f"({'met' if get_ok else 'not met'}; {hub['get'].per_core / hello.per_core:.0%} of "
        f"hello-world per CPU-s)",
        "",
        "PATCH add one member, latency in ms   unloaded (1 connection,   under load "
        f"({args.patch_concurrency} connections)",
        "                                      interleaved) p50 / p99  p50 / p99",
        f"  scimhub      {args.users:>6} members      {pb50:9.2f} / {pb99:8.2f}    "
        f"{hb50:8.2f} / {hb99:8.2f}",
        f"  scimhub      {10:>6} members      {ps50:9.2f} / {ps99:8.2f}    "
        f"{hs50:8.2f} / {hs99:8.2f}",
        f"  scimhub      ratio               {ratio(pb50, ps50):9.2f}x / {ratio(pb99, ps99):7.2f}x"
        f"   {ratio(hb50, hs50):7.2f}x / {ratio(hb99, hs99):7.2f}x   target <= 2x (unloaded "
        f"p50): {'yes' if patch_ok else 'NO'}",
        f"  scim2-server {args.users:>6} members      {qb50:9.2f} / {qb99:8.2f}    "
        f"{rb50:8.2f} / {rb99:8.2f}",
        f"  scim2-server {10:>6} members      {qs50:9.2f} / {qs99:8.2f}    "
        f"{rs50:8.2f} / {rs99:8.2f}",
        f"  scim2-server ratio               {ratio(qb50, qs50):9.2f}x / {ratio(qb99, qs99):7.2f}x"
        f"   {ratio(rb50, rs50):7.2f}x / {ratio(rb99, rs99):7.2f}x",
        "",
        "every phase (cpu in % of one core, during the phase):",
    ]
    lines += ["  " + x for x in table(dhead, detail)]
    lines += [
        "",
        f"machine: {info['cpu']}, {info['cores']} cores, {info['python']}, {info['os']}; "
        f"scimhub at {info['rev']}",
        f"libs: {info['libs']}; scim2-server {info['scim2_server']}",
        f"pinning: servers on CPU {args.server_cpu}, load generator on CPU {args.client_cpu}"
        if pinned
        else "pinning: NOT pinned (fewer than 2 CPUs)",
        f"load generator: one asyncio process, {args.concurrency} connections "
        f"({args.patch_concurrency} for PATCH); {args.duration:g} s per phase; load phase: "
        f"scimhub {loads['scimhub']:.1f} s, scim2-server {loads['scim2-server']:.1f} s "
        f"(not measured)",
    ]
    if noisy:
        lines.append("WARNING: other processes were busy during: " + ", ".join(noisy))
    if invalid:
        lines += ["", "ERRORS (the benchmark is invalid):", *invalid]
    text = "\n".join(lines)

    def mdrow(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.replace("|", "/") for c in cells) + " |"

    md = [
        RESULTS_SECTION,
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with",
        "",
        "```sh",
        cmd,
        "```",
        "",
        f"scimhub at `{info['rev']}`. "
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['python']}, {info['os']}; "
        f"{info['libs']}; scim2-server {info['scim2_server']}. "
        + (
            f"Each server is one process pinned to CPU {args.server_cpu}; the load generator "
            f"(one asyncio process, {args.concurrency} connections, {args.patch_concurrency} "
            f"for the PATCHes, keep-alive where the server allows it: scim2-server's wsgiref "
            f"answers HTTP/1.0 and closes each connection) runs on CPU {args.client_cpu}."
            if pinned
            else "Not pinned (fewer than 2 CPUs)."
        ),
        f"Data: {args.users:,} users, {args.groups} groups of 10 members, one group of "
        f"{args.users:,} members, one of 10, {args.pool:,} spare users for the PATCHes. "
        f"{args.duration:g} s per operation (PATCH phases end earlier when the spare users "
        f"run out)." + (" **INVALID: errors during the run.**" if invalid else ""),
        "",
        mdrow(head),
        "|---|---:|---:|---:|---:|---:|---:|---:|:-:|",
    ]
    md += [mdrow(r) for r in rows]
    md += [
        "",
        f"Targets {basis}. *req/CPU-s* is req/s divided by the share of its core the "
        "server process actually used: what it would serve with the core to itself.",
        "",
        f"Framework ceiling, hello-world Starlette + uvicorn (same settings, same "
        f"pinning): **{fmt_rps(hello.rps)} req/s** ({fmt_rps(hello.per_core)} "
        f"req/CPU-s). scimhub GET by id reaches "
        f"{hub['get'].per_core / hello.per_core:.0%} of it per CPU-second; the stretch "
        f"goal of 4,500 GET/s is {'met' if get_ok else 'not met'} "
        f"({fmt_rps(get_best)}).",
        "",
        "PATCH add one member, latency in ms. *Unloaded*: one connection, PATCHes to the "
        "two groups interleaved (the target is judged here); *loaded*: the PATCH phases "
        f"above, {args.patch_concurrency} connections, one group at a time.",
        "",
        "| PATCH add one member | scimhub unloaded p50 / p99 | scimhub loaded p50 / p99 | "
        "scim2-server unloaded p50 / p99 | scim2-server loaded p50 / p99 |",
        "|---|---:|---:|---:|---:|",
        f"| group of {args.users:,} members | {pb50:.2f} / {pb99:.2f} | {hb50:.2f} / "
        f"{hb99:.2f} | {qb50:.2f} / {qb99:.2f} | {rb50:.2f} / {rb99:.2f} |",
        f"| group of 10 members | {ps50:.2f} / {ps99:.2f} | {hs50:.2f} / {hs99:.2f} | "
        f"{qs50:.2f} / {qs99:.2f} | {rs50:.2f} / {rs99:.2f} |",
        f"| ratio (target <= 2x, unloaded p50) | **{ratio(pb50, ps50):.2f}x** "
        f"({'met' if patch_ok else 'NOT met'}) / {ratio(pb99, ps99):.2f}x | "
        f"{ratio(hb50, hs50):.2f}x / {ratio(hb99, hs99):.2f}x | "
        f"{ratio(qb50, qs50):.2f}x / {ratio(qb99, qs99):.2f}x | "
        f"{ratio(rb50, rs50):.2f}x / {ratio(rb99, rs99):.2f}x |",
        "",
        'Every phase (CPU in % of one core during the phase; "other" is every process '
        "but the server and the load generator, which should be near 0):",
        "",
        mdrow(dhead),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    md += [mdrow(r) for r in detail]
    if noisy:
        md += [
            "",
            "**Other processes were busy during** "
            + ", ".join(noisy)
            + "; raw req/s there are low, see req/CPU-s.",
        ]
    md.append("")
    return text, "\n".join(md), all_ok


def write_results(md: str, section: str = RESULTS_SECTION) -> Path:
    """Replace one benchmark's section of RESULTS.md (its heading `section` up to the next
    `## `), or append it."""
    path = HERE / "RESULTS.md"
    old = path.read_text() if path.exists() else "# Benchmark results\n\n"
    if section in old:
        before, _, after = old.partition(section)
        nxt = after.find("\n## ")
        tail = after[nxt + 1 :] if nxt >= 0 else ""
        new = before + md + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + "\n\n" + md
    path.write_text(new)
    return path


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--users", type=int, default=10_000, help="users loaded (default 10000)")
    p.add_argument("--groups", type=int, default=100, help="groups of 10 members (default 100)")
    p.add_argument(
        "--duration", type=float, default=10.0, help="seconds per measured operation (default 10)"
    )
    p.add_argument(
        "--probe",
        type=int,
        default=300,
        help="spare users for the unloaded, interleaved PATCH latency probe (default 300)",
    )
    p.add_argument(
        "--probe-seconds",
        type=float,
        default=5.0,
        help="duration of the PATCH latency probe (default 5)",
    )
    p.add_argument(
        "--pool",
        type=int,
        default=1500,
        help="spare users the PATCH phases add, one per request; bounds the PATCH "
        "phases (default 1500)",
    )
    p.add_argument("--concurrency", type=int, default=16, help="connections (default 16)")
    p.add_argument(
        "--patch-concurrency",
        type=int,
        default=2,
        help="connections of the PATCH phases (default 2): a PATCH on scim2-server's "
        "10,000-member group takes ~2 s, and in-flight requests finish after "
        "the phase's deadline",
    )
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before starting, wait up to SECONDS for the machine to be idle "
        "(other processes using < 10%% of a core); default 0",
    )
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds (default 1)")
    p.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="split each operation's --duration into this many rounds, "
        "alternating between the servers (default 2)",
    )
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--client-cpu", type=int, default=1)
    p.add_argument("--no-write", action="store_true", help="do not write bench/RESULTS.md")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return p.parse_args(argv)


async def amain(
    args: argparse.Namespace, tmp: Path, server_cpu: int | None
) -> tuple[dict[str, dict[str, PhaseResult]], PhaseResult, dict[str, float]]:
    """All three servers stay up (an idle one costs nothing) and the measured phases
    alternate between them, operation by operation and in --rounds rounds, so a change in
    background load over the run hits every side alike instead of whichever ran last."""
    servers: list[Server] = []
    try:
        hub_server, hub = start_scimhub(tmp, server_cpu)
        servers.append(hub_server)
        ref_server, ref = start_scim2_server(tmp, server_cpu)
        servers.append(ref_server)
        hello_server, hello = start_hello(tmp, server_cpu)
        servers.append(hello_server)
        loaded: dict[str, Loaded] = {}
        for target in (hub, ref):
            print(
                f"[{target.name}] pid {target.pid}, port {target.port}: loading "
                f"{args.users} users, {args.pool + args.probe} spare users, "
                f"{args.groups + 2} groups ...",
                flush=True,
            )
            loaded[target.name] = data = await load(target, args)
            await check_loaded(target, data, args)
            print(f"[{target.name}] loaded in {data.seconds:.1f} s (checked)", flush=True)
        print(f"[hello] pid {hello.pid}, port {hello.port}", flush=True)

        hello_make = (lambda req: lambda i: req)(hello.raw("GET", "/hello"))
        # Warm-up, not measured: the read requests, briefly, on every server.
        warm = [(hello, hello_make)]
        for target in (hub, ref):
            ops = plan(target, loaded[target.name], args, 0)
            warm += [(target, ops["get"].make), (target, ops["search"].make)]
        for target, make in warm:
            await run_phase(
                target,
                "warm",
                make,
                duration=args.warmup / 2,
                max_count=10**9,
                concurrency=args.concurrency,
            )

        parts: dict[str, dict[str, list[PhaseResult]]] = {
            hub.name: {},
            ref.name: {},
            hello.name: {},
        }
        dur = args.duration / args.rounds
        for rnd in range(args.rounds):
            plans = {t.name: plan(t, loaded[t.name], args, rnd) for t in (hub, ref)}
            for key in ("get", "search", "post", "patch_big", "patch_small", "probe"):
                for target in (hub, ref):
                    op = plans[target.name][key]
                    r = await run_phase(
                        target,
                        key,
                        op.make,
                        duration=args.probe_seconds / args.rounds if key == "probe" else dur,
                        max_count=op.max_count,
                        concurrency=op.concurrency,
                        on_latency=op.on_latency,
                    )
                    parts[target.name].setdefault(key, []).append(r)
                    _progress(target, r, f"round {rnd + 1}/{args.rounds}")
                if key == "get":
                    r = await run_phase(
                        hello,
                        "hello",
                        hello_make,
                        duration=dur,
                        max_count=10**9,
                        concurrency=args.concurrency,
                    )
                    parts[hello.name].setdefault("hello", []).append(r)
                    _progress(hello, r, f"round {rnd + 1}/{args.rounds}")

        results: dict[str, dict[str, PhaseResult]] = {}
        for target in (hub, ref):
            res = {key: merge(rs, key) for key, rs in parts[target.name].items()}
            probe = res.pop("probe")
            lat = loaded[target.name].probe_lat
            for key, side in (("probe_big", 0), ("probe_small", 1)):
                res[key] = PhaseResult(
                    key,
                    count=len(lat[side]),
                    errors=probe.errors,
                    elapsed=probe.elapsed,
                    latencies=lat[side],
                    error_samples=probe.error_samples,
                    connects=probe.connects,
                    cpu_server=probe.cpu_server,
                    cpu_client=probe.cpu_client,
                    cpu_other=probe.cpu_other,
                    cpu_steal=probe.cpu_steal,
                )
            results[target.name] = res
            # Every successful PATCH added one member: the groups must show it.
            data = loaded[target.name]
            for gid, base_n, keys in (
                (data.big_group, len(data.user_ids), ("patch_big", "probe_big")),
                (data.small_group, 10, ("patch_small", "probe_small")),
            ):
                want = base_n + sum(res[k].count for k in keys)
                got = await member_count(target, gid)
                if got != want:
                    res[keys[0]].errors += 1
                    res[keys[0]].error_samples.append(
                        f"group has {got} members after the PATCHes, expected {want}"
                    )
        hello_result = merge(parts[hello.name]["hello"], "hello")
        loads = {name: d.seconds for name, d in loaded.items()}
        return results, hello_result, loads
    finally:
        for server in servers:
            server.stop()


def wait_quiet(limit: float) -> None:
    """Wait (up to `limit` s) until other processes use < 10% of a core over 2 s."""
    deadline = time.monotonic() + limit
    while True:
        with CpuWatch(None) as w:
            time.sleep(2.0)
        if w.other < 10 or time.monotonic() >= deadline:
            print(
                f"other processes use {w.other:.0f}% of a core"
                + ("" if w.other < 10 else "; starting anyway"),
                flush=True,
            )
            return
        print(
            f"waiting for a quiet machine: other processes use {w.other:.0f}% of a core", flush=True
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    cpus = os.sched_getaffinity(0)
    pinned = (
        args.server_cpu in cpus and args.client_cpu in cpus and args.server_cpu != args.client_cpu
    )
    if pinned:
        os.sched_setaffinity(0, {args.client_cpu})
    else:
        print("warning: fewer than 2 usable CPUs; not pinning", file=sys.stderr)
    try:
        import uvloop  # the load generator's own loop: faster than asyncio's default

        runner: Callable = uvloop.run
    except ImportError:
        runner = asyncio.run
    if args.wait_quiet > 0:
        wait_quiet(args.wait_quiet)
    tmp = Path(tempfile.mkdtemp(prefix="scimhub-bench-"))
    try:
        results, hello, loads = runner(amain(args, tmp, args.server_cpu if pinned else None))
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    invalid = [
        f"  {server} {r.name}: {r.errors} errors; e.g. {r.error_samples[:2]}"
        for server, phases in results.items()
        for r in phases.values()
        if r.errors
    ]
    if hello.errors:
        invalid.append(f"  hello: {hello.errors} errors; e.g. {hello.error_samples[:2]}")
    info = machine_info()
    text, md, ok = build_report(results, hello, loads, args, info, pinned, invalid)
    print(text)
    print("\nMarkdown for bench/RESULTS.md:\n")
    print(md)
    if not args.no_write:
        print(f"wrote {write_results(md)}")
    print(
        f"total time {time.monotonic() - started:.0f} s; targets "
        f"{'all met' if ok else 'NOT all met'}"
    )
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
