#!/usr/bin/env python
"""Exporting and deleting an organisation of 100,000 users (the operator API's heavy two).

Run (from the repository root):

    .venv/bin/python bench/org_lifecycle.py [--users 100000] [--database-url postgresql://...]

Seeds a fresh database (temporary SQLite by default) as bench/console_pages.py does (users,
a group of 5,000, a provisioning-log row per user, 1,000 audit events), then:

- exports it (`OrgExport.pieces`, what `GET /api/v1/orgs/{id}/export` streams): the time,
  the bytes, and the peak memory Python allocated meanwhile (tracemalloc), which must stay
  at a page's worth, not the document's;
- deletes it (`OrgRemoval.remove`) while another thread writes one audit row at a time for
  another organisation: the removal's time, and the other organisation's write latency
  (median and max), which shows whether the chunks keep the single SQLite writer free.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

from console_pages import seed

from scimhub.api.services import Hub
from scimhub.config import Settings
from scimhub.directory.actor import Actor
from scimhub.directory.locator import Locator


def export(hub: Hub, org_id: str) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    size = 0
    for piece in hub.export.pieces(org_id, Locator("https://hub.example.com", org_id)):
        size += len(piece)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"export: {size / 1e6:.1f} MB in {seconds:.1f} s, "
        f"peak Python memory {peak / 1e6:.1f} MB ({size / peak:.0f}x less than the document)"
    )


def remove(hub: Hub, org_id: str, other_id: str) -> None:
    latencies: list[float] = []
    done = threading.Event()

    def other_org_writes() -> None:
        while not done.is_set():
            started = time.perf_counter()
            hub.audit.record(other_id, "bench", "bench.write")
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.005)

    writer = threading.Thread(target=other_org_writes)
    writer.start()
    started = time.perf_counter()
    removed = hub.removal.remove(org_id, actor=Actor("bench"))
    seconds = time.perf_counter() - started
    done.set()
    writer.join()
    rows = sum(removed.values())
    tables = ", ".join(f"{t} {n:,}" for t, n in removed.items())
    print(f"delete: {rows:,} rows in {seconds:.1f} s ({tables})")
    print(
        f"another org's writes meanwhile: {len(latencies)}, median "
        f"{statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub.open(Settings(data_dir=Path(tmp), database_url=args.database_url))
        try:
            org, other = hub.orgs.create("Bench"), hub.orgs.create("Neighbour")
            started = time.perf_counter()
            seed(hub, org.id, args.users)
            print(
                f"seeded {args.users:,} users in {time.perf_counter() - started:.1f} s "
                f"({hub.db.engine.dialect.name})"
            )
            export(hub, org.id)
            remove(hub, org.id, other.id)
        finally:
            hub.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
