#!/usr/bin/env python
"""Instructions per request on the SCIM hot path, counted by valgrind: a measure a busy
machine cannot distort (issue 16).

    .venv/bin/python bench/hot_path_instructions.py --baseline REV [--ops get,search]
                                                    [--users 200] [--requests 300]

Timing needs a quiet machine; when other work shares the cores, CPU seconds per request vary
by 2x from run to run. Instructions executed do not. For the working tree and for REV
(exported as bench/regression.py does; only scimhub's own code differs), for each operation,
it runs this script's child under `valgrind --tool=callgrind` twice, with --requests and
3 x --requests requests after the same set-up, and reports the difference divided by
2 x --requests: the instructions one request executes, start-up and set-up excluded.

The child builds a hub as bench/micro_hot_path.py does (--users users, each in two groups),
configures logging as `scimhub serve` does (JSON lines, the access log on; written to a
file), and calls the whole ASGI app in-process: GET /Users/{id}, or the matching query
GET /Users?filter=userName eq "...". No HTTP server: uvicorn's share is the same for any
app. Needs valgrind (`apt-get install -y valgrind`); each child takes a minute or more.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parent.parent
OPS = ("get", "search")


def child(op: str, users: int, requests: int) -> None:
    from micro_hot_path import AsgiDriver, build

    from scimhub import logs
    from scimhub.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="scimhub-instr-"))
    try:
        hub, org_id, secret, ids, names = build(tmp / "hub", users)
        app = create_app(replace(hub.settings, allowed_hosts=("127.0.0.1",)), hub=hub)
        driver = AsgiDriver(app)
        logs.configure("json")
        handler = logging.FileHandler(tmp / "hub.log")
        handler.setFormatter(logs.JsonFormatter())
        logging.getLogger().handlers = [handler]
        auth = [(b"authorization", f"Bearer {secret}".encode())]
        base = f"/identity/scim/{org_id}/v2/Users"
        k = 0
        for _ in range(100 + requests):  # 100 to warm up
            k = (k * 7919 + 1) % len(ids)
            if op == "get":
                status, _ = driver.get(f"{base}/{ids[k]}", headers=auth)
            else:
                query = "filter=" + quote(f'userName eq "{names[k]}"')
                status, _ = driver.get(base, query=query.encode(), headers=auth)
            assert status == 200, status
        hub.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def instructions(src: Path, op: str, users: int, requests: int) -> int:
    """Instructions of one whole child run of `op` against the scimhub source tree `src`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--child",
                op,
                "--users",
                str(users),
                "--requests",
                str(requests),
            ],
            # A fixed hash seed: dict and set layouts, and so instruction counts, repeat.
            env={**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": "0"},
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        found = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        assert found, "no totals in callgrind's output"
        return int(found[1])


def per_request(src: Path, op: str, users: int, requests: int) -> float:
    few = instructions(src, op, users, requests)
    many = instructions(src, op, users, 3 * requests)
    return (many - few) / (2 * requests)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", help="a git revision to compare with")
    p.add_argument("--ops", default="get,search")
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--child", choices=OPS, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.users, args.requests)
        return 0
    if shutil.which("valgrind") is None:
        print("needs valgrind: apt-get install -y valgrind", file=sys.stderr)
        return 2
    ops = [op for op in args.ops.split(",") if op]
    trees: list[tuple[str, Path]] = [("working tree", ROOT / "src")]
    with tempfile.TemporaryDirectory() as tmp:
        if args.baseline:
            from regression import export

            trees.insert(0, (args.baseline, export(args.baseline, Path(tmp))))
        print(f"{'operation':<8} " + " ".join(f"{name:>16}" for name, _ in trees), flush=True)
        for op in ops:
            counts = [per_request(src, op, args.users, args.requests) for _, src in trees]
            ratio = f"  {counts[-1] / counts[0]:.3f}x" if len(counts) > 1 else ""
            print(f"{op:<8} " + " ".join(f"{c:>16,.0f}" for c in counts) + ratio, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
