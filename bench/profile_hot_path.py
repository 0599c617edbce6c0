#!/usr/bin/env python
"""Profile scimhub's GET-by-id and filtered-search hot path under load (issue 2, "Speed").

    .venv/bin/python bench/profile_hot_path.py [--users 10000 --duration 8 --mode pyspy]

Starts `scimhub serve` exactly as bench/scim_throughput.py does (one process pinned to CPU 0,
the same data), drives GET /Users/{id} and then `filter=userName eq "..."` from the same
load generator on CPU 1, and profiles the server during each phase:

- `--mode pyspy` (default when `py-spy` is on PATH or in the venv; `pip install py-spy`):
  samples the live server (pausing it ~250 times a second to read whole stacks). Prints the
  top functions by self time and by inclusive time, and self time per layer (uvicorn,
  starlette, scimhub's own packages, SQLAlchemy, the sqlite3 driver, orjson ...).
- `--mode cprofile`: no install needed; the server runs under cProfile, switched on only
  during each measured phase (SIGUSR1/SIGUSR2). Deterministic call counts, but cProfile
  inflates the cost of many small Python calls.

Raw profiles are kept in --out (default bench/profiles/, not committed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scim_throughput as st

CPROFILE_WRAPPER = textwrap.dedent("""
    import cProfile, signal, sys
    prof = cProfile.Profile()
    out = sys.argv.pop(1)
    state = {"n": 0}
    def on(signum, frame):
        prof.enable()
    def off(signum, frame):
        prof.disable()
        state["n"] += 1
        prof.dump_stats(f"{out}.{state['n']}")
        prof.clear()
    signal.signal(signal.SIGUSR1, on)
    signal.signal(signal.SIGUSR2, off)
    from scimhub.cli import app
    sys.argv = ["scimhub", *sys.argv[1:]]
    app()
""")

# Self time is charged to the leaf Python frame: time inside a C extension shows up in the
# Python function that called it, so these functions are named apart.
DRIVER = (
    "DefaultDialect.do_execute",
    "DefaultDialect.do_commit",
    "DefaultDialect.do_rollback",
    "DefaultDialect.do_begin",
    "CursorResult",
    "_raw_row_iterator",
)
LAYERS = [
    ("scimhub.api", "scimhub/api/"),
    ("scimhub.directory", "scimhub/directory/"),
    ("scimhub.scim", "scimhub/scim/"),
    ("scimhub.store", "scimhub/store/"),
    ("sqlalchemy", "sqlalchemy/"),
    ("starlette", "starlette/"),
    ("uvicorn", "uvicorn/"),
    ("asyncio", "asyncio/"),
    ("uvloop", "uvloop"),
]


def layer_of(fn: str) -> str:
    if fn.startswith(
        (
            "DefaultDialect.do_execute",
            "DefaultDialect.do_commit",
            "DefaultDialect.do_begin",
            "DefaultDialect.do_rollback",
        )
    ):
        return "sqlite3 driver (SQLite C: execute/commit)"
    if fn.startswith("_sqlite_on_begin"):
        return "sqlite3 driver (SQLite C: execute/commit)"
    for name, marker in LAYERS:
        if marker in fn:
            return name
    where = fn.rsplit("(", 1)[-1].rstrip(")")
    return "stdlib/other: " + where


def _fn(frame: str) -> str:
    """'get (scimhub/directory/users.py:63)' -> 'get (scimhub/directory/users.py)'."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for cut in ("site-packages/", "/src/"):
        if cut in path:
            path = path.split(cut, 1)[1]
    return f"{name} ({path})"


def summarise_pyspy(path: Path, top: int, rps: float) -> str:
    self_t: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_fn(f) for f in stack.split(";") if f]
        total += n
        self_t[frames[-1]] += n
        layers[layer_of(frames[-1])] += n
        for f in set(frames):
            incl[f] += n
    per_req = (1e6 / rps) if rps else 0.0  # microseconds of server time per request

    def us(n: int) -> str:
        return f"{per_req * n / total:6.0f} us" if per_req else ""

    out = [
        f"{total} samples of the server's busy time; at {rps:.0f} req/s one request costs "
        f"~{per_req:.0f} us of server time in all (if the server core was saturated)",
        "",
        "self time by layer:",
    ]
    out += [f"  {100 * n / total:5.1f}% {us(n)}  {name}" for name, n in layers.most_common(14)]
    out += ["", f"top {top} functions by self time:"]
    out += [f"  {100 * n / total:5.1f}% {us(n)}  {name}" for name, n in self_t.most_common(top)]
    out += ["", f"scimhub functions by inclusive time (top {top}):"]
    out += [
        f"  {100 * n / total:5.1f}% {us(n)}  {name}"
        for name, n in incl.most_common()
        if "scimhub/" in name and "cli.py" not in name and "(scimhub)" not in name
    ][: top + 3]
    out += ["", "selected library functions by inclusive time:"]
    for needle in (
        "Connection.execute (",
        "Connection._execute_clauseelement",
        "ClauseElement._compile_w_cache",
        "HasCacheKey._generate_cache_key",
        "DefaultDialect.do_execute",
        "DefaultDialect.do_commit",
        "Engine.connect",
        "Connection.begin",
        "Connection.close",
        "_ConnectionFairy._checkout",
        "_ConnectionFairy._checkin",
        "select (sqlalchemy",
        "Select.where",
        "expect (sqlalchemy",
        "Request.query_params",
        "Request.headers",
        "RequestResponseCycle.send",
        "HttpToolsProtocol.data_received",
        "Response.__init__",
        "Route.matches",
        "Mount.matches",
        "uuid4",
        "format_datetime",
        "deepcopy",
    ):
        hits = [(f, n) for f, n in incl.items() if needle in f]
        for f, n in sorted(hits, key=lambda x: -x[1])[:2]:
            out.append(f"  {100 * n / total:5.1f}% {us(n)}  {f}")
    return "\n".join(out)


def summarise_cprofile(path: Path, top: int) -> str:
    import io

    buf = io.StringIO()
    stats = pstats.Stats(str(path), stream=buf)
    stats.strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def find_pyspy() -> str | None:
    local = st.BIN / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


async def run(args: argparse.Namespace, tmp: Path) -> None:
    pyspy = find_pyspy()
    mode = args.mode or ("pyspy" if pyspy else "cprofile")
    if mode == "pyspy" and not pyspy:
        raise SystemExit("py-spy not found: `.venv/bin/pip install py-spy`, or --mode cprofile")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    wrap = None
    if mode == "cprofile":
        prof_base = str(out_dir / "cprofile")

        def wrap(argv: list[str]) -> list[str]:
            return [sys.executable, "-c", CPROFILE_WRAPPER, prof_base, *argv[1:]]

    server, target = st.start_scimhub(tmp, args.server_cpu, wrap=wrap)
    try:
        bargs = st.parse_args(
            [
                "--users",
                str(args.users),
                "--groups",
                str(args.groups),
                "--pool",
                "10",
                "--concurrency",
                str(args.concurrency),
            ]
        )
        print(f"loading {args.users} users ...", flush=True)
        data = await st.load(target, bargs)
        rng = random.Random(5)
        n = len(data.user_ids)
        gets = [data.user_ids[rng.randrange(n)] for _ in range(100_000)]
        names = [
            quote(f'userName eq "{data.user_names[rng.randrange(n)]}"', safe="")
            for _ in range(100_000)
        ]
        phases = {
            "get": lambda i: target.raw("GET", f"/Users/{gets[i % len(gets)]}"),
            "search": lambda i: target.raw("GET", f"/Users?filter={names[i % len(names)]}"),
        }
        for k, (name, make) in enumerate(phases.items(), start=1):
            await st.run_phase(
                target, "warm", make, duration=1.0, max_count=10**9, concurrency=args.concurrency
            )
            spy = None
            if mode == "pyspy":
                raw = out_dir / f"pyspy-{name}.txt"
                spy = subprocess.Popen(
                    [
                        pyspy,
                        "record",
                        "--pid",
                        str(server.proc.pid),
                        "--duration",
                        str(int(args.duration)),
                        "--rate",
                        "250",
                        "--format",
                        "raw",
                        "-o",
                        str(raw),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    preexec_fn=lambda: os.sched_setaffinity(0, {args.client_cpu}),
                )
                time.sleep(0.5)
            else:
                server.proc.send_signal(signal.SIGUSR1)
            r = await st.run_phase(
                target,
                name,
                make,
                duration=args.duration,
                max_count=10**9,
                concurrency=args.concurrency,
            )
            st._progress(target, r)
            if spy is not None:
                _, err = spy.communicate(timeout=60)
                if spy.returncode != 0:
                    print(err.decode(errors="replace")[-2000:])
                print(f"\n===== {name}: py-spy, {raw} =====")
                print(summarise_pyspy(raw, args.top, r.rps * 100 / max(r.cpu_server, 1)))
            else:
                server.proc.send_signal(signal.SIGUSR2)
                prof = Path(f"{prof_base}.{k}")
                for _ in range(50):
                    if prof.exists():
                        break
                    await asyncio.sleep(0.1)
                await asyncio.sleep(0.5)
                print(f"\n===== {name}: cProfile, {prof} =====")
                print(summarise_cprofile(prof, args.top))
    finally:
        server.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--groups", type=int, default=100)
    p.add_argument("--duration", type=float, default=8.0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--mode", choices=["pyspy", "cprofile"], default=None)
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "profiles"))
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--client-cpu", type=int, default=1)
    args = p.parse_args()
    os.sched_setaffinity(0, {args.client_cpu})
    tmp = Path(tempfile.mkdtemp(prefix="scimhub-profile-"))
    try:
        asyncio.run(run(args, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
