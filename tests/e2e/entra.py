"""Live Entra emulator + live hub wired together, and a browser-less admin who clicks
through the emulator's sign-in and consent pages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from scimhub.api.integration import CONSENT_CALLBACK
from scimhub.demo.entra_admin import answer_consent
from scimhub.demo.processes import EmulatorProcess, start_emulator
from tests.e2e.conftest import scimhub, serve

INTEGRATION_APP_ID = "90db942a-c1eb-4e8d-82e4-eebf64a7e2ae"


Emulator = EmulatorProcess


@contextmanager
def run_emulator(
    data_dir: Path, *, users: int = 12, groups: int = 2, cycle_seconds: float = 1.0
) -> Iterator[Emulator]:
    emu = start_emulator(data_dir, users=users, groups=groups, cycle_seconds=cycle_seconds)
    try:
        yield emu
    finally:
        emu.stop()


@dataclass
class Hub:
    url: str
    org_id: str
    admin_token: str
    env: dict[str, str]

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/extIntegration/azureAD/{self.org_id}/v1",
            headers={"Authorization": f"Bearer {self.admin_token}"},
            trust_env=False,
            timeout=60,
        )

    def scim_count(self, resource: str = "Users") -> int:
        """How many resources Entra pushed, read through the hub's own CLI-made token."""
        token = json.loads(
            scimhub("token", "create", "--org", self.org_id, "--json", env=self.env)
        )["token"]
        r = httpx.get(
            f"{self.url}/identity/scim/{self.org_id}/v2/{resource}",
            params={"count": "0"},
            headers={"Authorization": f"Bearer {token}"},
            trust_env=False,
        )
        return int(r.json()["totalResults"])


@contextmanager
def run_hub(
    data_dir: Path, emu: Emulator, database_url: str = "", **extra_env: str
) -> Iterator[Hub]:
    env = {**os.environ, "SCIMHUB_DATA_DIR": str(data_dir), **emu.hub_env(), **extra_env}
    if database_url:
        env["SCIMHUB_DATABASE_URL"] = database_url
    with serve(env, org_name="Acme", token_kind="admin") as (url, org_id, token):
        emu.register_redirect_uri(f"{url}{CONSENT_CALLBACK}")
        yield Hub(url, org_id, token, env)


def create_admin(hub: Hub, email: str, password: str, role: str = "admin") -> None:
    """A console admin of the hub's org, made as an operator would (the CLI)."""
    subprocess.run(
        [
            *(sys.executable, "-m", "scimhub", "admin", "create", "--org", hub.org_id),
            *("--email", email, "--role", role, "--password-stdin"),
        ],
        env=hub.env,
        input=password + "\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )


def accept_consent(emu: Emulator, consent_url: str, *, decision: str = "accept") -> str:
    return answer_consent(emu, consent_url, accept=decision == "accept")


def connect(hub: Hub, emu: Emulator, **options: Any) -> dict[str, Any]:
    """The whole setup: ask the hub for the consent URL, consent, land on the callback."""
    with hub.api() as api:
        started = api.post("/setup", json={"tenant": "common", **options})
        assert started.status_code == 200, started.text
        callback = accept_consent(emu, started.json()["consentUrl"])
    landed = httpx.get(
        callback, headers={"Accept": "application/json"}, trust_env=False, timeout=60
    )
    assert landed.status_code == 200, landed.text
    return dict(landed.json())


def wait_for(predicate: Any, *, timeout: float = 30, interval: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


@dataclass
class Worker:
    """A `scimhub worker` process whose log is kept in a file."""

    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """As a crash or an OOM kill would: no goodbye, no heartbeat any more."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


@contextmanager
def run_workers(hub: Hub, log_dir: Path, count: int, **extra_env: str) -> Iterator[list[Worker]]:
    env = {
        **hub.env,
        "SCIMHUB_WORKER_HEARTBEAT_SECONDS": "1",
        "SCIMHUB_WORKER_STALLED_SECONDS": "3",
        **extra_env,
    }
    workers = []
    for n in range(count):
        path = log_dir / f"worker-{n}.log"
        with path.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "scimhub", "worker"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        workers.append(Worker(proc, path))
    try:
        for w in workers:
            wait_for(lambda w=w: "Starting worker" in w.log(), timeout=30)
        yield workers
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.terminate()
        for w in workers:
            w.proc.wait(timeout=30)
