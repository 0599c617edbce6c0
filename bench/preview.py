"""Preview of a scope or mapping change at scale (issue 14): an Entra tenant (the emulator)
with N users and M groups, one `scimhub serve`, one organization, then

1. a pull instance and its initial pull (`syncNow`): the anchor, what applying a change
   costs (a mapping change makes the next round read every user from scratch);
2. a preview of a mapping change on it (jobTitle no longer feeds title);
3. the pull instance disconnected (its users and groups stay) and a push instance of the
   same tenant connected in the same organization (a tenant feeds one instance of an
   organization), then previews of scope changes on it with one group assigned to the
   provisioning app: `{"scope": "all"}` from the saved scope "assigned", and
   `{"scope": "assigned"}` from a saved scope "all" (the issue's case).

    .venv/bin/python bench/preview.py --users 100000 --groups 1000

The push instance is set up with scope "assigned" and nothing assigned, so Entra's initial
cycle has nobody to provision (the hub already holds every user, from the pull); the job is
paused (autoSync off) once that cycle ended, and only then is one group assigned. The saved
scope "all" of the last preview is written into the hub's store with the hub's own
`Instances.update`: through the API (`PUT .../scope`) the change restarts the job, and the
emulator's restart resumes a paused schedule, so its new initial cycle would match 100,000
users against the hub during the measurement. A push preview reads the saved scope only to
say whether the scope changed; what it reads and compares is the same.

Each preview is checked against the tenant (counted in the emulator's database) and the
hub: examined users and groups, updates, deactivations, deletions, and that nothing was
written. Scheduled pulls and status checks are off, so no background round races a
measurement. Ends with one line: pull_initial_s=.. preview_pull_mapping_s=..
preview_push_scope_s=.. examined_users=.. ratio_push_preview_to_pull=..
Loopback only; stops by itself and removes its temporary directory (`--keep` keeps it).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from scimhub.api.integration import CONSENT_CALLBACK
from scimhub.api.services import Hub
from scimhub.config import Settings
from scimhub.demo.entra_admin import answer_consent
from scimhub.demo.processes import free_port, start_emulator
from scimhub.emulator.db import open_engine
from scimhub.emulator.schema import groups as entra_groups
from scimhub.emulator.schema import memberships as entra_memberships
from scimhub.emulator.schema import users as entra_users
from scimhub.integrations.entra.mappings import DEFAULT_MAPPINGS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync import cli, count, peak_rss_mb  # bench/sync.py

QUIET_SCHEDULE = {"SCIMHUB_PULL_INTERVAL_SECONDS": "0", "SCIMHUB_STATUS_INTERVAL_SECONDS": "0"}
TARGET_S = 60.0  # issue 14: a scope change previewed at 100k users in at most 60 s


def connect(hub_url: str, org: str, token: str, emu: Any, mode: str, *, scope: str) -> httpx.Client:
    """sync.py's connect (setup, admin consent, the callback) with a chosen scope."""
    api = httpx.Client(
        base_url=f"{hub_url}/extIntegration/azureAD/{org}/v1",
        trust_env=False,
        headers={"Authorization": f"Bearer {token}"},
        timeout=3600,
    )
    emu.register_redirect_uri(f"{hub_url}{CONSENT_CALLBACK}")
    url = (
        api.post("/setup", json={"tenant": "common", "scope": scope, "mode": mode})
        .raise_for_status()
        .json()["consentUrl"]
    )
    httpx.get(
        answer_consent(emu, url),
        headers={"Accept": "application/json"},
        trust_env=False,
        timeout=3600,
    ).raise_for_status()
    return api


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent,
    ).stdout.strip()


def check(ok: bool, what: str, failures: list[str]) -> None:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failures.append(what)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Cpu:
    """CPU seconds of the hub's and the emulator's processes over a phase."""

    def __init__(self, hub_pid: int, emu_pid: int) -> None:
        self.pids = {"hub": hub_pid, "emulator": emu_pid}
        self.start = {k: cpu_seconds(p) for k, p in self.pids.items()}

    def used(self) -> dict[str, float]:
        return {k: round(cpu_seconds(p) - self.start[k], 1) for k, p in self.pids.items()}


def preview(
    api: httpx.Client, iid: str, change: dict[str, Any], cpu: Cpu
) -> tuple[dict[str, Any], float, dict[str, float]]:
    t = time.monotonic()
    r = api.post(f"/instances/{iid}/preview", json=change)
    wall = time.monotonic() - t
    used = cpu.used()
    if r.status_code != 200:
        raise SystemExit(f"preview {change} failed: {r.status_code} {r.text[:500]}")
    return dict(r.json()), wall, used


# Where a preview's time goes, by the functions that make up its work (cumulative seconds).
PROFILED = {
    "Graph pages (HTTP to the emulator, JSON decode)": ("graph.py", "pages"),
    "Graph documents through the mappings (user_document)": ("pull.py", "user_document"),
    "digests (document_digest)": ("pull.py", "document_digest"),
    "hub users by id (Current.users_by_id)": ("current.py", "users_by_id"),
    "hub users by userName (Current.users_by_name)": ("current.py", "users_by_name"),
    "hub groups + members (Current.groups_by_name)": ("current.py", "groups_by_name"),
    "links (Links.get_many)": ("links.py", "get_many"),
    "linked present (Current.linked_present)": ("current.py", "linked_present"),
    "mapped values compared (_Compared.changed)": ("preview.py", "changed"),
    "group members from Graph (Previewer._members)": ("preview.py", "_members"),
}


def profile(services: Hub, org: str, iid: str, change: dict[str, Any], out: Path) -> None:
    """The same preview in this process under cProfile (the hub's code, its database and
    the emulator; no HTTP in front): cumulative seconds of its parts, then the top
    functions by own time."""
    prof = cProfile.Profile()
    t = time.monotonic()
    prof.runcall(services.preview.preview, org, iid, change)
    wall = time.monotonic() - t
    prof.dump_stats(out)
    stats = pstats.Stats(prof)
    print(f"  profiled in-process: {wall:.1f}s under cProfile ({out.name})")
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for label, (file, name) in PROFILED.items():
        cum = sum(v[3] for (f, _, n), v in raw.items() if f.endswith(file) and n == name)
        if cum:
            print(f"    {cum:7.1f}s  {label}")
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(15)
    print("    top functions by own time:")
    lines = buf.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    for line in lines[start : start + 16]:
        print(f"    {line}")


def summary(name: str, seen: dict[str, Any], wall: float, used: dict[str, float]) -> None:
    u, g = seen["users"], seen["groups"]
    kinds = ("create", "update", "unchanged", "deactivate", "delete", "error")
    print(
        f"{name}: {wall:.1f}s wall, seconds={seen['seconds']}; examined {seen['examined']}; "
        f"users { ({k: u[k] for k in kinds if u[k]}) } attributes {u['attributes']}; "
        f"groups { ({k: g[k] for k in kinds if g[k]}) }; removals {seen['removals']} "
        f"threshold {seen['threshold']}; cpu seconds {used}",
        flush=True,
    )


def wait(predicate: Any, what: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run each preview in this process under cProfile (after the timed one)",
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="scimhub-bench-preview-"))
    failures: list[str] = []
    emu = hub = None
    try:
        t0 = time.monotonic()
        emu = start_emulator(
            root / "emu",
            users=args.users,
            groups=args.groups,
            cycle_seconds=5,
            log=root / "emu.log",
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
            **QUIET_SCHEDULE,
            "SCIMHUB_DATA_DIR": str(root / "hub"),
            "SCIMHUB_PUBLIC_URL": hub_url,
        }
        hub = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scimhub",
                "serve",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        for _ in range(300):  # the hub has made its database before the CLI writes to it
            try:
                httpx.get(f"{hub_url}/healthz", trust_env=False)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        org = cli("org", "create", "--name", "preview", "--json", env=env)["id"]
        admin = cli("token", "create", "--org", org, "--admin", "--json", env=env)["token"]
        scim = cli("token", "create", "--org", org, "--json", env=env)["token"]
        # The hub's own services in this process: the store write of 3b, and --profile.
        services = Hub.open(Settings.from_env(env))
        profiles = root / "profiles"
        profiles.mkdir()

        # What the tenant holds, as Graph lists it (deleted objects are not listed).
        tenant_id = emu.tenant["id"]
        engine = open_engine(emu.data_dir)
        live = (
            entra_users.c.tenant_id == tenant_id,
            entra_users.c.deleted_at.is_(None),
            entra_users.c.purged.is_(False),
        )
        with engine.connect() as conn:
            tenant_users = conn.scalar(select(func.count()).where(*live))
            titled = conn.scalar(
                select(func.count()).where(*live, entra_users.c.job_title.is_not(None))
            )
            tenant_groups = conn.scalar(
                select(func.count()).where(
                    entra_groups.c.tenant_id == tenant_id,
                    entra_groups.c.deleted_at.is_(None),
                    entra_groups.c.purged.is_(False),
                )
            )

        # 1. pull: the anchor
        api = connect(hub_url, org, admin, emu, "pull", scope="all")
        pull_id = api.get("/status").json()["instances"][0]["id"]
        t = time.monotonic()
        first = api.post(f"/instances/{pull_id}/syncNow").raise_for_status().json()["pull"]
        pull_initial = time.monotonic() - t
        print(f"initial pull: {pull_initial:.1f}s {first}", flush=True)
        hub_users, hub_groups = (
            count(hub_url, org, scim, "Users"),
            count(hub_url, org, scim, "Groups"),
        )

        # 2. a mapping change previewed on the pull instance
        chosen = [m for m in DEFAULT_MAPPINGS if m["source"] != "jobTitle"]
        seen, pull_wall, used = preview(
            api, pull_id, {"mappings": chosen}, Cpu(hub.pid, emu.proc.pid)
        )
        summary("preview, pull, mapping change (jobTitle -> title dropped)", seen, pull_wall, used)
        if args.profile:
            profile(services, org, pull_id, {"mappings": chosen}, profiles / "pull-mapping.prof")
        users = seen["users"]
        check(seen["examined"]["users"] == tenant_users, "examined users == tenant users", failures)
        check(
            seen["examined"]["groups"] == tenant_groups,
            "examined groups == tenant groups",
            failures,
        )
        check(users["update"] == titled, f"updated == users with a title ({titled})", failures)
        check(users["attributes"] == {"title": titled}, "only title changes", failures)
        check(
            users["create"] == users["deactivate"] == users["error"] == seen["removals"] == 0,
            "nothing created, deactivated or failed",
            failures,
        )
        check(
            api.get(f"/instances/{pull_id}/mappings").json()["mappings"] != chosen,
            "saved mappings unchanged",
            failures,
        )
        pull_preview = seen

        # 3. the same tenant as a push instance of the same organization
        api.delete(f"/instances/{pull_id}").raise_for_status()
        check(
            count(hub_url, org, scim, "Users") == hub_users, "users kept after disconnect", failures
        )
        api.close()
        api = connect(hub_url, org, admin, emu, "push", scope="assigned")
        push = api.get("/status").json()["instances"][0]
        push_id = push["id"]
        ended = wait(
            lambda: api.get("/status").json()["instances"][0].get("lastExecution"),
            "Entra's initial cycle (nothing assigned)",
            300,
        )
        print(f"initial push cycle, nothing assigned: {ended}", flush=True)
        paused = api.post(f"/instances/{push_id}/autoSync", json={"enabled": False})
        paused.raise_for_status()
        check(paused.json()["jobStatus"] == "Paused", "push job paused", failures)

        instance = services.instances.get(org, push_id)
        assert instance is not None and instance.provisioning_app_id
        with engine.connect() as conn:
            group = conn.execute(
                select(entra_groups.c.id, entra_groups.c.display_name)
                .where(entra_groups.c.tenant_id == tenant_id)
                .order_by(entra_groups.c.display_name)
                .limit(1)
            ).one()
            members = set(
                conn.execute(
                    select(entra_memberships.c.member_id).where(
                        entra_memberships.c.group_id == group.id,
                        entra_memberships.c.member_type == "user",
                    )
                ).scalars()
            )
            enabled = set(
                conn.execute(
                    select(entra_users.c.id).where(*live, entra_users.c.account_enabled.is_(True))
                ).scalars()
            )
        emu.cli(
            "assign",
            group.display_name,
            "--tenant",
            tenant_id,
            "--app-id",
            instance.provisioning_app_id,
        )
        print(f"assigned {group.display_name!r} ({len(members)} direct user members)", flush=True)

        # 3a. scope "all" previewed from the saved scope "assigned" (as set up)
        seen, all_wall, used = preview(api, push_id, {"scope": "all"}, Cpu(hub.pid, emu.proc.pid))
        summary("preview, push, scope assigned -> all", seen, all_wall, used)
        if args.profile:
            profile(services, org, push_id, {"scope": "all"}, profiles / "push-all.prof")
        users, groups = seen["users"], seen["groups"]
        check(seen["examined"]["users"] == tenant_users, "examined users == tenant users", failures)
        check(
            seen["examined"]["groups"] == tenant_groups,
            "examined groups == tenant groups",
            failures,
        )
        check(
            users["create"] == users["deactivate"] == groups["create"] == seen["removals"] == 0,
            "nothing to create or remove (the hub holds every user and group)",
            failures,
        )
        to_all = seen

        # 3b. scope "assigned" previewed from a saved scope "all" (the case)
        services.instances.update(instance, scope="all")
        seen, push_wall, used = preview(
            api, push_id, {"scope": "assigned"}, Cpu(hub.pid, emu.proc.pid)
        )
        summary("preview, push, scope all -> assigned", seen, push_wall, used)
        if args.profile:
            profile(services, org, push_id, {"scope": "assigned"}, profiles / "push-assigned.prof")
        users, groups = seen["users"], seen["groups"]
        outside_active = len(enabled - members)
        check(seen["scopeChanged"] is True, "scopeChanged", failures)
        check(seen["examined"]["users"] == tenant_users, "examined users == tenant users", failures)
        check(
            seen["examined"]["groups"] == tenant_groups,
            "examined groups == tenant groups",
            failures,
        )
        check(
            users["deactivate"] == outside_active,
            f"deactivated == enabled users outside the group ({outside_active})",
            failures,
        )
        check(
            users["create"] == 0 and users["update"] + users["unchanged"] == len(members),
            f"the group's {len(members)} members matched, none created",
            failures,
        )
        check(groups["delete"] == tenant_groups - 1, "every other group deleted", failures)
        check(seen["removals"] == outside_active + tenant_groups - 1, "removals", failures)
        check(
            count(hub_url, org, scim, "Users") == hub_users
            and count(hub_url, org, scim, "Groups") == hub_groups,
            "nothing written in the hub",
            failures,
        )
        services.close()
        engine.dispose()

        rss = peak_rss_mb(hub.pid)
        print(
            f"machine: {cpu_model()}, {os.cpu_count()} cores, {platform.machine()}, "
            f"{platform.python_implementation()} {platform.python_version()}; commit {commit()}"
        )
        print(
            f"pull_initial_s={pull_initial:.1f} "
            f"preview_pull_mapping_s={pull_wall:.1f} "
            f"preview_push_all_s={all_wall:.1f} "
            f"preview_push_scope_s={push_wall:.1f} "
            f"examined_users={seen['examined']['users']} "
            f"examined_pages={pull_preview['examined']['pages']}/{to_all['examined']['pages']}"
            f"/{seen['examined']['pages']} "
            f"ratio_pull_preview_to_pull={pull_wall / pull_initial:.2f} "
            f"ratio_push_preview_to_pull={push_wall / pull_initial:.2f} "
            f"peak_rss_mb={rss:.0f} "
            f"target_s={TARGET_S:.0f} {'met' if push_wall <= TARGET_S else 'MISSED'}"
        )
        if failures:
            raise SystemExit(f"INVALID: {len(failures)} check(s) failed: {failures}")
    finally:
        if hub is not None:
            hub.terminate()
            try:
                hub.wait(10)
            except subprocess.TimeoutExpired:
                hub.kill()
        if emu is not None:
            emu.stop()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
