#!/usr/bin/env python
"""Change events and webhooks (issue 13), measured side by side in one run:

    .venv/bin/python bench/events.py [--parts scim,delivery,lag,pull] [--baseline 5a812ec]
                                     [--off revision|in-tree] [--events 10000]
                                     [--pull-users 100000] [--section "## ..."] [--no-write]

- scim: SCIM POST and group PATCH throughput with events on (the working tree: every write
  records its events in its transaction, the delivery loop runs) against events off, by
  bench/regression.py's A/B (both servers pinned to CPU 0, alternating rounds). Events off
  is the revision before the outbox (`--baseline`), or with `--off in-tree` the working
  tree itself with recording turned off (every module's `events.record` a no-op, so no
  event is written and the delivery loop is never woken; checked in its database), which
  leaves out what else changed since that revision. Target: on >= 0.9x of off.
- delivery: one process on SQLite delivers `--events` pre-recorded events to a local
  receiver (another process, on the other core, that verifies every signature with the
  `standardwebhooks` package): events/s for one endpoint (ordered, one at a time) and for
  four endpoints at once (the scheduler's four threads). Target: >= 1,000 events/s.
- lag: `scimhub serve` (in-process scheduler) under a SCIM mix (60% GET by id, 25%
  `userName eq` filter, 10% POST, 5% PATCH) at `--rate` requests/s with one webhook
  endpoint: commit-to-receipt lag of every event, p50/p99 (receipt time minus the event's
  `occurred_at`, one clock).
- pull: a pull round of `--pull-users` users (and `--pull-groups` groups) from the Entra
  emulator into a served hub with a webhook endpoint: how long until every event of the
  round was received, verified, in order and once each.

Loopback only; every process stops by itself. Writes a section into bench/RESULTS.md
unless --no-write.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent))
import regression
import scim_throughput as st

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Change events and webhooks (issue 13)"
RECEIVER_CPU = 1


# -- the receiver: its own process, verifying every delivery -----------------------------

RECEIVER = r"""
import sys, time, orjson
from datetime import datetime
from standardwebhooks import Webhook
import uvicorn

hooks = {}   # path -> Webhook
seen = {}    # path -> {"ids": set, "last": int, "count": int, "dup": int, "order": int}
lags = []    # seconds, every first receipt
bad = [0]

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            await send({"type": msg["type"] + ".complete"})
            if msg["type"] == "lifespan.shutdown":
                return
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    path = scope["path"]
    status, out = 200, b"{}"
    if path == "/stats":
        doc = {p: {k: v for k, v in s.items() if k != "ids"} for p, s in seen.items()}
        out = orjson.dumps({"paths": doc, "lags": lags, "bad": bad[0]})
    elif path == "/secrets":
        for p, secret in orjson.loads(body).items():
            hooks[p] = Webhook(secret)
            seen[p] = {"ids": set(), "last": 0, "count": 0, "dup": 0, "order": 0}
    elif path == "/reset":
        lags.clear()
    elif path in hooks:
        now = time.time()
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        try:
            event = hooks[path].verify(body, headers)
        except Exception:
            bad[0] += 1
            status = 401
        else:
            s = seen[path]
            if event["id"] in s["ids"]:
                s["dup"] += 1
            else:
                s["ids"].add(event["id"])
                s["count"] += 1
                position = int(event["cursor"])
                if position <= s["last"]:
                    s["order"] += 1
                s["last"] = position
                when = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
                lags.append(now - when.timestamp())
    else:
        status = 404
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": out})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, http="httptools", loop="uvloop")
"""


class ReceiverProcess:
    def __init__(self, tmp: Path) -> None:
        self.port = st.free_port()
        script = tmp / "receiver.py"
        script.write_text(RECEIVER)
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(self.port)],
            preexec_fn=lambda: os.sched_setaffinity(0, {RECEIVER_CPU}),
        )
        self.http = httpx.Client(base_url=self.base, trust_env=False, timeout=30)
        for _ in range(200):
            try:
                self.stats()
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the receiver did not start")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, name: str) -> str:
        return f"{self.base}/hook/{name}"

    def trust(self, secrets: dict[str, str]) -> None:
        self.http.post("/secrets", content=json.dumps(secrets)).raise_for_status()

    def stats(self) -> dict[str, Any]:
        doc: dict[str, Any] = self.http.get("/stats").raise_for_status().json()
        return doc

    def received(self) -> int:
        return sum(p["count"] for p in self.stats()["paths"].values())

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(10)


@contextmanager
def receiver(tmp: Path) -> Iterator[ReceiverProcess]:
    r = ReceiverProcess(tmp)
    try:
        yield r
    finally:
        r.stop()


def faultless(stats: dict[str, Any]) -> str:
    dup = sum(p["dup"] for p in stats["paths"].values())
    order = sum(p["order"] for p in stats["paths"].values())
    return f"{stats['bad']} bad signatures, {dup} duplicates, {order} out of order"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# -- the parts ----------------------------------------------------------------------------


# `scimhub` with events off in the working tree: every write records its events through
# `events.record` (imported by name into each module that writes), made a no-op here
# before the server starts. A bench-only switch: the hub has no setting to drop events.
EVENTS_OFF = r"""
import sys
import scimhub.api.services, scimhub.app, scimhub.asgi  # every module that records
from scimhub.cli import app
from scimhub.directory import events

def off(*_args, **_kwargs):
    return None

on = events.record
for module in list(sys.modules.values()):
    if getattr(module, "record", None) is on:
        module.record = off
app()
"""


def events_off(argv: list[str]) -> list[str]:
    return [sys.executable, "-c", EVENTS_OFF, *argv[1:]]


def _events_written(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "scimhub.db") as db:
        return int(db.execute("SELECT count(*) FROM events").fetchone()[0])


def part_scim(args: argparse.Namespace, tmp: Path) -> list[str]:
    in_tree = args.off == "in-tree"
    run = argparse.Namespace(**{**vars(args), "baseline": "events-off"}) if in_tree else args
    cpu = 0 if 0 in os.sched_getaffinity(0) else None
    if cpu is not None and 1 in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {1})
    try:
        wrap = events_off if in_tree else None
        results = asyncio.run(regression.measure(run, tmp, cpu, baseline_wrap=wrap))
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    on, off = results["scimhub"], results[f"scimhub@{run.baseline}"]
    if in_tree:
        written = _events_written(tmp / "scimhub-data")
        unwritten = _events_written(tmp / f"scimhub@{run.baseline}-data")
        if not written or unwritten:
            raise SystemExit(f"INVALID: {written} events with events on, {unwritten} off")
        against = (
            "off (the working tree with `events.record` a no-op: "
            f"{written:,} events written with events on, none off)"
        )
    else:
        against = f"off (`{args.baseline}`, the revision before the outbox)"
    lines = [
        f"SCIM throughput, events on (working tree) against {against}, both one uvicorn "
        f"process pinned to CPU 0, the load on CPU 1; {args.users} users, "
        f"{args.duration:g} s per operation in {args.rounds} alternating rounds:",
        "",
        "| operation | off req/s | on req/s | on / off | off req/CPU-s | on req/CPU-s "
        "| on / off (CPU) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in st.OPERATIONS:
        b, h = off[key], on[key]
        if b.errors or h.errors:
            raise SystemExit(f"INVALID: {label} had failed requests")
        lines.append(
            f"| {label} | {b.rps:,.0f} | {h.rps:,.0f} | {h.rps / b.rps:.2f} | "
            f"{b.per_core:,.0f} | {h.per_core:,.0f} | {h.per_core / b.per_core:.2f} |"
        )
    return [*lines, ""]


def part_delivery(args: argparse.Namespace, tmp: Path) -> list[str]:
    from scimhub.api.services import Hub
    from scimhub.config import Settings
    from scimhub.directory.actor import Actor
    from scimhub.directory.events import EventType, NewEvent, record

    os.sched_setaffinity(0, {0})
    settings = Settings(
        data_dir=tmp / "delivery",
        webhook_allow_private=True,
        secret_key=Fernet.generate_key().decode(),
    )
    hub = Hub.open(settings)
    out = []
    try:
        org = hub.orgs.create("bench")
        admin = Actor("bench", "BENCH")
        with receiver(tmp) as rx:
            for label, count in (("one endpoint", 1), ("four endpoints at once", 4)):
                made = [
                    hub.webhooks.add(org.id, rx.url(f"{label[:3]}{i}"), actor=admin)
                    for i in range(count)
                ]
                rx.trust({f"/hook/{label[:3]}{i}": m.secret for i, m in enumerate(made)})
                per = args.events // count
                user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}
                for start in range(0, per, 500):  # as SCIM writes record them
                    with hub.db.write() as conn:
                        record(
                            conn,
                            org.id,
                            [
                                NewEvent(
                                    EventType.USER_CREATED,
                                    {**user, "id": f"{start + i}", "userName": f"u{start + i}"},
                                )
                                for i in range(min(500, per - start))
                            ],
                        )
                expected = rx.received() + per * count
                t0 = time.perf_counter()
                cpu0 = time.process_time()
                ids = [m.endpoint.id for m in made]

                def drain(endpoint_id: str) -> None:
                    while hub.webhooks.deliverer.run(endpoint_id).delivered:
                        pass

                with ThreadPoolExecutor(count) as pool:
                    list(pool.map(drain, ids))
                seconds = time.perf_counter() - t0
                cpu = time.process_time() - cpu0
                got = rx.received()
                if got != expected:
                    raise SystemExit(f"INVALID: {got} of {expected} events received")
                n = per * count
                out.append(
                    f"| {label} | {n:,} | {seconds:.2f} | {n / seconds:,.0f} | {n / cpu:,.0f} |"
                )
                print(out[-1], flush=True)
            verdict = faultless(rx.stats())
    finally:
        hub.close()
    return [
        "Delivery from one process on SQLite (pinned to CPU 0) to a receiver on CPU 1 that "
        "verifies every signature (`standardwebhooks`); each event one signed HTTP POST "
        "and one recorded attempt:",
        "",
        "| endpoints | events | seconds | events/s | events/CPU-s |",
        "|---|---:|---:|---:|---:|",
        *out,
        "",
        f"Receiver: {verdict}.",
        "",
    ]


def _cli(env: dict[str, str], *argv: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "scimhub", *argv, "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


@contextmanager
def served_hub(tmp: Path, name: str, extra: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:

    port = st.free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        **extra,
        "SCIMHUB_DATA_DIR": str(tmp / name),
        "SCIMHUB_PUBLIC_URL": url,
        "SCIMHUB_WEBHOOK_ALLOW_PRIVATE": "true",
        "SCIMHUB_SECRET_KEY": Fernet.generate_key().decode(),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "scimhub", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        preexec_fn=lambda: os.sched_setaffinity(0, {0}),
    )
    try:
        for _ in range(300):
            try:
                httpx.get(f"{url}/healthz", trust_env=False)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, env
    finally:
        proc.terminate()
        proc.wait(20)


async def _mix(base: str, token: str, seconds: float, rate: float) -> int:
    """The SCIM mix at `rate` requests/s (open loop, 16 connections); returns requests."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    rng = random.Random(7)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, trust_env=False, limits=limits, timeout=30
    ) as http:
        ids: list[str] = []
        for i in range(200):
            r = await http.post("/Users", content=st.user_body(f"seed{i}@bench.example", i))
            ids.append(r.raise_for_status().json()["id"])
        sent, n, failed = 0, 1_000, 0
        pending: set[asyncio.Task[httpx.Response]] = set()
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate) - sent
            for _ in range(due):
                pick = rng.random()
                if pick < 0.60:
                    coro = http.get(f"/Users/{rng.choice(ids)}")
                elif pick < 0.85:
                    name = f"seed{rng.randrange(200)}@bench.example"
                    coro = http.get("/Users", params={"filter": f'userName eq "{name}"'})
                elif pick < 0.95:
                    n += 1
                    coro = http.post("/Users", content=st.user_body(f"mix{n}@bench.example", n))
                else:
                    patch = {
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [
                            {"op": "replace", "path": "displayName", "value": f"D {sent}"}
                        ],
                    }
                    coro = http.patch(f"/Users/{rng.choice(ids)}", content=json.dumps(patch))
                pending.add(asyncio.ensure_future(coro))
                sent += 1
            done = {t for t in pending if t.done()}
            failed += sum(1 for t in done if t.result().status_code >= 400)
            pending -= done
            await asyncio.sleep(0.002)
        for t in pending:
            failed += (await t).status_code >= 400
        if failed:
            raise SystemExit(f"INVALID: {failed} SCIM requests failed")
        return sent


def part_lag(args: argparse.Namespace, tmp: Path) -> list[str]:
    with receiver(tmp) as rx, served_hub(tmp, "lag", {}) as (url, env):
        org = _cli(env, "org", "create", "--name", "lag")["id"]
        token = _cli(env, "token", "create", "--org", org)["token"]
        hook = _cli(env, "webhook", "add", "--org", org, "--url", rx.url("lag"))
        rx.trust({"/hook/lag": hook["secret"]})
        base = f"{url}/identity/scim/{org}/v2"
        sent = asyncio.run(_mix(base, token, args.lag_seconds, args.rate))
        time.sleep(2)  # the last deliveries
        stats = rx.stats()
    lags = [x * 1000 for x in stats["lags"][200:]]  # past the seed users
    return [
        f"Commit-to-receipt lag under the SCIM mix (60% GET by id, 25% filter, 10% POST, "
        f"5% PATCH) at {args.rate:g} requests/s for {args.lag_seconds:g} s ({sent:,} "
        f"requests) against `scimhub serve` on CPU 0 with one endpoint, receiver on CPU 1: "
        f"{len(lags):,} events, **p50 {percentile(lags, 0.5):.1f} ms, p99 "
        f"{percentile(lags, 0.99):.1f} ms**, max {max(lags):.1f} ms; {faultless(stats)}.",
        "",
    ]


def part_pull(args: argparse.Namespace, tmp: Path) -> list[str]:
    from sync import connect

    from scimhub.demo.processes import start_emulator

    emu = start_emulator(
        tmp / "emu",
        users=args.pull_users,
        groups=args.pull_groups,
        cycle_seconds=5,
        log=tmp / "emu.log",
    )
    try:
        with receiver(tmp) as rx, served_hub(tmp, "pull", emu.hub_env()) as (url, env):
            org = _cli(env, "org", "create", "--name", "pull")["id"]
            admin = _cli(env, "token", "create", "--org", org, "--admin")["token"]
            hook = _cli(env, "webhook", "add", "--org", org, "--url", rx.url("pull"))
            rx.trust({"/hook/pull": hook["secret"]})
            api = connect(url, org, admin, emu, "pull")
            instance = api.get("/status").json()["instances"][0]["id"]
            t0 = time.monotonic()
            round_ = api.post(f"/instances/{instance}/syncNow").raise_for_status().json()
            pulled = time.monotonic() - t0
            total = _stream_length(url, org, admin)
            while rx.received() < total and time.monotonic() - t0 < args.pull_timeout:
                time.sleep(0.5)
            delivered = time.monotonic() - t0
            got, stats = rx.received(), rx.stats()
        if got < total:
            raise SystemExit(f"INVALID: {got} of {total} events received")
    finally:
        emu.stop()
    return [
        f"A pull round of {args.pull_users:,} users and {args.pull_groups:,} groups from the "
        f"emulator into `scimhub serve` (SQLite) with one webhook endpoint: the round took "
        f"{pulled:.1f} s ({_round_summary(round_['pull'])}); all **{total:,} events were received "
        f"{delivered:.1f} s after it started** ({total / delivered:,.0f} events/s end to "
        f"end, delivery overlapping the round); {faultless(stats)}.",
        "",
    ]


def _round_summary(pull: dict[str, int | float]) -> str:
    """The round's counts as a sentence, e.g. "100,003 users and 1,001 groups created"."""
    return (
        f"{pull['users_created']:,} users and {pull['groups_created']:,} groups created "
        f"from {pull['pages']:,} delta pages"
    )


def _stream_length(url: str, org: str, admin: str) -> int:
    """Events in the org's stream, counted through the events API's cursor."""
    total, cursor = 0, None
    with httpx.Client(trust_env=False, timeout=60) as http:
        while True:
            params: dict[str, str | int] = {"limit": 500}
            if cursor:
                params["after"] = cursor
            page = (
                http.get(
                    f"{url}/api/v1/orgs/{org}/events",
                    params=params,
                    headers={"Authorization": f"Bearer {admin}"},
                )
                .raise_for_status()
                .json()
            )
            total += len(page["data"])
            if not page["data"]:
                return total
            cursor = page["next_cursor"]


PARTS = {"scim": part_scim, "delivery": part_delivery, "lag": part_lag, "pull": part_pull}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--parts", default=",".join(PARTS))
    p.add_argument("--baseline", default="5a812ec", help="events off: the revision before them")
    p.add_argument(
        "--off",
        choices=("revision", "in-tree"),
        default="revision",
        help="events off: --baseline, or the working tree with recording turned off",
    )
    p.add_argument("--section", default=SECTION, help="the RESULTS.md section to write")
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--groups", type=int, default=100)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--patch-concurrency", type=int, default=2)
    p.add_argument("--pool", type=int, default=1500)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--events", type=int, default=10_000, help="delivery: events delivered")
    p.add_argument("--rate", type=float, default=400.0, help="lag: SCIM requests/s")
    p.add_argument("--lag-seconds", type=float, default=20.0)
    p.add_argument("--pull-users", type=int, default=100_000)
    p.add_argument("--pull-groups", type=int, default=1_000)
    p.add_argument("--pull-timeout", type=float, default=1800.0)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    args.probe, args.probe_seconds = 0, 0.0
    chosen = [x.strip() for x in args.parts.split(",") if x.strip()]
    unknown = set(chosen) - set(PARTS)
    if unknown:
        p.error(f"unknown parts: {', '.join(sorted(unknown))}")
    info = st.machine_info()
    lines = [
        args.section,
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `bench/events.py "
        f"{' '.join(argv if argv is not None else sys.argv[1:])}` at `{info['rev']}`. "
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['python']}.",
        "",
    ]
    with tempfile.TemporaryDirectory(prefix="scimhub-bench-events-") as name:
        for part in chosen:
            print(f"== {part}", flush=True)
            (Path(name) / part).mkdir()
            lines += PARTS[part](args, Path(name) / part)
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        st.write_results(text, args.section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
