#!/usr/bin/env python
"""Scale-out (issue 7): scimhub on SQLite in one process against scimhub on PostgreSQL with
two API processes and two `scimhub worker` processes, side by side in one run.

Run from the repository root (installs nothing; needs the PostgreSQL server binaries, which
scripts/pg-cluster finds under /usr/lib/postgresql or in PG_BIN):

    .venv/bin/python bench/scale_out.py [--users 10000 --groups 100 --duration 10]
                                        [--sync-users 100000 --sync-groups 1000 | --skip-sync]
                                        [--no-write]

The two deployments, both up for the whole run, on 127.0.0.1:
- A "SQLite, 1 process": `scimhub serve` on a fresh temporary data directory; its
  background work runs in-process.
- B "PostgreSQL, 2 API + 2 workers": a throwaway cluster from `scripts/pg-cluster` (fsync
  off), a database `benchdb` on it, `scimhub serve --workers 2` and two `scimhub worker`.
Both get SCIMHUB_PULL_INTERVAL_SECONDS=0 and SCIMHUB_STATUS_INTERVAL_SECONDS=0, so no
scheduled work runs during the measurements.

Part 1, SCIM requests: both are loaded with the same data by scim_throughput.py's `load()`
(--users users, --groups groups of 10, one group of every user, one of 10, spare users),
plus a 10-member "mix" group and --mix-pool spare users of its own. Then scim_throughput's
asyncio client drives GET by id, filtered search, POST, PATCH +1 member on the big and the
10-member group (as its `plan()`), and a "mix" phase: request i follows a fixed pattern of
20 (60% GET by id, 25% search, 10% POST, 5% PATCH adding a spare user, never a member yet,
to the mix group). Each operation runs --duration seconds split in --rounds rounds that
alternate between A and B. Every non-2xx answer is an error, and after the PATCHes the
groups must hold the new members; a run with errors is INVALID (exit 1).

Part 2, pull sync (--skip-sync skips it): an Entra emulator with --sync-users users and
--sync-groups groups; a pull-mode instance in a second organisation of each deployment,
connected as bench/sync.py does. Timed: the initial round (A: `syncNow` through the API,
which runs it in the API process; B: a `pull_round` job deferred to the queue, from defer
to "succeeded", run by a worker), then, after --changes users changed in the emulator, an
incremental round the same way. After the initial round each org must hold every user and
group of the tenant.

Nothing is pinned (B is several processes); the load generator, this process, shares the
2 cores with the servers. Each phase reports the CPU used by the deployment under load
(B: its API processes, workers and PostgreSQL), by the load generator, and by every other
process (near 0 on a quiet machine; flagged above 15% of a core). Prints progress, then a
markdown block written into bench/RESULTS.md (section "Scale-out ... (issue 7)", other
sections kept) unless --no-write. Stops every process it started, also on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from scimhub.api.services import Hub
from scimhub.config import Settings
from scimhub.demo.processes import EmulatorProcess, start_emulator
from scimhub.emulator.db import open_engine
from scimhub.emulator.directory import update_user
from scimhub.emulator.schema import groups as entra_groups
from scimhub.emulator.schema import users as entra_users
from scimhub.sync.tasks import pull_round_job, queue_app

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import scim_throughput as st  # noqa: E402
import sync as sync_bench  # noqa: E402  (bench/sync.py: connect() and count())

RESULTS_SECTION = (
    "## Scale-out: SQLite, 1 process vs PostgreSQL, 2 API processes + 2 workers (issue 7)"
)
SCIMHUB = str(st.BIN / "scimhub")
QUIET_SCHEDULE = {"SCIMHUB_PULL_INTERVAL_SECONDS": "0", "SCIMHUB_STATUS_INTERVAL_SECONDS": "0"}

# The mix: request i is MIX[i % 20]. G: GET by id, S: filtered search, P: POST, X: PATCH.
MIX = "GSGGPGSGGSGXGGSGPGSG"
MIX_OPS = {"G": "get", "S": "search", "P": "post"}
OPERATIONS = [
    *st.OPERATIONS,
    ("mix", "mix: 60% GET by id, 25% search, 10% POST, 5% PATCH (10 members)"),
]

# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


class Proc:
    """A process this script started, logging to a file. It gets a session of its own, so
    that if it does not stop on SIGINT, its children (uvicorn's workers) go with it."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log_path = name, log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                argv,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                start_new_session=True,
            )

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise SystemExit(f"{self.name} exited with {self.proc.returncode}:\n{tail}")

    def wait_for(self, ready: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            self.check_alive()
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.name}: no {what} after {timeout:g} s")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # graceful: workers finish their jobs
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def cli_json(env: dict[str, str], *args: str) -> dict[str, Any]:
    """`scimhub ARGS --json` with the deployment's env: it acts on the same database."""
    out = subprocess.run(
        [SCIMHUB, *args], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return st._loads(out.strip().splitlines()[-1])


@contextmanager
def pg_cluster(path: Path) -> Iterator[str]:
    """A throwaway PostgreSQL server (fsync off); yields its URL, stops it however we end."""
    script = str(ROOT / "scripts" / "pg-cluster")
    try:
        out = subprocess.run(
            [script, "start", str(path)], check=True, capture_output=True, text=True
        ).stdout
        yield out.strip().splitlines()[-1]
    finally:
        subprocess.run([script, "stop", str(path)], check=False, capture_output=True)


def create_database(server_url: str, name: str = "benchdb") -> tuple[str, str]:
    """CREATE DATABASE (autocommit: not allowed in a transaction); (its URL, server version)."""
    engine = create_engine(
        make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            version = conn.execute(text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    return url, f"PostgreSQL {version}"


# --------------------------------------------------------------------------------------------
# Deployments
# --------------------------------------------------------------------------------------------


@dataclass
class Deployment:
    key: str  # "A" or "B"
    label: str
    port: int
    env: dict[str, str]
    bench_org: str  # part 1: SCIM load
    scim_token: str
    pull_org: str  # part 2: the pull-sync instance
    pull_admin: str
    pull_scim: str
    procs: list[Proc] = field(default_factory=list)
    postmaster_pid: Path | None = None  # B: its PostgreSQL server's CPU counts as its own

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return self.env.get("SCIMHUB_DATABASE_URL", "")

    def target(self) -> st.Target:
        # pid 0: no single server process to account CPU to (B is several).
        return st.Target(
            f"{self.key} {'sqlite' if not self.database_url else 'postgres'}",
            "127.0.0.1",
            self.port,
            f"/identity/scim/{self.bench_org}/v2",
            self.scim_token,
            0,
        )

    def check_alive(self) -> None:
        for p in self.procs:
            p.check_alive()

    def pids(self) -> set[int]:
        """Its processes now: ours, their children (uvicorn's workers), and PostgreSQL's."""
        roots = {p.proc.pid for p in self.procs}
        if self.postmaster_pid is not None:
            roots.add(int(self.postmaster_pid.read_text().split()[0]))
        return descendants(roots)


def descendants(roots: set[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(d.name))
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    return found


class DeploymentCpu:
    """CPU used by a deployment's processes during a phase, in % of one core and in
    seconds (processes that ended during the phase are missed; the API and database
    connections are long-lived)."""

    def __init__(self, dep: Deployment) -> None:
        self.dep = dep

    def __enter__(self) -> DeploymentCpu:
        self.t0 = time.monotonic()
        self.before = {pid: st._proc_ticks(pid) for pid in self.dep.pids()}
        return self

    def __exit__(self, *exc: object) -> None:
        now = self.dep.pids() | set(self.before)  # with those started during the phase
        used = sum(max(0, st._proc_ticks(pid) - self.before.get(pid, 0)) for pid in now)
        self.seconds = used / st.CLK_TCK
        self.percent = 100.0 * used / (max(time.monotonic() - self.t0, 1e-9) * st.CLK_TCK)


def prepare_orgs(env: dict[str, str]) -> tuple[str, str, str, str, str]:
    """Two organisations through the CLI (same env, same database as the server):
    one for the SCIM load, one for the pull sync."""
    bench = cli_json(env, "org", "create", "--name", "bench", "--json")["id"]
    scim = cli_json(env, "token", "create", "--org", bench, "--json")["token"]
    pull = cli_json(env, "org", "create", "--name", "pull", "--json")["id"]
    pull_admin = cli_json(env, "token", "create", "--org", pull, "--admin", "--json")["token"]
    pull_scim = cli_json(env, "token", "create", "--org", pull, "--json")["token"]
    # Group PATCH answers 204, as Entra's gallery expects (as scim_throughput.py does).
    hub = Hub.open(
        Settings(
            data_dir=Path(env["SCIMHUB_DATA_DIR"]), database_url=env.get("SCIMHUB_DATABASE_URL", "")
        )
    )
    try:
        hub.orgs.update_setting(bench, "group_patch_status", 204)
    finally:
        hub.close()
    return bench, scim, pull, pull_admin, pull_scim


@contextmanager
def deployment(
    key: str,
    label: str,
    tmp: Path,
    extra_env: dict[str, str],
    *,
    api_processes: int,
    workers: int,
    postmaster_pid: Path | None = None,
) -> Iterator[Deployment]:
    """Organisations and tokens, then `scimhub serve` (and workers); stopped on exit."""
    port = st.free_port()
    home = tmp / key
    env = {
        **os.environ,
        **QUIET_SCHEDULE,
        **extra_env,
        "SCIMHUB_DATA_DIR": str(home / "data"),
        "SCIMHUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    home.mkdir(parents=True)
    dep = Deployment(key, label, port, env, *prepare_orgs(env), postmaster_pid=postmaster_pid)
    try:
        serve = Proc(
            f"{key} serve",
            [SCIMHUB, "serve", "--port", str(port), "--workers", str(api_processes)],
            env,
            home / "serve.log",
        )
        dep.procs.append(serve)
        for n in range(workers):
            dep.procs.append(
                Proc(f"{key} worker {n}", [SCIMHUB, "worker"], env, home / f"worker-{n}.log")
            )
        serve.wait_for(lambda: http_ok(f"{dep.url}/healthz"), "/healthz")
        for w in dep.procs[1:]:
            w.wait_for(
                lambda w=w: "Starting worker" in w.log_path.read_text(errors="replace"),
                "'Starting worker' in its log",
            )
        print(
            f"[{key}] {label}: {dep.url}, {api_processes} API process(es), {workers} worker(s)",
            flush=True,
        )
        yield dep
    finally:
        for p in reversed(dep.procs):  # workers first, then the API
            p.stop()


# --------------------------------------------------------------------------------------------
# Part 1: the SCIM request mix
# --------------------------------------------------------------------------------------------


@dataclass
class MixData:
    group: str  # a 10-member group of its own, so its PATCHes never re-add a member
    spare: list[str]  # users in no group, one per mix PATCH
    patched: int = 0  # successful mix PATCHes, checked against the group at the end


async def load_mix(target: st.Target, data: st.Loaded, args: argparse.Namespace) -> MixData:
    names = [f"mix{i:06d}@bench.example" for i in range(args.mix_pool)]
    ids = [""] * len(names)
    group: list[str] = []

    def created(i: int, body: bytes) -> None:
        ids[i] = st._loads(body)["id"]

    r = await st.run_phase(
        target,
        "load mix",
        lambda i: target.raw("POST", "/Users", st.user_body(names[i], i)),
        duration=3600,
        max_count=len(names),
        concurrency=args.concurrency,
        on_ok=created,
    )
    members = data.user_ids[-10:]  # any 10 existing users
    r2 = await st.run_phase(
        target,
        "load mix group",
        lambda i: target.raw(
            "POST",
            "/Groups?excludedAttributes=members",
            st._dumps(
                {
                    "schemas": [st.GROUP_SCHEMA],
                    "displayName": "mix-10",
                    "members": [{"value": m} for m in members],
                }
            ),
        ),
        duration=60,
        max_count=1,
        concurrency=1,
        on_ok=lambda i, body: group.append(st._loads(body)["id"]),
    )
    if r.errors or r2.errors:
        raise SystemExit(f"{target.name}: loading the mix data failed")
    return MixData(group[0], ids)


def mix_op(target: st.Target, ops: dict[str, st.Op], mix: MixData, spare: list[str]) -> st.Op:
    """Request i of the mix. One PATCH per pattern of 20, so PATCH i uses spare[i // 20]:
    the phase ends when this round's spare users run out, like plan()'s PATCH phases."""
    n = len(MIX)

    def make(i: int) -> bytes:
        kind = MIX[i % n]
        if kind == "X":
            return target.raw(
                "PATCH",
                f"/Groups/{mix.group}?excludedAttributes=members",
                st.add_members_body([spare[i // n]]),
            )
        return ops[MIX_OPS[kind]].make(i)

    return st.Op(make, n * len(spare), ops["get"].concurrency)


def progress(r: st.PhaseResult, target: st.Target, note: str) -> None:
    print(
        f"  {note} {target.name:10s} {r.name:12s} {r.rps:7.0f} req/s  n={r.count:<6d} "
        f"p50={r.pct(50):7.2f} ms  p99={r.pct(99):7.2f} ms  err={r.errors}  "
        f"cpu: deployment {r.cpu_server:3.0f}%  load generator {r.cpu_client:3.0f}%  "
        f"other {r.cpu_other:3.0f}%" + ("  << other load" if r.cpu_other > 15 else ""),
        flush=True,
    )


async def scim_part(
    args: argparse.Namespace, deps: list[Deployment]
) -> dict[str, dict[str, st.PhaseResult]]:
    targets = {d.key: d.target() for d in deps}
    deps_by_key = {d.key: d for d in deps}
    loaded: dict[str, st.Loaded] = {}
    mixes: dict[str, MixData] = {}
    for key, target in targets.items():
        print(
            f"[{key}] loading {args.users} users, {args.pool} + {args.mix_pool} spare users, "
            f"{args.groups + 3} groups ...",
            flush=True,
        )
        loaded[key] = await st.load(target, args)
        mixes[key] = await load_mix(target, loaded[key], args)
        await st.check_loaded(target, loaded[key], args)
        print(f"[{key}] loaded in {loaded[key].seconds:.1f} s (checked)", flush=True)

    for key, target in targets.items():  # warm-up, not measured
        ops = st.plan(target, loaded[key], args, 0)
        for op in ("get", "search"):
            await st.run_phase(
                target,
                "warm",
                ops[op].make,
                duration=args.warmup / 2,
                max_count=10**9,
                concurrency=args.concurrency,
            )

    parts: dict[str, dict[str, list[st.PhaseResult]]] = {key: {} for key in targets}
    dur = args.duration / args.rounds
    for rnd in range(args.rounds):
        # A then B, B then A: a drift in background load hits both alike.
        order = list(targets) if rnd % 2 == 0 else list(reversed(targets))
        plans = {
            key: plan_round(targets[key], loaded[key], mixes[key], args, rnd) for key in targets
        }
        for op in args.ops:
            for key in order:
                target, planned = targets[key], plans[key][op]
                on_ok = count_mix_patches(mixes[key]) if op == "mix" else None
                with DeploymentCpu(deps_by_key[key]) as cpu:
                    r = await st.run_phase(
                        target,
                        op,
                        planned.make,
                        duration=dur,
                        max_count=planned.max_count,
                        concurrency=planned.concurrency,
                        on_ok=on_ok,
                    )
                # run_phase had no server pid: its "other" holds the deployment; split it.
                r.cpu_server = cpu.percent
                r.cpu_other = max(0.0, r.cpu_other - cpu.percent)
                parts[key].setdefault(op, []).append(r)
                progress(r, target, f"round {rnd + 1}/{args.rounds}")

    results = {key: {op: st.merge(rs, op) for op, rs in ops.items()} for key, ops in parts.items()}
    for key, target in targets.items():
        await check_members(target, loaded[key], mixes[key], results[key])
    return results


def plan_round(
    target: st.Target, data: st.Loaded, mix: MixData, args: argparse.Namespace, rnd: int
) -> dict[str, st.Op]:
    ops = st.plan(target, data, args, rnd)
    per = len(mix.spare) // args.rounds
    # A plan of its own: plan() draws a fresh tag for POSTed userNames, so the mix's POSTs
    # do not collide with the POST phase's.
    ops["mix"] = mix_op(
        target, st.plan(target, data, args, rnd), mix, mix.spare[rnd * per : (rnd + 1) * per]
    )
    return ops


def count_mix_patches(mix: MixData) -> Callable[[int, bytes], None]:
    def ok(i: int, body: bytes) -> None:
        if MIX[i % len(MIX)] == "X":
            mix.patched += 1

    return ok


async def check_members(
    target: st.Target, data: st.Loaded, mix: MixData, res: dict[str, st.PhaseResult]
) -> None:
    """Every successful PATCH added a member that was not one: the groups must show it."""
    for gid, want, op in (
        (data.big_group, len(data.user_ids) + _count(res, "patch_big"), "patch_big"),
        (data.small_group, 10 + _count(res, "patch_small"), "patch_small"),
        (mix.group, 10 + mix.patched, "mix"),
    ):
        if op not in res:
            continue
        got = await st.member_count(target, gid)
        if got != want:
            res[op].errors += 1
            res[op].error_samples.append(
                f"group has {got} members after the PATCHes, expected {want}"
            )


def _count(res: dict[str, st.PhaseResult], op: str) -> int:
    return res[op].count if op in res else 0


# --------------------------------------------------------------------------------------------
# Part 2: the pull sync
# --------------------------------------------------------------------------------------------


@dataclass
class PullRound:
    seconds: float  # wall time seen by the caller
    counts: dict[str, Any]  # the hub's own counts of the round
    cpu: float = 0.0  # CPU seconds of the deployment's processes (B: with PostgreSQL)


def tenant_size(emu: EmulatorProcess) -> tuple[int, int]:
    """Users and groups of the emulated tenant: what a full pull must bring."""
    engine = open_engine(emu.data_dir)
    tid = emu.tenant["id"]
    try:
        with engine.connect() as conn:
            sizes = tuple(
                conn.execute(
                    select(func.count())
                    .select_from(t)
                    .where(t.c.tenant_id == tid, t.c.deleted_at.is_(None), t.c.purged.is_(False))
                ).scalar_one()
                for t in (entra_users, entra_groups)
            )
    finally:
        engine.dispose()
    return sizes  # type: ignore[return-value]


def change_users(emu: EmulatorProcess, n: int) -> int:
    """Change n users in Entra, as bench/sync.py does, for the incremental rounds."""
    engine = open_engine(emu.data_dir)
    tid = emu.tenant["id"]
    try:
        with engine.begin() as conn:
            ids = [
                r.id
                for r in conn.execute(
                    select(entra_users.c.id).where(entra_users.c.tenant_id == tid).limit(n)
                )
            ]
            for i, uid in enumerate(ids):
                update_user(conn, tid, uid, {"jobTitle": f"Changed {i}"})
    finally:
        engine.dispose()
    return len(ids)


def instance_doc(api: httpx.Client, instance: str) -> dict[str, Any]:
    return next(
        i for i in api.get("/status").raise_for_status().json()["instances"] if i["id"] == instance
    )


def pull_via_api(api: httpx.Client, instance: str) -> PullRound:
    """A: `syncNow` runs the round in the API process and answers when it is done."""
    t = time.monotonic()
    counts = api.post(f"/instances/{instance}/syncNow").raise_for_status().json()["pull"]
    return PullRound(time.monotonic() - t, counts)


def pull_via_worker(
    queue: Any, dep: Deployment, api: httpx.Client, instance: str, timeout: float
) -> PullRound:
    """B: a pull_round job run by one of the workers, timed from defer to succeeded."""
    t = time.monotonic()
    job_id = pull_round_job(queue, dep.pull_org, instance).defer()
    while True:
        status = queue.job_manager.get_job_status(job_id).value
        elapsed = time.monotonic() - t
        if status == "succeeded":
            break
        if status in ("failed", "cancelled", "aborted"):
            raise SystemExit(f"[{dep.key}] pull job {job_id} {status}; see the worker logs")
        if elapsed > timeout:
            raise SystemExit(f"[{dep.key}] pull job {job_id} still {status} after {timeout} s")
        dep.check_alive()
        # Polls cost the database a query: about 100 per round, enough for 1% resolution.
        time.sleep(min(0.5, max(0.01, elapsed / 100)))
    return PullRound(elapsed, instance_doc(api, instance)["lastPull"])


def sync_part(
    args: argparse.Namespace, emu: EmulatorProcess, a: Deployment, b: Deployment, invalid: list[str]
) -> dict[str, dict[str, PullRound]]:
    want_users, want_groups = tenant_size(emu)
    apis, instances = {}, {}
    for dep in (a, b):
        apis[dep.key] = sync_bench.connect(dep.url, dep.pull_org, dep.pull_admin, emu, "pull")
        instances[dep.key] = (
            apis[dep.key].get("/status").raise_for_status().json()["instances"][0]["id"]
        )
    queue = queue_app(b.database_url)
    rounds: dict[str, dict[str, PullRound]] = {"A": {}, "B": {}}
    try:
        with queue.open():

            def run(dep: Deployment) -> PullRound:
                with DeploymentCpu(dep) as cpu:
                    if dep is a:
                        r = pull_via_api(apis["A"], instances["A"])
                    else:
                        r = pull_via_worker(queue, b, apis["B"], instances["B"], args.sync_timeout)
                r.cpu = cpu.seconds
                return r

            for dep in (a, b):
                print(
                    f"[{dep.key}] initial pull of {want_users} users, {want_groups} groups ...",
                    flush=True,
                )
                r = rounds[dep.key]["initial"] = run(dep)
                print(f"[{dep.key}] initial pull: {r.seconds:.2f} s {r.counts}", flush=True)
                for what, want in (("Users", want_users), ("Groups", want_groups)):
                    got = sync_bench.count(dep.url, dep.pull_org, dep.pull_scim, what)
                    if got != want:
                        invalid.append(f"  {dep.key} initial pull: {got} {what}, expected {want}")
            changed = change_users(emu, args.changes)
            for dep in (a, b):
                r = rounds[dep.key]["incremental"] = run(dep)
                print(
                    f"[{dep.key}] incremental pull of {changed} changed users: "
                    f"{r.seconds:.3f} s {r.counts}",
                    flush=True,
                )
                if r.counts.get("users_updated") != changed:
                    invalid.append(
                        f"  {dep.key} incremental pull: updated "
                        f"{r.counts.get('users_updated')} users, expected {changed}"
                    )
    finally:
        for api in apis.values():
            api.close()
    return rounds


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def command_line(args: argparse.Namespace) -> str:
    cmd = (
        f".venv/bin/python bench/scale_out.py --users {args.users} --groups {args.groups} "
        f"--duration {args.duration:g}"
    )
    defaults = parse_args([])
    for opt in (
        "pool",
        "mix_pool",
        "concurrency",
        "patch_concurrency",
        "rounds",
        "warmup",
        "sync_users",
        "sync_groups",
        "changes",
    ):
        if getattr(args, opt) != getattr(defaults, opt):
            cmd += f" --{opt.replace('_', '-')} {getattr(args, opt):g}"
    if args.operations != defaults.operations:
        cmd += f" --operations {args.operations}"
    return cmd + (" --skip-sync" if args.skip_sync else "")


def md_table(head: tuple[str, ...], align: str, rows: list[tuple[str, ...]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", align, *("| " + " | ".join(r) + " |" for r in rows)]


def build_report(
    args: argparse.Namespace,
    res: dict[str, dict[str, st.PhaseResult]],
    pulls: dict[str, dict[str, PullRound]] | None,
    info: dict[str, str],
    pg_version: str,
    invalid: list[str],
) -> str:
    a, b = res.get("A", {}), res.get("B", {})
    rows = []
    for op, label in OPERATIONS:
        if op not in a:
            continue
        ra, rb = a[op], b[op]
        if op == "patch_big":
            label = f"PATCH group +1 member ({args.users:,} members)"
        rows.append(
            (
                label.replace("|", "/"),
                st.fmt_rps(ra.rps),
                st.fmt_rps(rb.rps),
                f"{st.ratio(rb.rps, ra.rps):.2f}x",
                f"{ra.pct(50):.2f} / {ra.pct(99):.2f}",
                f"{rb.pct(50):.2f} / {rb.pct(99):.2f}",
                *(
                    f"{getattr(ra, c):.0f} / {getattr(rb, c):.0f}"
                    for c in ("cpu_server", "cpu_client", "cpu_other")
                ),
            )
        )
    noisy = [
        f"{key} {r.name} ({r.cpu_other:.0f}%)"
        for key, phases in res.items()
        for r in phases.values()
        if r.cpu_other > 15
    ]
    md = [
        RESULTS_SECTION,
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with",
        "",
        "```sh",
        command_line(args),
        "```",
        "",
        f"scimhub at `{info['rev']}`. Machine: {info['cpu']}, {info['cores']} cores, "
        f"{info['python']}, {info['os']}; {info['libs']}; {pg_version}.",
        "",
        "- **A**: `scimhub serve`, one uvicorn process, SQLite in a fresh data directory; "
        "background work in-process.",
        "- **B**: `scimhub serve --workers 2` (two API processes) and two `scimhub worker` "
        f"processes on {pg_version} (a throwaway cluster from `scripts/pg-cluster`, "
        "**fsync=off**, synchronous_commit=off, full_page_writes=off).",
        "- Both: SCIMHUB_PULL_INTERVAL_SECONDS=0 and SCIMHUB_STATUS_INTERVAL_SECONDS=0 (no "
        "scheduled work during the measurements).",
        "- **Nothing is pinned** (B is several processes), and the load generator (this "
        f"script: one asyncio process, {args.concurrency} connections, "
        f"{args.patch_concurrency} for the PATCH phases) **shares the {info['cores']} cores** "
        "with the servers: its CPU use is in the table.",
        "",
        "### SCIM requests",
        "",
        f"Data: {args.users:,} users, {args.groups} groups of 10 members, one group of "
        f"{args.users:,} members, one of 10, one mix group of 10, {args.pool:,} + "
        f"{args.mix_pool:,} spare users for the PATCHes. {args.duration:g} s per operation "
        f"and deployment in {args.rounds} rounds alternating A and B (PATCH and mix phases "
        "end earlier when their spare users run out). Every PATCH adds a user not yet a "
        "member; the mix is a fixed pattern of 20 requests."
        + (" **INVALID: errors during the run.**" if invalid else ""),
        "",
        *md_table(
            (
                "operation",
                "A req/s",
                "B req/s",
                "B/A",
                "A p50 / p99 ms",
                "B p50 / p99 ms",
                "deployment CPU % A / B",
                "load generator CPU % A / B",
                "other CPU % A / B",
            ),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            rows,
        ),
        "",
        "CPU in % of one core (200% = both cores) during the phase. *Deployment*: the "
        "processes of the deployment under load (B: its API processes, workers and "
        "PostgreSQL); *other*: every other process on the machine, which should be near 0.",
    ]
    if not rows:  # no SCIM phase was run (--operations none)
        del md[md.index("### SCIM requests") :]
    if noisy:
        md += [
            "",
            "**Other processes were busy during** "
            + ", ".join(noisy)
            + ": the deployments did not have the cores to themselves.",
        ]
    if pulls:
        pa, pb = pulls["A"], pulls["B"]
        r_init = st.ratio(pb["initial"].seconds, pa["initial"].seconds)
        r_incr = st.ratio(pb["incremental"].seconds, pa["incremental"].seconds)
        initial = pa["initial"].counts
        users = initial.get("users_created", 0)
        groups = initial.get("groups_created", 0)
        md += [
            "",
            "### Pull sync",
            "",
            f"An Entra emulator seeded with {args.sync_users:,} users and "
            f"{args.sync_groups:,} groups; a pull-mode instance (scope all) in its own "
            "organisation of each deployment. A: `POST .../syncNow`, which runs the round "
            "in the API process. B: a `pull_round` job deferred to the queue, timed from "
            "defer until its status is `succeeded` (one of the workers runs it). The "
            f"incremental round follows {args.changes} changed users in the emulator.",
            "",
            *md_table(
                (
                    "pull round",
                    "A: SQLite, 1 process (s)",
                    "B: PostgreSQL, worker (s)",
                    "B/A (time)",
                    "CPU s A / B",
                    "B/A (CPU)",
                ),
                "|---|---:|---:|---:|---:|---:|",
                [
                    (
                        f"initial: {users:,} users + {groups:,} groups",
                        f"{pa['initial'].seconds:.1f}",
                        f"{pb['initial'].seconds:.1f}",
                        f"{r_init:.2f}x",
                        f"{pa['initial'].cpu:.1f} / {pb['initial'].cpu:.1f}",
                        f"{st.ratio(pb['initial'].cpu, pa['initial'].cpu):.2f}x",
                    ),
                    (
                        f"incremental: {args.changes} changed users",
                        f"{pa['incremental'].seconds:.2f}",
                        f"{pb['incremental'].seconds:.2f}",
                        f"{r_incr:.2f}x",
                        f"{pa['incremental'].cpu:.2f} / {pb['incremental'].cpu:.2f}",
                        f"{st.ratio(pb['incremental'].cpu, pa['incremental'].cpu):.2f}x",
                    ),
                ],
            ),
            "",
            "B/A below 1: B is faster. *CPU s*: CPU seconds the deployment's processes used "
            "during the round (A: the API process; B: API processes, workers and "
            "PostgreSQL). The hub's own timing of each round (`seconds` in its "
            f"counts): A {pa['initial'].counts.get('seconds')} s / "
            f"{pa['incremental'].counts.get('seconds')} s, B "
            f"{pb['initial'].counts.get('seconds')} s / "
            f"{pb['incremental'].counts.get('seconds')} s.",
        ]
    if invalid:
        md += ["", "**ERRORS (the run is invalid):**", "", "```", *invalid, "```"]
    md.append("")
    return "\n".join(md)


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--users", type=int, default=10_000, help="users loaded (default 10000)")
    p.add_argument("--groups", type=int, default=100, help="groups of 10 members (default 100)")
    p.add_argument(
        "--duration",
        type=float,
        default=10.0,
        help="seconds per operation and deployment (default 10)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="split --duration into rounds alternating A and B (default 2)",
    )
    p.add_argument(
        "--pool",
        type=int,
        default=1500,
        help="spare users the PATCH phases add, one per request (default 1500)",
    )
    p.add_argument(
        "--mix-pool",
        type=int,
        default=3000,
        help="spare users the mix's PATCHes add; bounds the mix phase to 20 "
        "requests per spare user (default 3000)",
    )
    p.add_argument("--concurrency", type=int, default=16, help="connections (default 16)")
    p.add_argument(
        "--patch-concurrency",
        type=int,
        default=2,
        help="connections of the PATCH phases (default 2, as scim_throughput.py)",
    )
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds (default 1)")
    p.add_argument(
        "--sync-users",
        type=int,
        default=100_000,
        help="users in the emulated Entra tenant (default 100000)",
    )
    p.add_argument(
        "--sync-groups",
        type=int,
        default=1_000,
        help="groups in the emulated Entra tenant (default 1000)",
    )
    p.add_argument(
        "--changes",
        type=int,
        default=100,
        help="users changed before the incremental pull (default 100)",
    )
    p.add_argument(
        "--sync-timeout",
        type=float,
        default=1800,
        help="give up on a worker's pull round after this long (default 1800)",
    )
    p.add_argument(
        "--operations",
        default="all",
        help="part 1's operations, comma-separated ("
        + ",".join(op for op, _ in OPERATIONS)
        + "), 'all' (default) or 'none' to skip part 1",
    )
    p.add_argument("--skip-sync", action="store_true", help="skip part 2, the pull sync")
    p.add_argument("--no-write", action="store_true", help="do not write bench/RESULTS.md")
    p.add_argument(
        "--keep", action="store_true", help="keep the temporary directories (logs, databases)"
    )
    args = p.parse_args(argv)
    args.probe = 0  # scim_throughput's unloaded PATCH probe is not part of this benchmark
    known = [op for op, _ in OPERATIONS]
    wanted = {"all": known, "none": []}.get(args.operations, args.operations.split(","))
    if set(wanted) - set(known):
        p.error(f"--operations: unknown {sorted(set(wanted) - set(known))}")
    args.ops = [op for op in known if op in wanted]
    return args


def event_loop_runner() -> Callable[..., Any]:
    try:
        import uvloop  # the load generator's own loop: faster than asyncio's default

        return uvloop.run
    except ImportError:
        return asyncio.run


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="scimhub-bench-scale-"))
    # Its own directory: the cluster runs as the postgres user, which cannot enter `tmp`.
    pg_dir = Path(tempfile.mkdtemp(prefix="scimhub-bench-pg-"))
    invalid: list[str] = []
    pulls = None
    try:
        with ExitStack() as stack:  # stops everything started, in reverse order
            entra_env: dict[str, str] = {}
            emu = None
            if not args.skip_sync:
                t = time.monotonic()
                emu = start_emulator(
                    tmp / "emu",
                    users=args.sync_users,
                    groups=args.sync_groups,
                    cycle_seconds=5,
                    log=tmp / "emu.log",
                )
                stack.callback(emu.stop)
                entra_env = emu.hub_env()
                print(
                    f"emulator seeded with {args.sync_users} users / {args.sync_groups} "
                    f"groups in {time.monotonic() - t:.1f} s",
                    flush=True,
                )
            server_url = stack.enter_context(pg_cluster(pg_dir))
            database_url, pg_version = create_database(server_url)
            print(f"{pg_version} at {server_url}; database {database_url}", flush=True)
            a = stack.enter_context(
                deployment("A", "SQLite, 1 process", tmp, entra_env, api_processes=1, workers=0)
            )
            b = stack.enter_context(
                deployment(
                    "B",
                    "PostgreSQL, 2 API + 2 workers",
                    tmp,
                    {**entra_env, "SCIMHUB_DATABASE_URL": database_url},
                    api_processes=2,
                    workers=2,
                    postmaster_pid=pg_dir / "data" / "postmaster.pid",
                )
            )
            res = event_loop_runner()(scim_part(args, [a, b])) if args.ops else {}
            if emu is not None:
                pulls = sync_part(args, emu, a, b, invalid)
    finally:
        if args.keep:
            print(f"kept {tmp} and {pg_dir}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(pg_dir, ignore_errors=True)
    invalid[:0] = [
        f"  {key} {r.name}: {r.errors} errors; e.g. "
        + "; ".join(e[:200] for e in r.error_samples[:2])
        for key, phases in res.items()
        for r in phases.values()
        if r.errors
    ]
    md = build_report(args, res, pulls, st.machine_info(), pg_version, invalid)
    print("\nMarkdown for bench/RESULTS.md:\n")
    print(md)
    if not args.no_write:
        print(f"wrote {st.write_results(md, RESULTS_SECTION)}")
    print(
        f"total time {time.monotonic() - started:.0f} s"
        + ("; INVALID: errors during the run" if invalid else "")
    )
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
