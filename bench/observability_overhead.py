#!/usr/bin/env python
"""What the access log and the metrics cost on the SCIM hot path, in-process (no HTTP).

    .venv/bin/python bench/observability_overhead.py [--users 2000] [--rounds 3]
    .venv/bin/python bench/observability_overhead.py --multiprocess   # prometheus files

Builds a hub as bench/micro_hot_path.py does, then times GET /Users/{id} through the whole
ASGI app (microseconds per call on one core, CPU time, best of --rounds interleaved rounds)
in three configurations:

- quiet: no access line (the `scimhub` loggers above INFO), metrics off — what the hub
  costs with neither; the middleware still takes its timestamps;
- log: the access line, JSON, written to a file as `scimhub serve` writes it to stderr;
- log+metrics: the same with SCIMHUB_METRICS_TOKEN set (counter, histogram, SCIM
  operation counter); with --multiprocess, PROMETHEUS_MULTIPROC_DIR is set first, so
  every value goes to prometheus-client's memory-mapped files, as with several processes.

The cost before this middleware existed is micro_hot_path.py's "scimhub app" line run on
the earlier code (bench/regression.py exports a revision for PYTHONPATH).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def cpu_us(fn: Callable[[], Any], calls: int) -> float:
    t0 = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - t0) / calls * 1e6


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--calls", type=int, default=4000, help="calls per round (default 4000)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--multiprocess", action="store_true")
    p.add_argument("--cpu", type=int, default=0, help="pin to this CPU (default 0)")
    args = p.parse_args()
    if args.cpu in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {args.cpu})
    tmp = Path(tempfile.mkdtemp(prefix="scimhub-obs-"))
    if args.multiprocess:  # before anything imports prometheus-client
        (tmp / "metrics").mkdir()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(tmp / "metrics")
    from micro_hot_path import AsgiDriver, build

    from scimhub.app import create_app
    from scimhub.logs import JsonFormatter

    try:
        print(f"building {args.users} users ...", flush=True)
        hub, org_id, secret, ids, _ = build(tmp / "hub", args.users)
        auth = [(b"authorization", f"Bearer {secret}".encode())]
        base = replace(hub.settings, allowed_hosts=("127.0.0.1",))
        drivers = {
            "quiet": AsgiDriver(create_app(base, hub=hub)),
            "log": AsgiDriver(create_app(base, hub=hub)),
            "log+metrics": AsgiDriver(create_app(replace(base, metrics_token="x" * 32), hub=hub)),
        }
        handler = logging.FileHandler(tmp / "access.log")
        handler.setFormatter(JsonFormatter())
        logger = logging.getLogger("scimhub")
        logger.addHandler(handler)
        k = 0

        def call(driver: AsgiDriver) -> Callable[[], Any]:
            def get() -> Any:
                nonlocal k
                k = (k * 7919 + 1) % len(ids)
                status, _ = driver.get(f"/identity/scim/{org_id}/v2/Users/{ids[k]}", headers=auth)
                assert status == 200

            return get

        best = dict.fromkeys(drivers, float("inf"))
        for name, driver in drivers.items():  # warm-up
            logger.setLevel(logging.WARNING if name == "quiet" else logging.INFO)
            cpu_us(call(driver), 500)
        for _ in range(args.rounds):
            for name, driver in drivers.items():
                logger.setLevel(logging.WARNING if name == "quiet" else logging.INFO)
                best[name] = min(best[name], cpu_us(call(driver), args.calls))
        mode = "multiprocess files" if args.multiprocess else "in memory"
        print(f"GET /Users/{{id}}, whole ASGI app, CPU us per call (metrics {mode}):")
        for name, us in best.items():
            print(f"  {us:8.1f} us  {best[name] / best['quiet']:5.3f}x  {name}")
        hub.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
