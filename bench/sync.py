"""Sync at scale: an Entra tenant (the emulator) with N users and M groups, then
1. an initial pull sync into an empty org,
2. an incremental pull of 100 changed users,
3. an Entra push (the emulator's provisioning service) of the same directory into a
   second org, timed until every user and group arrived.

    .venv/bin/python bench/sync.py --users 100000 --groups 1000

Ends with one line: pull_initial_s=.. pull_incremental_s=.. push_initial_s=.. peak_rss_mb=..
(peak RSS of the hub's server process, VmHWM). Loopback only; stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from scimhub.api.integration import CONSENT_CALLBACK
from scimhub.demo.entra_admin import answer_consent
from scimhub.demo.processes import free_port, start_emulator
from scimhub.emulator.db import open_engine
from scimhub.emulator.directory import update_user
from scimhub.emulator.schema import users as entra_users


def cli(*args: str, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "scimhub", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


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
    }
    hub = subprocess.Popen(
        [sys.executable, "-m", "scimhub", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
    )
    try:
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
        for _ in range(100):
            try:
                httpx.get(f"{hub_url}/healthz", trust_env=False)
                break
            except httpx.TransportError:
                time.sleep(0.1)

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
                    select(entra_users.c.id).where(entra_users.c.tenant_id == tenant_id).limit(100)
                )
            ]
            for i, uid in enumerate(ids):
                update_user(conn, tenant_id, uid, {"jobTitle": f"Changed {i}"})
        t = time.monotonic()
        second = api.post(f"/instances/{instance}/syncNow").raise_for_status().json()["pull"]
        pull_incremental = time.monotonic() - t
        print(
            f"incremental pull of {len(ids)} changes: {pull_incremental:.2f}s {second}", flush=True
        )

        expected_users = count(hub_url, pull_org, scim[pull_org], "Users")
        expected_groups = count(hub_url, pull_org, scim[pull_org], "Groups")
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
        rss = peak_rss_mb(hub.pid)
        objects = expected_users + expected_groups
        print(f"push initial: {push_initial:.1f}s for {users} users, {groups} groups")
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}"
        )
        print(
            f"pull objects/s: {objects / pull_initial:,.0f}; push objects/s: "
            f"{objects / push_initial:,.0f}; Entra's published figure for 10k-100k objects "
            "is 1,170-2,340 minutes"
        )
        print(
            f"pull_initial_s={pull_initial:.1f} pull_incremental_s={pull_incremental:.2f} "
            f"push_initial_s={push_initial:.1f} peak_rss_mb={rss:.0f}"
        )
    finally:
        hub.terminate()
        hub.wait(10)
        emu.stop()


if __name__ == "__main__":
    main()
