"""Sync at scale: an Entra tenant (the emulator) with N users and M groups, then
1. an initial pull sync into an empty org,
2. an incremental pull of 100 changed users,
3. an Entra push (the emulator's provisioning service) of the same directory into a
   second org, timed until every user and group arrived.

    .venv/bin/python bench/sync.py --users 100000 --groups 1000 [--skip-pull]

`--skip-pull` runs only the push (the expected counts then come from the emulator's
directory), to iterate on it. Ends with one line: pull_initial_s=.. pull_incremental_s=..
push_initial_s=.. peak_rss_mb=.. (peak RSS of the hub's server process, VmHWM) push_hub_cpu_s=..
push_emulator_cpu_s=.. push_requests=.. (CPU seconds of each process during the push, and
the SCIM requests the hub logged for it: the machine is shared, CPU time is what compares).
Loopback only; stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select

from scimhub.api.integration import CONSENT_CALLBACK
from scimhub.demo.entra_admin import answer_consent
from scimhub.demo.processes import free_port, start_emulator
from scimhub.emulator.db import open_engine
from scimhub.emulator.directory import update_user
from scimhub.emulator.schema import groups as entra_groups
from scimhub.emulator.schema import users as entra_users
from scimhub.store.tables import scim_requests

# `--profile-hub`: the hub under cProfile, on during the push only (SIGUSR1 / SIGUSR2),
# timing the main thread's CPU time, so time the hub spends preempted is not counted.
PROFILED_HUB = """
import cProfile, signal, sys, time
prof = cProfile.Profile(time.thread_time)
out = sys.argv.pop(1)
signal.signal(signal.SIGUSR1, lambda *_: prof.enable())
signal.signal(signal.SIGUSR2, lambda *_: (prof.disable(), prof.dump_stats(out)))
from scimhub.cli import app
sys.argv = ["scimhub", *sys.argv[1:]]
app()
"""


# `--trace-memory`: the hub under tracemalloc; each time its traced memory reaches a new
# high (by 4 MB), the biggest allocation sites then are written to PATH (the last one
# written is the peak's).
TRACED_HUB = """
import sys, threading, time, tracemalloc
out = sys.argv.pop(1)
tracemalloc.start(12)
def watch():
    high = 0
    while True:
        time.sleep(0.2)
        current, _ = tracemalloc.get_traced_memory()
        if current < high + 4 * 2**20:
            continue
        high = current
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        with open(out, "w") as f:
            f.write(f"traced {current / 2**20:.1f} MB at {time.strftime('%T')}\\n")
            for stat in snap.statistics("traceback")[:25]:
                f.write(f"{stat.size / 2**20:8.1f} MB {stat.count:8d} blocks\\n")
                for line in stat.traceback.format()[-16:]:
                    f.write(f"    {line}\\n")
threading.Thread(target=watch, daemon=True).start()
from scimhub.cli import app
sys.argv = ["scimhub", *sys.argv[1:]]
app()
"""


def cli(*args: str, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "scimhub", *args],
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(f"scimhub {' '.join(args)} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def live_objects(emu) -> tuple[int, int]:
    """Users and groups of the emulator's tenant that are not deleted (scope all)."""
    engine = open_engine(emu.data_dir)
    tenant_id = emu.tenant["id"]
    with engine.connect() as conn:

        def live(table) -> int:
            return int(
                conn.execute(
                    select(func.count()).where(
                        table.c.tenant_id == tenant_id,
                        table.c.deleted_at.is_(None),
                        table.c.purged.is_(False),
                    )
                ).scalar_one()
            )

        return live(entra_users), live(entra_groups)


def logged_requests(hub_dir: Path, org: str) -> int:
    engine = create_engine(f"sqlite:///{hub_dir / 'scimhub.db'}")
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).where(scim_requests.c.org_id == org)).scalar_one()
            )
    finally:
        engine.dispose()


def connect(hub_url: str, org: str, token: str, emu, mode: str) -> httpx.Client:
    api = httpx.Client(
        base_url=f"{hub_url}/extIntegration/azureAD/{org}/v1",
        trust_env=False,
        headers={"Authorization": f"Bearer {token}"},
        timeout=3600,
    )
    # The integration app accepts consent callbacks only at registered redirect URIs, as
    # Entra does: this hub's port is new each run.
    emu.register_redirect_uri(f"{hub_url}{CONSENT_CALLBACK}")
    url = (
        api.post("/setup", json={"tenant": "common", "scope": "all", "mode": mode})
        .raise_for_status()
        .json()["consentUrl"]
    )
    landed = httpx.get(
        answer_consent(emu, url),
        headers={"Accept": "application/json"},
        trust_env=False,
        timeout=3600,
    )
    landed.raise_for_status()
    return api


def count(hub_url: str, org: str, scim_token: str, resource: str) -> int:
    r = httpx.get(
        f"{hub_url}/identity/scim/{org}/v2/{resource}",
        params={"count": "0"},
        headers={"Authorization": f"Bearer {scim_token}"},
        trust_env=False,
        timeout=60,
    )
    return int(r.json()["totalResults"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--push-timeout", type=float, default=1800)
    parser.add_argument("--skip-pull", action="store_true", help="run only the push")
    parser.add_argument("--skip-push", action="store_true", help="run only the pulls")
    parser.add_argument("--profile-hub", metavar="PATH", help="cProfile the hub's push into PATH")
    parser.add_argument(
        "--trace-memory", metavar="PATH", help="the hub's biggest allocations at its peak"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="scimhub-bench-sync-"))
    t0 = time.monotonic()
    emu = start_emulator(
        root / "emu", users=args.users, groups=args.groups, cycle_seconds=5, log=root / "emu.log"
    )
    print(
        f"emulator seeded with {args.users} users / {args.groups} groups in "
        f"{time.monotonic() - t0:.1f}s",
        flush=True,
    )
    port = free_port()
    hub_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        **emu.hub_env(),
        "SCIMHUB_DATA_DIR": str(root / "hub"),
        "SCIMHUB_PUBLIC_URL": hub_url,
        # Both organisations are fed by the one tenant.
        "SCIMHUB_ENTRA_SHARED_TENANTS": emu.tenant["id"],
    }
    serve = ["serve", "--port", str(port), "--log-level", "warning"]
    launch = ["-m", "scimhub"]
    if args.profile_hub:
        launch = ["-c", PROFILED_HUB, args.profile_hub]
    elif args.trace_memory:
        launch = ["-c", TRACED_HUB, args.trace_memory]
    hub = subprocess.Popen([sys.executable, *launch, *serve], env=env)
    try:
        # The server migrates the database as it starts: the CLI waits for it.
        deadline = time.monotonic() + 600
        while True:
            try:
                httpx.get(f"{hub_url}/healthz", trust_env=False).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or hub.poll() is not None:
                    raise SystemExit("the hub did not start") from None
                time.sleep(0.2)
        pull_org = cli("org", "create", "--name", "pull", "--json", env=env)["id"]
        push_org = cli("org", "create", "--name", "push", "--json", env=env)["id"]
        admin = {
            o: cli("token", "create", "--org", o, "--admin", "--json", env=env)["token"]
            for o in (pull_org, push_org)
        }
        scim = {
            o: cli("token", "create", "--org", o, "--json", env=env)["token"]
            for o in (pull_org, push_org)
        }

        pull_initial = pull_incremental = 0.0
        if args.skip_pull:
            expected_users, expected_groups = live_objects(emu)
        else:
            api = connect(hub_url, pull_org, admin[pull_org], emu, "pull")
            instance = api.get("/status").json()["instances"][0]["id"]
            t = time.monotonic()
            first = api.post(f"/instances/{instance}/syncNow").raise_for_status().json()["pull"]
            pull_initial = time.monotonic() - t
            print(f"initial pull: {pull_initial:.1f}s {first}", flush=True)

            engine = open_engine(emu.data_dir)
            tenant_id = emu.tenant["id"]
            with engine.begin() as conn:
                ids = [
                    r.id
                    for r in conn.execute(
                        select(entra_users.c.id)
                        .where(entra_users.c.tenant_id == tenant_id)
                        .limit(100)
                    )
                ]
                for i, uid in enumerate(ids):
                    update_user(conn, tenant_id, uid, {"jobTitle": f"Changed {i}"})
            t = time.monotonic()
            second = api.post(f"/instances/{instance}/syncNow").raise_for_status().json()["pull"]
            pull_incremental = time.monotonic() - t
            print(
                f"incremental pull of {len(ids)} changes: {pull_incremental:.2f}s {second}",
                flush=True,
            )

            if args.skip_push:
                print(
                    f"pull_initial_s={pull_initial:.1f} "
                    f"pull_incremental_s={pull_incremental:.2f} "
                    f"peak_rss_mb={peak_rss_mb(hub.pid):.0f}"
                )
                return
            expected_users = count(hub_url, pull_org, scim[pull_org], "Users")
            expected_groups = count(hub_url, pull_org, scim[pull_org], "Groups")
        print(f"push starts, load average {load_average()}", flush=True)
        if args.profile_hub:
            hub.send_signal(signal.SIGUSR1)
        cpu0 = cpu_seconds(hub.pid), cpu_seconds(emu.proc.pid)
        t = time.monotonic()
        connect(hub_url, push_org, admin[push_org], emu, "push")
        while True:
            users = count(hub_url, push_org, scim[push_org], "Users")
            groups = count(hub_url, push_org, scim[push_org], "Groups")
            if users >= expected_users and groups >= expected_groups:
                break
            if time.monotonic() - t > args.push_timeout:
                raise SystemExit(f"push did not finish: {users} users, {groups} groups")
            time.sleep(2)
        push_initial = time.monotonic() - t
        hub_cpu = cpu_seconds(hub.pid) - cpu0[0]
        emu_cpu = cpu_seconds(emu.proc.pid) - cpu0[1]
        if args.profile_hub:
            hub.send_signal(signal.SIGUSR2)
        rss = peak_rss_mb(hub.pid)
        objects = expected_users + expected_groups
        print(f"push initial: {push_initial:.1f}s for {users} users, {groups} groups")
        time.sleep(3)  # the hub writes its request log in batches, every second or so
        requests = logged_requests(root / "hub", push_org)
        print(
            f"push: {requests} requests, {requests / push_initial:,.0f} req/s; CPU s hub "
            f"{hub_cpu:.1f} ({hub_cpu / push_initial:.0%} of a core, "
            f"{hub_cpu / requests * 1e3:.2f} ms/request), emulator {emu_cpu:.1f} "
            f"({emu_cpu / push_initial:.0%}, {emu_cpu / requests * 1e3:.2f} ms/request); "
            f"load average at the end {load_average()}"
        )
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}"
        )
        pulled = f"pull objects/s: {objects / pull_initial:,.0f}; " if pull_initial else ""
        print(
            f"{pulled}push objects/s: {objects / push_initial:,.0f}; Entra's published figure "
            "for 10k-100k objects is 1,170-2,340 minutes"
        )
        print(
            f"pull_initial_s={pull_initial:.1f} pull_incremental_s={pull_incremental:.2f} "
            f"push_initial_s={push_initial:.1f} peak_rss_mb={rss:.0f} "
            f"push_hub_cpu_s={hub_cpu:.1f} push_emulator_cpu_s={emu_cpu:.1f} "
            f"push_requests={requests}"
        )
    finally:
        hub.terminate()
        hub.wait(10)
        emu.stop()


if __name__ == "__main__":
    main()
