#!/usr/bin/env python
"""Filtering on an organisation's custom attribute against filtering on userName (issue 14).

Run from the repository root (installs nothing):

    .venv/bin/python bench/custom_attributes.py [--users 100000 --duration 12 --rounds 4]
                                                [--no-write]

Target (issue 14): a filter on a custom attribute at 100,000 users within 1.5x of a filter
on `userName`.

1. Seeds a fresh SQLite hub, before it serves, with Core bulk inserts into the directory's
   tables (as bench/console_pages.py does): one organisation with two custom string
   attributes in `urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User`,
   defined through the hub's own service: `costCenter` (1,000 distinct values, ~users/1000
   users each) and `badge` (unique, one user each); --users users, each with both, their
   values in `custom_values` as the hub's writes index them.
2. Starts `scimhub serve` on it (one uvicorn process pinned to CPU 0; this process, the
   load generator, on CPU 1) and checks that each filter finds what it should.
3. Drives, with bench/scim_throughput.py's HTTP/1.1 client (16 connections), in --rounds
   rounds whose order alternates (so a change in background load hits all alike):
   - `userName eq "<random user>"` (1 match: Entra's matching query),
   - `...:User:badge eq "<random badge>"` (1 match: the like-for-like comparison),
   - `...:User:costCenter eq "<random centre>"` (~users/1000 matches, first page of
     `count=100`),
   - and, for information, `...:User:badge sw "<prefix of 10>"` and `...:User:costCenter
     pr` with `count=10` (a count over every user).
   Any non-2xx answer, or a first answer with the wrong totalResults, makes the run INVALID.
4. Prints req/s, req/CPU-s and the ratio of each to `userName eq`, the machine, and writes
   the section "Custom attribute filters (issue 14)" of bench/RESULTS.md unless --no-write.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scim_throughput as st

from scimhub.api.services import Hub
from scimhub.config import Settings
from scimhub.scim.custom import Definition
from scimhub.store.tables import custom_values, users

SECTION = "## Custom attribute filters (issue 14)"
URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
CENTRES = 1_000
CHUNK = 5_000
TARGET = 1.5


@dataclass
class Seeded:
    org_id: str
    token: str
    n: int
    seconds: float


def user_name(i: int) -> str:
    return f"user{i:06d}@contoso.example"


def badge(i: int) -> str:
    return f"B{i:07d}"


def centre(i: int) -> str:
    return f"CC{i % CENTRES:04d}"


def seed(data_dir: Path, n: int) -> Seeded:
    """The organisation, its attributes and `n` users, written as the hub writes them."""
    started = time.perf_counter()
    hub = Hub.open(Settings(data_dir=data_dir))
    org = hub.orgs.create("bench")
    token, _ = hub.tokens.create(org.id)
    ids = {
        d.definition.name: d.id
        for d in (
            hub.attributes.add(org.id, Definition("User", URN, "costCenter")),
            hub.attributes.add(org.id, Definition("User", URN, "badge", unique=True)),
        )
    }
    now = datetime.now(UTC).replace(microsecond=0)
    for start in range(0, n, CHUNK):
        rows, values = [], []
        for i in range(start, min(n, start + CHUNK)):
            uid = str(uuid.uuid4())
            doc = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", URN],
                "userName": user_name(i),
                "externalId": f"ext-{i:06d}",
                "displayName": f"Person {i}",
                "active": True,
                "emails": [{"value": user_name(i), "type": "work", "primary": True}],
                URN: {"costCenter": centre(i), "badge": badge(i)},
            }
            rows.append(
                {
                    "id": uid,
                    "org_id": org.id,
                    "user_name": doc["userName"],
                    "user_name_ci": doc["userName"],
                    "external_id": doc["externalId"],
                    "display_name": doc["displayName"],
                    "active": True,
                    "data": doc,
                    "password_hash": None,
                    "created": now,
                    "last_modified": now,
                    "version": 1,
                }
            )
            # As custom_values.rows keeps them: lower-cased (neither is caseExact), the
            # unique one with its unique_key.
            for name, value, unique in (
                ("costCenter", centre(i), False),
                ("badge", badge(i), True),
            ):
                values.append(
                    {
                        "resource_id": uid,
                        "attribute_id": ids[name],
                        "position": 0,
                        "text_value": value.lower(),
                        "number_value": None,
                        "unique_key": value.lower() if unique else None,
                    }
                )
        with hub.db.write() as conn:
            conn.execute(users.insert(), rows)
            conn.execute(custom_values.insert(), values)
    with hub.db.write() as conn:  # the statistics a long-running hub's database would have
        conn.exec_driver_sql("ANALYZE")
    hub.close()
    return Seeded(org.id, token, n, time.perf_counter() - started)


def flt(expr: str, count: int | None = None) -> str:
    return f"/Users?filter={quote(expr, safe='')}" + (f"&count={count}" if count else "")


def operations(n: int, rnd: int) -> dict[str, tuple[str, list[str], int]]:
    """label -> (description, request paths to cycle through, expected totalResults)."""
    rng = random.Random(14 + rnd)
    picks = [rng.randrange(n) for _ in range(50_000)]
    per_centre = len(range(0, n, CENTRES))  # users of CC0000: the most any centre has
    return {
        "userName": (
            'filter=userName eq "..." (1 match)',
            [flt(f'userName eq "{user_name(i)}"') for i in picks],
            1,
        ),
        "externalId": (
            'filter=externalId eq "..." (1 match; indexed column, general search path)',
            [flt(f'externalId eq "ext-{i:06d}"') for i in picks],
            1,
        ),
        "badge": (
            'filter=...:User:badge eq "..." (1 match)',
            [flt(f'{URN}:badge eq "{badge(i)}"') for i in picks],
            1,
        ),
        "costCenter": (
            f'filter=...:User:costCenter eq "..." (~{n // CENTRES} matches, count=100)',
            [flt(f'{URN}:costCenter eq "{centre(0)}"', 100)]
            + [flt(f'{URN}:costCenter eq "{centre(i)}"', 100) for i in picks],
            per_centre,
        ),
        "badge_sw": (
            'filter=...:User:badge sw "..." (10 matches, count=10)',
            [flt(f'{URN}:badge sw "{badge(i)[:-1]}"', 10) for i in picks if i < n - n % 10],
            10,
        ),
        "costCenter_pr": (
            f"filter=...:User:costCenter pr ({n} matches, count=10)",
            [flt(f"{URN}:costCenter pr", 10)],
            n,
        ),
    }


async def measure(args: argparse.Namespace, target: st.Target) -> dict[str, st.PhaseResult]:
    for label, paths, total in operations(args.users, 0).values():
        doc = await st.fetch_json(target, paths[0])
        if doc["totalResults"] != total:
            raise SystemExit(f"INVALID: {label} found {doc['totalResults']}, expected {total}")
    print("filters checked", flush=True)
    for _, paths, _ in operations(args.users, -1).values():
        await st.run_phase(
            target,
            "warm",
            lambda i, p=paths: target.raw("GET", p[i % len(p)]),  # type: ignore[misc]
            duration=args.warmup,
            max_count=10**9,
            concurrency=args.concurrency,
        )
    parts: dict[str, list[st.PhaseResult]] = {}
    for rnd in range(args.rounds):
        ops = list(operations(args.users, rnd).items())
        for key, (_, paths, _) in ops if rnd % 2 == 0 else ops[::-1]:
            r = await st.run_phase(
                target,
                key,
                lambda i, p=paths: target.raw("GET", p[i % len(p)]),  # type: ignore[misc]
                duration=args.duration / args.rounds,
                max_count=10**9,
                concurrency=args.concurrency,
            )
            parts.setdefault(key, []).append(r)
            st._progress(target, r, f"round {rnd + 1}/{args.rounds}")
    return {k: st.merge(v, k) for k, v in parts.items()}


def report(
    results: dict[str, st.PhaseResult], seeded: Seeded, args: argparse.Namespace
) -> tuple[str, bool]:
    info = st.machine_info()
    labels = {k: v[0] for k, v in operations(args.users, 0).items()}
    base = results["userName"]
    busy = any(r.cpu_other > 15 for r in results.values())
    ok = not any(r.errors for r in results.values())
    lines = [
        SECTION,
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{' '.join(sys.argv)}` at `{info['rev']}`. "
        f"One organisation of {args.users:,} users (seeded in {seeded.seconds:.1f} s by bulk "
        f"insert), each with a `costCenter` ({CENTRES:,} distinct values) and a unique "
        f"`badge` in `{URN}`; `scimhub serve` (SQLite) pinned to one core, the load "
        f"generator ({args.concurrency} connections) on the other; {args.duration:g} s per "
        f"filter in {args.rounds} alternating rounds. Machine: {info['cpu']}, "
        f"{info['cores']} cores, {info['python']}.",
        "",
        "| GET /Users? | req/s | p50 ms | p99 ms | req/CPU-s | userName eq / this (req/CPU-s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, r in results.items():
        lines.append(
            f"| {labels[key]} | {st.fmt_rps(r.rps)} | {r.pct(50):.2f} | {r.pct(99):.2f} | "
            f"{st.fmt_rps(r.per_core)} | {st.ratio(base.per_core, r.per_core):.2f} |"
        )
    slow = st.ratio(base.per_core, results["badge"].per_core)
    lines += [
        "",
        f"Like for like (one match each): `badge eq` takes {slow:.2f}x the CPU of "
        f"`userName eq` per request; target ≤ {TARGET}x: "
        f"**{'met' if slow <= TARGET else 'missed'}**.",
    ]
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
    p.add_argument("--users", type=int, default=100_000)
    p.add_argument("--duration", type=float, default=12.0, help="seconds per filter")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    pinned = {0, 1} <= os.sched_getaffinity(0)
    if pinned:
        os.sched_setaffinity(0, {1})
    with tempfile.TemporaryDirectory(prefix="scimhub-custom-attrs-") as tmp:
        data = Path(tmp) / "scimhub-data"
        seeded = seed(data, args.users)
        print(f"seeded {seeded.n:,} users in {seeded.seconds:.1f} s", flush=True)
        port = st.free_port()
        argv_ = [str(st.BIN / "scimhub"), "serve", "--data-dir", str(data), "--port", str(port)]
        server = st.Server("scimhub", argv_, 0 if pinned else None, log=Path(tmp) / "hub.log")
        try:
            server.wait_ready(f"http://127.0.0.1:{port}/healthz")
            target = st.Target(
                "scimhub",
                "127.0.0.1",
                port,
                f"/identity/scim/{seeded.org_id}/v2",
                seeded.token,
                server.proc.pid,
            )
            results = asyncio.run(measure(args, target))
        finally:
            server.stop()
    md, ok = report(results, seeded, args)
    print(md)
    if not args.no_write:
        print(f"wrote {st.write_results(md, SECTION)}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
