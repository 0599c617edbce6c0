"""Starting the emulator (a separate process: an independent vendor) and the hub (a uvicorn
server in a thread of this process) on free loopback ports."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class EmulatorProcess:
    data_dir: Path
    info: dict[str, Any]
    proc: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return str(self.info["base_url"])

    @property
    def ca(self) -> str:
        return str(self.info["ca_cert"])

    @property
    def tenant(self) -> dict[str, Any]:
        return dict(self.info["tenants"][0])

    def cli(self, *args: str) -> str:
        """Run `scimhub emulator ARGS --data-dir D` (an Entra admin at the portal); its
        output (JSON for most commands)."""
        done = subprocess.run(
            [sys.executable, "-m", "scimhub", "emulator", *args, "--data-dir", str(self.data_dir)],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout

    def client(self) -> httpx.Client:
        return httpx.Client(
            verify=ssl.create_default_context(cafile=self.ca),
            trust_env=False,
            follow_redirects=False,
            timeout=30,
        )

    def register_redirect_uri(self, uri: str, app: str = "integration_app") -> None:
        """Add a redirect URI to an app (the portal's Authentication blade; `app` names it
        as the info file does: `integration_app` or `console_app`): the emulator sends
        consent answers, codes and signed-out browsers only to registered URIs."""
        app_id = self.info[app]["client_id"]
        with self.client() as c:
            c.post(
                f"{self.base}/_emulator/apps/{app_id}/redirectUris", json={"uri": uri}
            ).raise_for_status()

    def hub_env(self) -> dict[str, str]:
        """The SCIMHUB_ENTRA_* settings that point a hub at this emulator."""
        return {
            "SCIMHUB_ENTRA_LOGIN_URL": self.base,
            "SCIMHUB_ENTRA_GRAPH_URL": self.base,
            "SCIMHUB_ENTRA_CLIENT_ID": self.info["integration_app"]["client_id"],
            "SCIMHUB_ENTRA_CLIENT_SECRET": self.info["integration_app"]["client_secret"],
            "SCIMHUB_ENTRA_CA_BUNDLE": self.ca,
            "SCIMHUB_ENTRA_APP_TEMPLATE_ID": self.info["provisioning_app"][
                "application_template_id"
            ],
            "SCIMHUB_ENTRA_SIGNIN_CLIENT_ID": self.info["console_app"]["client_id"],
            "SCIMHUB_ENTRA_SIGNIN_CLIENT_SECRET": self.info["console_app"]["client_secret"],
        }

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_emulator(
    data_dir: Path, *, users: int, groups: int, cycle_seconds: float, log: Path | None = None
) -> EmulatorProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    info_path = data_dir / "info.json"
    info_path.unlink(missing_ok=True)
    seed = (
        ["--users", str(users), "--groups", str(groups)]
        if not (data_dir / "emulator.sqlite3").exists()
        else []
    )  # seeded on a first run only
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - lives with the process
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scimhub",
            "emulator",
            "--data-dir",
            str(data_dir),
            "--port",
            str(free_port()),
            "--info-json",
            str(info_path),
            "--cycle-interval",
            str(cycle_seconds),
            *seed,
        ],
        stdout=out,
        stderr=out,
        env={**os.environ},
    )
    deadline = time.monotonic() + 60
    while not info_path.exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("the Entra emulator did not start")
        time.sleep(0.1)
    emu = EmulatorProcess(data_dir, json.loads(info_path.read_text()), proc)
    with emu.client() as c:
        while True:
            try:
                c.get(f"{emu.base}/_emulator/tenants")
                return emu
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    emu.stop()
                    raise
                time.sleep(0.1)


class ThreadedServer:
    """uvicorn in a daemon thread, stopped cleanly by `stop()`."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the hub did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
