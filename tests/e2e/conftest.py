"""A live `scimhub serve` in a subprocess on a free loopback port, set up through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from scimhub.config import Settings
from scimhub.demo.processes import free_port


def scimhub(*args: str, env: dict[str, str]) -> str:
    """Run the `scimhub` CLI and return its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "scimhub", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout


def wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("scimhub serve did not start")
        time.sleep(0.1)


@dataclass(frozen=True)
class LiveHub:
    url: str
    org_id: str
    token: str
    env: dict[str, str]

    @property
    def scim_base(self) -> str:
        return f"{self.url}/identity/scim/{self.org_id}/v2"

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.scim_base,
            timeout=30,
            trust_env=False,
            headers={"Authorization": f"Bearer {self.token}"},
        )


@contextmanager
def serve(
    env: dict[str, str],
    *,
    org_name: str,
    token_kind: str = "scim",
    workers: int = 1,
    log: Path | None = None,
) -> Iterator[tuple[str, str, str]]:
    """An org and a token made with the CLI, then `scimhub serve` on a free port:
    yields (url, org id, token). With `log`, its output goes to that file, at INFO."""
    org_id = json.loads(scimhub("org", "create", "--name", org_name, "--json", env=env))["id"]
    kind = ["--admin"] if token_kind == "admin" else []
    token = json.loads(scimhub("token", "create", "--org", org_id, *kind, "--json", env=env))[
        "token"
    ]
    port = free_port()
    out = log.open("ab") if log else None
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scimhub",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "info" if log else "warning",
        ],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT if log else None,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url, org_id, token
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if out:
            out.close()


@pytest.fixture(scope="session")
def live_hub(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    env = {**os.environ, "SCIMHUB_DATA_DIR": str(tmp_path_factory.mktemp("live"))}
    if settings.database_url:
        env["SCIMHUB_DATABASE_URL"] = settings.database_url
    with serve(env, org_name="Live") as (url, org_id, token):
        yield LiveHub(url, org_id, token, env)
