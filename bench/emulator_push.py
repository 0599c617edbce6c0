"""Benchmark the emulator: seeding time for a large tenant, and how fast the
provisioning service pushes users into a trivial SCIM target (another process).

    .venv/bin/python bench/emulator_push.py [--users 20000] [--groups 200]
        [--seed-users 100000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import uvloop
from sqlalchemy import select

from scimhub.emulator import audit, seed
from scimhub.emulator.apps import instantiate_template
from scimhub.emulator.constants import PROVISIONING_TEMPLATE_ID, SYNC_TEMPLATE_ID
from scimhub.emulator.context import build, open_data_dir
from scimhub.emulator.directory import create_tenant, find_tenant
from scimhub.emulator.provisioning import jobs
from scimhub.emulator.provisioning.scheduler import Scheduler
from scimhub.emulator.schema import sync_jobs

# A trivial SCIM target: a raw ASGI app (no framework) answering what the service sends.
TARGET = r"""
import itertools, orjson
ids = itertools.count()
served = itertools.count()
EMPTY = orjson.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                      "totalResults": 0, "Resources": []})
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    next(served)
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    method = scope["method"]
    if scope["path"] == "/count":
        status, out = 200, orjson.dumps({"requests": next(served)})
    elif method == "GET":
        status, out = 200, EMPTY
    elif method == "POST":
        status, out = 201, orjson.dumps({"id": str(next(ids))})
    else:
        status, out = 204, b""
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/scim+json")]})
    await send({"type": "http.response.body", "body": out})
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def served(target_url: str) -> int:
    """Requests the target answered (it counts them; this call is not counted)."""
    with urllib.request.urlopen(target_url.rsplit("/scim/", 1)[0] + "/count") as resp:
        return int(json.loads(resp.read())["requests"]) - 1


def bench_seed(count: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        engine = open_data_dir(Path(d))
        t0 = time.perf_counter()
        with engine.begin() as conn:
            tid = create_tenant(conn, "Bench", "bench.onmicrosoft.com")
            seed.generate(conn, tid, users_count=count, groups_count=count // 100)
        return time.perf_counter() - t0


async def bench_push(users: int, groups: int, concurrency: int, target_url: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        emu = build(Path(d), "https://127.0.0.1:1", push_concurrency=concurrency)
        with emu.engine.begin() as conn:
            tid = create_tenant(conn, "Push", "push.onmicrosoft.com")
            seed.generate(conn, tid, users_count=users, groups_count=groups)
            tenant = find_tenant(conn, tid)
            _, sp = instantiate_template(
                conn, tid, PROVISIONING_TEMPLATE_ID, "scimhub Identity", None
            )
            job = jobs.create_job(conn, sp, SYNC_TEMPLATE_ID)
            jobs.put_secrets(
                conn,
                sp,
                [
                    {"key": "BaseAddress", "value": target_url},
                    {"key": "SecretToken", "value": "t"},
                    {"key": "SyncAll", "value": "true"},
                ],
                audit.admin_initiator(tenant),
            )
            jobs.start(conn, job, audit.admin_initiator(tenant))
        scheduler = Scheduler(emu)
        t0 = time.perf_counter()
        await scheduler.run(job.id)
        elapsed = time.perf_counter() - t0
        with emu.engine.connect() as conn:
            status = conn.execute(
                select(sync_jobs.c.status).where(sync_jobs.c.id == job.id)
            ).scalar_one()
        last = status["lastExecution"]
        requests = served(target_url)
        print(
            f"initial cycle: {users} users, {groups} groups in {elapsed:.1f}s "
            f"-> {users / elapsed:,.0f} users/s, ~{requests / elapsed:,.0f} SCIM requests/s "
            f"(exported {last['countExported']}, escrowed {last['countEscrowed']}, "
            f"concurrency {concurrency})"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--seed-users", type=int, default=100000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    if args.seed_users:
        seconds = bench_seed(args.seed_users)
        print(f"seeding {args.seed_users} users + {args.seed_users // 100} groups: {seconds:.1f}s")
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(TARGET)
    target = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(f.name).parent),
            f"{Path(f.name).stem}:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--http",
            "httptools",
            "--loop",
            "uvloop",
        ]
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        # uvloop, as under uvicorn where the provisioning service normally runs
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(
                bench_push(
                    args.users, args.groups, args.concurrency, f"http://127.0.0.1:{port}/scim/v2"
                )
            )
    finally:
        target.terminate()
        target.wait()
        os.unlink(f.name)


if __name__ == "__main__":
    main()
