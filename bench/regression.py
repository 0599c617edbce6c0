#!/usr/bin/env python
"""scimhub against an earlier scimhub: what a change costs on the SCIM hot paths.

Run from the repository root (installs nothing):

    .venv/bin/python bench/regression.py --baseline REV [--users 10000 --duration 10]
                                         [--section "## Cost of ..."] [--no-write]

It exports REV (`git archive`) into a temporary folder and starts two `scimhub serve`
processes, both pinned to CPU 0 (this process, the load generator, to CPU 1): "scimhub"
from the working tree and "scimhub@REV" with PYTHONPATH pointing at the export (the
installed dependencies are shared, so only scimhub's own code differs). Both get the same
data and the same requests as bench/scim_throughput.py (GET by id, `userName eq` filter,
POST, PATCH +1 member on a 10,000- and a 10-member group), operation by operation, in
--rounds rounds that alternate between the two, so a change in background load hits both
alike. It prints req/s, req/CPU-s and the ratio of the working tree to the baseline, and
writes a markdown section into bench/RESULTS.md unless --no-write. Any non-2xx answer makes
the run INVALID (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scim_throughput as st

OPS = ("get", "search", "post", "patch_big", "patch_small")


def export(rev: str, into: Path) -> Path:
    """The source tree of `rev`, for PYTHONPATH."""
    archive = into / "baseline.tar"
    subprocess.run(
        ["git", "archive", "--format=tar", "-o", str(archive), rev, "src"], cwd=st.ROOT, check=True
    )
    with tarfile.open(archive) as tar:
        tar.extractall(into / "baseline", filter="data")
    return into / "baseline" / "src"


async def measure(
    args: argparse.Namespace,
    tmp: Path,
    cpu: int | None,
    *,
    baseline_wrap: Callable[[list[str]], list[str]] | None = None,
) -> dict[str, dict[str, st.PhaseResult]]:
    """`baseline_wrap`: the baseline is the working tree, its `scimhub serve` command line
    turned into another (bench/events.py's events off), instead of the revision's export;
    its results are still named `scimhub@{args.baseline}`."""
    servers = []
    try:
        head_server, head = st.start_scimhub(tmp, cpu, name="scimhub")
        servers.append(head_server)
        name = f"scimhub@{args.baseline}"
        if baseline_wrap is None:
            env = {"PYTHONPATH": str(export(args.baseline, tmp))}
            base_server, base = st.start_scimhub(tmp, cpu, name=name, env=env)
        else:
            base_server, base = st.start_scimhub(tmp, cpu, name=name, wrap=baseline_wrap)
        servers.append(base_server)
        loaded = {}
        for target in (head, base):
            loaded[target.name] = data = await st.load(target, args)
            await st.check_loaded(target, data, args)
            print(f"[{target.name}] loaded in {data.seconds:.1f} s (checked)", flush=True)
        for target in (head, base):
            ops = st.plan(target, loaded[target.name], args, 0)
            for key in ("get", "search"):
                await st.run_phase(
                    target,
                    "warm",
                    ops[key].make,
                    duration=args.warmup / 2,
                    max_count=10**9,
                    concurrency=args.concurrency,
                )
        parts: dict[str, dict[str, list[st.PhaseResult]]] = {head.name: {}, base.name: {}}
        for rnd in range(args.rounds):
            plans = {t.name: st.plan(t, loaded[t.name], args, rnd) for t in (head, base)}
            for key in OPS:
                for target in (head, base) if rnd % 2 == 0 else (base, head):
                    op = plans[target.name][key]
                    r = await st.run_phase(
                        target,
                        key,
                        op.make,
                        duration=args.duration / args.rounds,
                        max_count=op.max_count,
                        concurrency=op.concurrency,
                    )
                    parts[target.name].setdefault(key, []).append(r)
                    st._progress(target, r, f"round {rnd + 1}/{args.rounds}")
        return {name: {k: st.merge(v, k) for k, v in res.items()} for name, res in parts.items()}
    finally:
        for server in servers:
            server.stop()


def report(
    results: dict[str, dict[str, st.PhaseResult]], args: argparse.Namespace
) -> tuple[str, bool]:
    head, base = results["scimhub"], results[f"scimhub@{args.baseline}"]
    info = st.machine_info()
    busy = any(r.cpu_other > 15 for side in results.values() for r in side.values())
    lines = [
        args.section,
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{' '.join(sys.argv)}`. Working tree "
        f"`{info['rev']}` against `{args.baseline}`; both one uvicorn "
        f"process pinned to one core, the load generator on the other; "
        f"{args.users} users, {args.duration:g} s per operation in {args.rounds} "
        f"alternating rounds. Machine: {info['cpu']}, {info['cores']} cores, "
        f"{info['python']}.",
        "",
        "| operation | baseline req/s | now req/s | now / baseline | "
        "baseline req/CPU-s | now req/CPU-s | now / baseline (CPU) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    ok = True
    for key, label in st.OPERATIONS:
        b, h = base[key], head[key]
        ok = ok and not (b.errors or h.errors)
        lines.append(
            f"| {label} | {b.rps:,.0f} | {h.rps:,.0f} | {h.rps / b.rps:.2f} | "
            f"{b.per_core:,.0f} | {h.per_core:,.0f} | "
            f"{h.per_core / b.per_core:.2f} |"
        )
    if busy:
        lines += [
            "",
            "Other processes used more than 15% of a core during some phases: compare req/CPU-s.",
        ]
    if not ok:
        lines += ["", "**INVALID: some requests failed.**"]
    lines.append("")
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", required=True, help="git revision to compare against")
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--groups", type=int, default=100)
    p.add_argument("--duration", type=float, default=10.0, help="seconds per operation")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--patch-concurrency", type=int, default=2)
    p.add_argument("--pool", type=int, default=1500)
    p.add_argument("--probe", type=int, default=0)
    p.add_argument("--probe-seconds", type=float, default=0.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--section", default="## Cost of the security controls (issue 11)")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    pinned = {0, 1} <= os.sched_getaffinity(0)
    if pinned:
        os.sched_setaffinity(0, {1})
    with tempfile.TemporaryDirectory(prefix="scimhub-regression-") as tmp:
        results = asyncio.run(measure(args, Path(tmp), 0 if pinned else None))
    md, ok = report(results, args)
    print(md)
    if not args.no_write:
        print(f"wrote {st.write_results(md, args.section)}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
