#!/usr/bin/env python
"""scimhub against Ory Polis (npm `@boxyhq/saml-jackson`) on its SQLite engine (issue 16).

Run from the repository root (needs `node` and `npm` on PATH; nothing is installed into the
repository):

    .venv/bin/python bench/polis_compare.py [--users 2000 --duration 12 --rounds 4]
                                            [--profile-seconds 8] [--no-write] [--keep]

About 3-4 minutes, most of it `npm install` (which compiles better-sqlite3). What it does,
all on 127.0.0.1:

1. `npm install --prefix <temporary folder> @boxyhq/saml-jackson@<--polis-version>`: a fresh
   folder per run, deleted at the end (--keep keeps it); never node_modules in the
   repository. npm's own download cache (~/.npm) makes later runs quicker.
2. Starts three servers, each ONE process pinned to CPU 0 (this process, the load
   generator, is pinned to CPU 1):
   - Polis: bench/polis/server.mjs, a small node:http server around Jackson's directory
     sync on its SQL engine with SQLite (`db: {engine: 'sql', type: 'sqlite', url}`, a file
     in the temporary folder), one `generic-scim-v2` directory, requests passed to
     `directorySyncController.requests.handle()` the way Polis's own Next.js route
     `pages/api/scim/v2.0/[...directory].ts` passes them (bearer = the directory's secret);
   - scimhub: `scimhub serve` on a fresh data directory, as bench/scim_throughput.py starts it;
   - hello-world Starlette on uvicorn with `scimhub serve`'s settings (the framework ceiling).
3. Loads --users users into scimhub and Polis with the same bodies (scim_throughput.py's
   `user_body`; 16 concurrent POSTs, not measured) and checks both: GET by id returns that
   user, `userName eq` finds exactly that one, a wrong bearer token gets 401. It records
   whether each answer carries `meta` and an ETag (Polis answers the stored body plus `id`).
4. Drives GET /Users/{random id} and GET /Users?filter=userName eq "<random existing>" with
   scim_throughput.py's asyncio HTTP/1.1 client (--concurrency keep-alive connections), in
   --rounds rounds; in each round every operation runs on both servers, in an order that
   alternates round by round, and hello-world runs once per round, so background load hits
   all alike. Every non-2xx answer is an error; a run with errors is INVALID (exit 1).
5. Reports req/s, p50/p99, req/CPU-s (req/s divided by the share of its core the server
   used: on a shared machine the targets are judged on it, as in scim_throughput.py), the
   ratios scimhub/Polis and scimhub/hello-world, per-round ratios, the CPU of every phase,
   the machine (CPU, cores, Python, Node, SQLite versions) and the commit.
6. Unless --profile-seconds 0: starts another `scimhub serve` under cProfile (the wrapper of
   bench/profile_hot_path.py, switched on only for the measured phase), loads the same users,
   drives GET /Users/{id} at the same concurrency and reports the top functions by
   cumulative and by self time, per request. The raw profile goes to bench/profiles/.
7. Writes the section "scimhub vs Ory Polis (issue 16)" of bench/RESULTS.md unless
   --no-write.

Targets (issue 16), each side by side in one run: GET /Users/{id} and the `userName eq`
filter at >= 1.3x Polis and >= 25% of hello-world Starlette.

Why a script of its own rather than `scim_throughput.py --peer polis`: scim_throughput.py's
report is built around scim2-server's five operations, groups and PATCH probes at 10,000
users; Polis is compared on two reads at 2,000 users, with an install step and a Node
process to manage. Like regression.py, custom_attributes.py and profile_hot_path.py, this
script imports scim_throughput.py's client, CPU accounting, server start-up and data
(nothing copied), so both keep working unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import pstats
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
import profile_hot_path as ph
import scim_throughput as st

SECTION = "## scimhub vs Ory Polis (issue 16)"
POLIS_PACKAGE = "@boxyhq/saml-jackson"
POLIS_VERSION = "26.2.0"
SERVER_JS = st.HERE / "polis" / "server.mjs"
OPS = (
    ("get", "GET /Users/{id}"),
    ("search", 'GET /Users?filter=userName eq "..."'),
)
TARGET_POLIS = 1.3
TARGET_HELLO = 0.25
NO_PHONE_HOME = {
    "DO_NOT_TRACK": "1",
    "BOXYHQ_NO_ANALYTICS": "1",
    "npm_config_update_notifier": "false",
    "npm_config_fund": "false",
    "npm_config_audit": "false",
}


# --------------------------------------------------------------------------------------------
# Polis: install and run
# --------------------------------------------------------------------------------------------


def _run_group(argv: list[str], *, log: Path, timeout: float, cwd: Path) -> int:
    """Run a command in its own process group (npm spawns node-gyp, make, cc ...); on a
    timeout or an interrupt the whole group is killed."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env={**os.environ, **NO_PHONE_HOME},
            start_new_session=True,
        )
        try:
            return proc.wait(timeout)
        except BaseException:
            _kill_group(proc)
            raise


def _kill_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    for sig in (signal.SIGINT, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def install_polis(tmp: Path, version: str, timeout: float) -> Path:
    """npm install the package into tmp/polis-npm; returns that prefix."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise SystemExit(f"`{tool}` not found on PATH (Node.js and npm are needed for Polis)")
    prefix = tmp / "polis-npm"
    prefix.mkdir()
    # better-sqlite3 (Polis's SQLite driver) builds its addon in an install script; npm 11
    # runs dependencies' install scripts only when `allowScripts` names them.
    (prefix / "package.json").write_text(
        json.dumps(
            {"name": "polis-bench", "private": True, "allowScripts": {"better-sqlite3": True}}
        )
    )
    log = tmp / "npm-install.log"
    spec = f"{POLIS_PACKAGE}@{version}"
    print(f"[polis] npm install {spec} into {prefix} (log {log}) ...", flush=True)
    t0 = time.monotonic()
    rc = _run_group(
        ["npm", "install", "--prefix", str(prefix), spec],
        log=log,
        timeout=timeout,
        cwd=prefix,
    )
    if rc != 0:
        raise SystemExit(f"npm install failed (exit {rc}):\n{log.read_text()[-3000:]}")
    probe = ["node", "-e", "require('better-sqlite3')(':memory:').close()"]
    if subprocess.run(probe, cwd=prefix, capture_output=True).returncode != 0:
        print("[polis] better-sqlite3 not built; npm rebuild better-sqlite3 ...", flush=True)
        _run_group(
            ["npm", "rebuild", "--prefix", str(prefix), "better-sqlite3"],
            log=log,
            timeout=timeout,
            cwd=prefix,
        )
        if subprocess.run(probe, cwd=prefix, capture_output=True).returncode != 0:
            raise SystemExit(f"better-sqlite3 does not load:\n{log.read_text()[-3000:]}")
    print(f"[polis] installed in {time.monotonic() - t0:.0f} s", flush=True)
    return prefix


class PolisServer:
    """bench/polis/server.mjs in its own process group, pinned to one CPU."""

    def __init__(self, prefix: Path, tmp: Path, cpu: int | None) -> None:
        self.name = "polis"
        self.port = st.free_port()
        self.log_path = tmp / "polis.log"
        self.out_path = tmp / "polis.out"
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        self.out = open(self.out_path, "wb")  # noqa: SIM115
        argv = ["node", str(SERVER_JS), "--prefix", str(prefix)]
        argv += ["--db", str(tmp / "polis.sqlite"), "--port", str(self.port)]
        if cpu is not None and shutil.which("taskset"):
            argv = ["taskset", "-c", str(cpu), *argv]
        self.proc = subprocess.Popen(
            argv,
            stdout=self.out,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
            preexec_fn=st._pin(cpu),  # the same pinning, if taskset is missing
            env={**os.environ, **NO_PHONE_HOME},
            cwd=tmp,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.out_path.read_text(errors="replace").splitlines():
                if line.startswith('{"ready":true'):
                    return json.loads(line)
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise SystemExit(
            "Polis did not start:\n"
            + self.out_path.read_text(errors="replace")[-2000:]
            + self.log_path.read_text(errors="replace")[-3000:]
        )

    def stop(self) -> None:
        _kill_group(self.proc)
        self.log.close()
        self.out.close()


def start_polis(prefix: Path, tmp: Path, cpu: int | None) -> tuple[PolisServer, st.Target, dict]:
    server = PolisServer(prefix, tmp, cpu)
    ready = server.wait_ready()
    # taskset execs node in place, so the pid is node's.
    target = st.Target("polis", "127.0.0.1", server.port, ready["path"], ready["secret"])
    target.pid = server.proc.pid
    return server, target, ready


# --------------------------------------------------------------------------------------------
# Data and checks
# --------------------------------------------------------------------------------------------


def user_name(i: int) -> str:
    return f"user{i:06d}@bench.example"


async def load_users(target: st.Target, n: int, concurrency: int) -> tuple[list[str], float]:
    ids = [""] * n

    def ok(i: int, body: bytes) -> None:
        ids[i] = st._loads(body)["id"]

    t0 = time.perf_counter()
    r = await st.run_phase(
        target,
        "load",
        lambda i: target.raw("POST", "/Users", st.user_body(user_name(i), i)),
        duration=3600.0,
        max_count=n,
        concurrency=concurrency,
        on_ok=ok,
    )
    if r.errors or not all(ids):
        raise SystemExit(f"{target.name}: loading users failed: {r.error_samples}")
    return ids, time.perf_counter() - t0


def _http_get(target: st.Target, path: str, token: str) -> tuple[int, dict[str, str], dict]:
    req = urllib.request.Request(
        f"http://{target.host}:{target.port}{target.base}{path}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/scim+json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"{}")


@dataclass
class Checked:
    get_bytes: int = 0
    search_bytes: int = 0
    meta: bool = False
    etag: bool = False
    notes: list[str] = field(default_factory=list)


def check(target: st.Target, ids: list[str]) -> Checked:
    """GET by id returns the user; `userName eq` finds exactly it; a wrong token is refused."""
    out = Checked()
    for k in (0, len(ids) // 2, len(ids) - 1):
        status, headers, doc = _http_get(target, f"/Users/{ids[k]}", target.token)
        if status != 200 or doc.get("id") != ids[k] or doc.get("userName") != user_name(k):
            raise SystemExit(f"{target.name}: GET /Users/{ids[k]} -> {status} {doc}")
        flt = quote(f'userName eq "{user_name(k)}"', safe="")
        status, _, found = _http_get(target, f"/Users?filter={flt}", target.token)
        res = found.get("Resources") or []
        if status != 200 or found.get("totalResults") != 1 or len(res) != 1:
            raise SystemExit(f"{target.name}: filter for {user_name(k)} -> {status} {found}")
        if res[0].get("id") != ids[k]:
            raise SystemExit(f"{target.name}: filter for {user_name(k)} found {res[0]}")
        if k == 0:
            out.get_bytes = len(json.dumps(doc, separators=(",", ":")))
            out.search_bytes = len(json.dumps(found, separators=(",", ":")))
            out.meta = "meta" in doc
            out.etag = any(h.lower() == "etag" for h in headers)
    status, _, _ = _http_get(target, f"/Users/{ids[0]}", "not-the-secret")
    if status != 401:
        raise SystemExit(f"{target.name}: a wrong bearer token got {status}, expected 401")
    return out


def makers(target: st.Target, ids: list[str], rnd: int) -> dict[str, Callable[[int], bytes]]:
    """The measured requests of round `rnd`: the same random choices for every server."""
    rng = Random(16 + rnd)
    n = len(ids)
    picks = [rng.randrange(n) for _ in range(50_000)]
    gets = [target.raw("GET", f"/Users/{ids[k]}") for k in picks]
    searches = [
        target.raw("GET", "/Users?filter=" + quote(f'userName eq "{user_name(k)}"', safe=""))
        for k in picks
    ]
    return {
        "get": lambda i: gets[i % len(gets)],
        "search": lambda i: searches[i % len(searches)],
    }


# --------------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    merged: dict[str, dict[str, st.PhaseResult]]  # server -> op -> result
    rounds: dict[str, dict[str, list[st.PhaseResult]]]
    checked: dict[str, Checked]
    loads: dict[str, float]
    polis: dict


async def compare(args: argparse.Namespace, tmp: Path, prefix: Path, cpu: int | None) -> Run:
    stops: list[Callable[[], None]] = []
    try:
        polis_server, polis, ready = start_polis(prefix, tmp, cpu)
        stops.append(polis_server.stop)
        hub_server, hub = st.start_scimhub(tmp, cpu)
        stops.append(hub_server.stop)
        hello_server, hello = st.start_hello(tmp, cpu)
        stops.append(hello_server.stop)
        print(
            f"[polis] pid {polis.pid}, port {polis.port}: Jackson {ready['jackson']}, "
            f"Node {ready['node']}, SQLite {ready['sqlite']}",
            flush=True,
        )
        ids: dict[str, list[str]] = {}
        checked: dict[str, Checked] = {}
        loads: dict[str, float] = {}
        for t in (hub, polis):
            ids[t.name], loads[t.name] = await load_users(t, args.users, args.concurrency)
            checked[t.name] = check(t, ids[t.name])
            c = checked[t.name]
            print(
                f"[{t.name}] {args.users} users loaded in {loads[t.name]:.1f} s; checked "
                f"(GET {c.get_bytes} B, meta {'yes' if c.meta else 'no'}, "
                f"ETag {'yes' if c.etag else 'no'})",
                flush=True,
            )
        hello_make = (lambda req: lambda i: req)(hello.raw("GET", "/hello"))
        for t in (hub, polis):
            mk = makers(t, ids[t.name], -1)
            for key, _ in OPS:
                await st.run_phase(
                    t,
                    "warm",
                    mk[key],
                    duration=args.warmup,
                    max_count=10**9,
                    concurrency=args.concurrency,
                )
        await st.run_phase(
            hello,
            "warm",
            hello_make,
            duration=args.warmup,
            max_count=10**9,
            concurrency=args.concurrency,
        )
        rounds: dict[str, dict[str, list[st.PhaseResult]]] = {
            "scimhub": {},
            "polis": {},
            "hello": {},
        }
        dur = args.duration / args.rounds
        for rnd in range(args.rounds):
            order = (hub, polis) if rnd % 2 == 0 else (polis, hub)
            mks = {t.name: makers(t, ids[t.name], rnd) for t in order}
            for key, _ in OPS:
                for t in order:
                    r = await st.run_phase(
                        t,
                        key,
                        mks[t.name][key],
                        duration=dur,
                        max_count=10**9,
                        concurrency=args.concurrency,
                    )
                    rounds[t.name].setdefault(key, []).append(r)
                    st._progress(t, r, f"round {rnd + 1}/{args.rounds}")
                if key == "get":
                    r = await st.run_phase(
                        hello,
                        "hello",
                        hello_make,
                        duration=dur,
                        max_count=10**9,
                        concurrency=args.concurrency,
                    )
                    rounds["hello"].setdefault("hello", []).append(r)
                    st._progress(hello, r, f"round {rnd + 1}/{args.rounds}")
        merged = {
            name: {key: st.merge(rs, key) for key, rs in ops.items()}
            for name, ops in rounds.items()
        }
        return Run(merged, rounds, checked, loads, ready)
    finally:
        for stop in reversed(stops):
            stop()


# --------------------------------------------------------------------------------------------
# The "before" profile of scimhub's GET /Users/{id}
# --------------------------------------------------------------------------------------------


def _short(path: str) -> str:
    for cut in ("site-packages/", "/src/", "/lib/python3"):
        if cut in path:
            return path.split(cut, 1)[1]
    return path


def _fn_label(func: tuple[str, int, str]) -> str:
    path, line, name = func
    if path == "~":  # a C function
        return name
    return f"{name} ({_short(path)}:{line})"


LAYERS = (
    ("scimhub (api, directory, scim, store)", "scimhub/"),
    ("SQLAlchemy", "sqlalchemy/"),
    ("Starlette", "starlette/"),
    ("uvicorn + httptools", "uvicorn/"),
    ("asyncio / uvloop", "asyncio/"),
)


def _layer(func: tuple[str, int, str]) -> str:
    path, _, name = func
    if path == "~":
        if "sqlite3." in name:
            return "sqlite3 driver (C: execute, fetch, commit)"
        return "other C built-ins (orjson, hashlib, str, dict ...)"
    for layer, marker in LAYERS:
        if marker in path:
            return layer
    return "stdlib (Python)"


def summarise_profile(path: Path, requests: int, top: int) -> tuple[str, float]:
    """Markdown tables from a cProfile dump: self time by layer, the top functions by
    cumulative time, scimhub's own by cumulative time, and the top by self time, each per
    request (`requests` finished while the profiler was on)."""
    stats = pstats.Stats(str(path), stream=io.StringIO())
    total = stats.total_tt or 1e-9
    n = max(requests, 1)
    per = 1e6 / n
    rows = [
        (func, nc, tt, ct)
        for func, (_cc, nc, tt, ct, _callers) in stats.stats.items()  # type: ignore[attr-defined]
    ]

    def table(title: str, picked: list[tuple]) -> list[str]:
        out = [
            f"| {title} | calls/req | self us/req | cum us/req | cum % |",
            "|---|---:|---:|---:|---:|",
        ]
        for func, nc, tt, ct in picked:
            label = _fn_label(func).replace("|", "/")
            out.append(
                f"| `{label}` | {nc / n:.2f} | {tt * per:.1f} | {ct * per:.1f} | "
                f"{100 * ct / total:.0f}% |"
            )
        return out

    layers: dict[str, float] = {}
    for func, _nc, tt, _ct in rows:
        layers[_layer(func)] = layers.get(_layer(func), 0.0) + tt
    lines = ["| self time by layer | us/req | share |", "|---|---:|---:|"]
    lines += [
        f"| {name} | {tt * per:.0f} | {100 * tt / total:.0f}% |"
        for name, tt in sorted(layers.items(), key=lambda kv: -kv[1])
    ]
    by_cum = sorted(rows, key=lambda r: -r[3])
    by_self = sorted(rows, key=lambda r: -r[2])
    own = [r for r in by_cum if "scimhub/" in r[0][0] and "cli.py" not in r[0][0]]
    lines += ["", *table(f"top {top} by cumulative time", by_cum[:top])]
    lines += ["", *table(f"scimhub's own functions, top {top} by cumulative time", own[:top])]
    lines += ["", *table("top 10 by self time", by_self[:10])]
    return "\n".join(lines), total * per


async def profile_get(args: argparse.Namespace, tmp: Path, cpu: int | None) -> dict:
    """scimhub's GET /Users/{id} under cProfile, at the comparison's concurrency."""
    prof_dir = tmp / "profile"
    prof_dir.mkdir()
    base = str(prof_dir / "cprofile")

    def wrap(argv: list[str]) -> list[str]:
        return [sys.executable, "-c", ph.CPROFILE_WRAPPER, base, *argv[1:]]

    server, target = st.start_scimhub(tmp, cpu, wrap=wrap, name="scimhub-profiled")
    try:
        ids, _ = await load_users(target, args.users, args.concurrency)
        mk = makers(target, ids, 99)
        await st.run_phase(
            target,
            "warm",
            mk["get"],
            duration=args.warmup,
            max_count=10**9,
            concurrency=args.concurrency,
        )
        server.proc.send_signal(signal.SIGUSR1)
        await asyncio.sleep(0.2)
        r = await st.run_phase(
            target,
            "get",
            mk["get"],
            duration=args.profile_seconds,
            max_count=10**9,
            concurrency=args.concurrency,
        )
        server.proc.send_signal(signal.SIGUSR2)
        st._progress(target, r, "cProfile")
        prof = Path(f"{base}.1")
        for _ in range(100):
            if prof.exists() and prof.stat().st_size > 0:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
    finally:
        server.stop()
    if not prof.exists():
        raise SystemExit("the cProfile dump did not appear")
    # The requests finished while profiling: the phase's count plus the ones in flight.
    keep_dir = st.HERE / "profiles"
    keep_dir.mkdir(exist_ok=True)
    kept = keep_dir / "polis-compare-scimhub-get.prof"
    shutil.copyfile(prof, kept)
    text, us = summarise_profile(prof, r.count, args.top)
    return {"result": r, "table": text, "us_per_req": us, "kept": kept}


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def versions(ready: dict) -> dict[str, str]:
    info = st.machine_info()
    info["node"] = ready.get("node", "?")
    info["jackson"] = ready.get("jackson", "?")
    info["polis_sqlite"] = ready.get("sqlite", "?")
    info["py_sqlite"] = sqlite3.sqlite_version
    return info


def build_report(
    run: Run, args: argparse.Namespace, info: dict[str, str], pinned: bool, prof: dict | None
) -> tuple[str, bool, list[str]]:
    hub, pol, hello = run.merged["scimhub"], run.merged["polis"], run.merged["hello"]["hello"]
    every = [r for ops in run.merged.values() for r in ops.values()]
    busy = max(r.cpu_other for r in every)
    invalid = [
        f"{name} {r.name}: {r.errors} errors, e.g. {r.error_samples[:2]}"
        for name, ops in run.merged.items()
        for r in ops.values()
        if r.errors
    ]
    normalised = busy > 15
    fmt = st.fmt_rps

    def judged(r: st.PhaseResult) -> float:
        return r.per_core if normalised else r.rps

    rows, ok_all = [], not invalid
    for key, label in OPS:
        h, p = hub[key], pol[key]
        vs_polis = st.ratio(judged(h), judged(p))
        vs_hello = st.ratio(judged(h), judged(hello))
        ok_p, ok_h = vs_polis >= TARGET_POLIS, vs_hello >= TARGET_HELLO
        ok_all = ok_all and ok_p and ok_h
        rows.append(
            f"| {label} | {fmt(h.rps)} | {fmt(p.rps)} | {h.pct(50):.2f} / {h.pct(99):.2f} | "
            f"{p.pct(50):.2f} / {p.pct(99):.2f} | {fmt(h.per_core)} | {fmt(p.per_core)} | "
            f"**{vs_polis:.2f}x** ({'met' if ok_p else 'NOT met'}) | "
            f"**{vs_hello:.0%}** ({'met' if ok_h else 'NOT met'}) |"
        )
    per_round = []
    for key, label in OPS:
        cells = []
        for h, p, he in zip(
            run.rounds["scimhub"][key],
            run.rounds["polis"][key],
            run.rounds["hello"]["hello"],
            strict=True,
        ):
            cells.append(
                f"{st.ratio(h.per_core, p.per_core):.2f}x / {st.ratio(h.per_core, he.per_core):.0%}"
            )
        per_round.append(f"| {label} | " + " | ".join(cells) + " |")

    detail = []
    for name in ("scimhub", "polis", "hello"):
        for key, rs in run.rounds[name].items():
            for i, r in enumerate(rs, start=1):
                detail.append(
                    f"| {name} | {key} | {i} | {fmt(r.rps)} | {fmt(r.per_core)} | {r.count} | "
                    f"{r.pct(50):.2f} | {r.pct(99):.2f} | {r.cpu_server:.0f} | "
                    f"{r.cpu_client:.0f} | {r.cpu_other:.0f} | {r.cpu_steal:.0f} |"
                )

    cmd = (
        f".venv/bin/python bench/polis_compare.py --users {args.users} --duration "
        f"{args.duration:g} --rounds {args.rounds} --profile-seconds {args.profile_seconds:g}"
    )
    defaults = parse_args([])
    if args.concurrency != defaults.concurrency:
        cmd += f" --concurrency {args.concurrency}"
    if args.polis_version != defaults.polis_version:
        cmd += f" --polis-version {args.polis_version}"
    hc, pc = run.checked["scimhub"], run.checked["polis"]
    load_note = (
        f"**Measured on a busy machine** (other sessions' test runs: other processes used "
        f"up to {busy:.0f}% of a core during the measured phases, see the last table), so the "
        "absolute req/s are low and noisy; the ratios and targets are judged on req/CPU-s "
        "(req/s divided by the share of its core the server actually used). Rerun on a quiet "
        "machine before drawing conclusions beyond that."
        if normalised
        else f"The machine was quiet (other processes used at most {busy:.0f}% of a core); "
        "targets judged on raw req/s."
    )
    md = [
        SECTION,
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with",
        "",
        "```sh",
        cmd,
        "```",
        "",
        load_note,
        "",
        f"scimhub at `{info['rev']}`. Machine: {info['cpu']}, {info['cores']} cores, "
        f"{info['os']}; {info['python']} (SQLite {info['py_sqlite']}), {info['libs']}; "
        f"Node.js {info['node']}, `{POLIS_PACKAGE}` {info['jackson']} (better-sqlite3, SQLite "
        f"{info['polis_sqlite']}), installed from the npm registry into a temporary folder. "
        + (
            f"Each server is one process pinned to CPU {args.server_cpu}; the load generator "
            f"(scim_throughput.py's asyncio HTTP/1.1 client, {args.concurrency} keep-alive "
            f"connections) runs on CPU {args.client_cpu}."
            if pinned
            else "Not pinned (fewer than 2 CPUs)."
        ),
        f"Data: {args.users:,} users, the same bodies in both (loaded in "
        f"{run.loads['scimhub']:.1f} s into scimhub, {run.loads['polis']:.1f} s into Polis, not "
        f"measured). {args.duration:g} s per operation and server in {args.rounds} rounds "
        "whose order alternates; hello-world once per round."
        + (" **INVALID: errors during the run.**" if invalid else ""),
        "",
        "Polis is `bench/polis/server.mjs`: node:http around Jackson's directory sync "
        "(`await jackson({db: {engine: 'sql', type: 'sqlite', url}, ...})`, one "
        "`directorySyncController.directories.create({type: 'generic-scim-v2', ...})`, "
        "requests to `directorySyncController.requests.handle({method, body, directoryId, "
        "resourceType, resourceId, apiSecret, query})` as its Next.js route "
        "`pages/api/scim/v2.0/[...directory].ts` does). Both were checked before the run: GET "
        "by id returns the user, the filter exactly one, a wrong token 401. What they answer "
        f"differs: scimhub's user carries `meta` ({'yes' if hc.meta else 'no'}) and an ETag "
        f"({'yes' if hc.etag else 'no'}), {hc.get_bytes} bytes; Polis's is the stored request "
        f"body plus `id`, `meta` {'yes' if pc.meta else 'no'}, ETag "
        f"{'yes' if pc.etag else 'no'}, {pc.get_bytes} bytes (search answers: "
        f"{hc.search_bytes} vs {pc.search_bytes} bytes). Polis reads the directory and then "
        "the user by key (two SQLite look-ups through TypeORM); its filter is a look-up of "
        "the `directoryIdUsername` index, keyed on the first email.",
        "",
        "| operation | scimhub req/s | Polis req/s | scimhub p50 / p99 ms | "
        "Polis p50 / p99 ms | scimhub req/CPU-s | Polis req/CPU-s | scimhub / Polis "
        f"(target >= {TARGET_POLIS:g}x) | scimhub / hello-world (target >= "
        f"{TARGET_HELLO:.0%}) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Hello-world Starlette + uvicorn (same settings, same pinning): {fmt(hello.rps)} "
        f"req/s, {fmt(hello.per_core)} req/CPU-s, p50 / p99 {hello.pct(50):.2f} / "
        f"{hello.pct(99):.2f} ms. Ratios " + ("per CPU-second." if normalised else "on raw req/s."),
        "",
        "Per round (req/CPU-s; scimhub / Polis and scimhub / hello-world), to show the spread:",
        "",
        "| operation | " + " | ".join(f"round {i + 1}" for i in range(args.rounds)) + " |",
        "|---|" + "---:|" * args.rounds,
        *per_round,
    ]
    if prof:
        r = prof["result"]
        md += [
            "",
            f"### Profile before: scimhub GET /Users/{{id}} (cProfile, {args.users:,} users, "
            f"{args.concurrency} connections)",
            "",
            "A separate `scimhub serve` run under bench/profile_hot_path.py's cProfile "
            f"wrapper, switched on for {args.profile_seconds:g} s of GET by id: {r.count} "
            f"requests, {fmt(r.rps)} req/s, {fmt(r.per_core)} req/CPU-s under the profiler "
            f"(server {r.cpu_server:.0f}%, other processes {r.cpu_other:.0f}% of a core). "
            f"cProfile saw {prof['us_per_req']:.0f} us per request on the event-loop thread "
            "(GET by id runs inline on it) and inflates many small calls, so read the shares, "
            "not the absolute times. Raw profile: "
            f"`bench/profiles/{prof['kept'].name}` (not committed). Times per request:",
            "",
            prof["table"],
        ]
    md += [
        "",
        'Every phase (CPU in % of one core; "other" is every process but the server and the '
        "load generator: near 0 on a quiet machine):",
        "",
        "| server | phase | round | req/s | req/CPU-s | n | p50 ms | p99 ms | server cpu% | "
        "client cpu% | other cpu% | steal% |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *detail,
        "",
    ]
    return "\n".join(md), ok_all, invalid


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--users", type=int, default=2000, help="users loaded (default 2000)")
    p.add_argument(
        "--duration",
        type=float,
        default=12.0,
        help="seconds per operation and server, split over --rounds (default 12)",
    )
    p.add_argument("--rounds", type=int, default=4, help="alternating rounds (default 4)")
    p.add_argument("--concurrency", type=int, default=16, help="connections (default 16)")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds (default 1)")
    p.add_argument(
        "--profile-seconds",
        type=float,
        default=8.0,
        help="seconds of the cProfile'd scimhub GET phase; 0 skips it (default 8)",
    )
    p.add_argument("--top", type=int, default=15, help="profile rows (default 15)")
    p.add_argument("--polis-version", default=POLIS_VERSION, help=f"default {POLIS_VERSION}")
    p.add_argument(
        "--npm-timeout", type=float, default=900.0, help="seconds for npm install (default 900)"
    )
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--client-cpu", type=int, default=1)
    p.add_argument("--no-write", action="store_true", help="do not write bench/RESULTS.md")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return p.parse_args(argv)


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
    cpu = args.server_cpu if pinned else None
    try:
        import uvloop

        runner: Callable = uvloop.run
    except ImportError:
        runner = asyncio.run
    tmp = Path(tempfile.mkdtemp(prefix="scimhub-polis-"))
    prof = None
    try:
        prefix = install_polis(tmp, args.polis_version, args.npm_timeout)
        run = runner(compare(args, tmp, prefix, cpu))
        if args.profile_seconds > 0:
            prof = runner(profile_get(args, tmp, cpu))
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    info = versions(run.polis)
    md, ok, invalid = build_report(run, args, info, pinned, prof)
    print(md)
    if invalid:
        print("ERRORS (the benchmark is invalid):\n  " + "\n  ".join(invalid))
    if not args.no_write:
        print(f"wrote {st.write_results(md, SECTION)}")
    print(
        f"total time {time.monotonic() - started:.0f} s; targets "
        f"{'all met' if ok else 'NOT all met'}"
    )
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
