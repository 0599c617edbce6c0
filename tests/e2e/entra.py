"""Live Entra emulator + live hub wired together, and a browser-less admin who clicks
through the emulator's sign-in and consent pages."""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import free_port, scimhub, wait_healthy

INTEGRATION_APP_ID = "90db942a-c1eb-4e8d-82e4-eebf64a7e2ae"


@dataclass
class Emulator:
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
        return scimhub("emulator", *args, "--data-dir", str(self.data_dir),
                       env=dict(os.environ))

    def client(self) -> httpx.Client:
        return httpx.Client(verify=ssl.create_default_context(cafile=self.ca), trust_env=False,
                            follow_redirects=False, timeout=30)

    def hub_env(self) -> dict[str, str]:
        return {
            "SCIMHUB_ENTRA_LOGIN_URL": self.base,
            "SCIMHUB_ENTRA_GRAPH_URL": self.base,
            "SCIMHUB_ENTRA_CLIENT_ID": self.info["integration_app"]["client_id"],
            "SCIMHUB_ENTRA_CLIENT_SECRET": self.info["integration_app"]["client_secret"],
            "SCIMHUB_ENTRA_CA_BUNDLE": self.ca,
            "SCIMHUB_ENTRA_APP_TEMPLATE_ID":
                self.info["provisioning_app"]["application_template_id"],
        }


@contextmanager
def run_emulator(data_dir: Path, *, users: int = 12, groups: int = 2,
                 cycle_seconds: float = 1.0) -> Iterator[Emulator]:
    port = free_port()
    info_path = data_dir / "info.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scimhub", "emulator", "--data-dir", str(data_dir), "--port",
         str(port), "--info-json", str(info_path), "--cycle-interval", str(cycle_seconds),
         "--users", str(users), "--groups", str(groups)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not info_path.exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.1)
        emu = Emulator(data_dir, json.loads(info_path.read_text()), proc)
        with emu.client() as c:
            while True:
                try:
                    c.get(f"{emu.base}/_emulator/tenants")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        yield emu
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass
class Hub:
    url: str
    org_id: str
    admin_token: str
    env: dict[str, str]

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/extIntegration/azureAD/{self.org_id}/v1",
                            headers={"Authorization": f"Bearer {self.admin_token}"},
                            trust_env=False, timeout=60)

    def scim_count(self, resource: str = "Users") -> int:
        """How many resources Entra pushed, read through the hub's own CLI-made token."""
        token = json.loads(scimhub("token", "create", "--org", self.org_id, "--json",
                                   env=self.env))["token"]
        r = httpx.get(f"{self.url}/identity/scim/{self.org_id}/v2/{resource}",
                      params={"count": "0"}, headers={"Authorization": f"Bearer {token}"},
                      trust_env=False)
        return int(r.json()["totalResults"])


@contextmanager
def run_hub(data_dir: Path, emu: Emulator, database_url: str = "") -> Iterator[Hub]:
    env = {**os.environ, "SCIMHUB_DATA_DIR": str(data_dir), **emu.hub_env()}
    if database_url:
        env["SCIMHUB_DATABASE_URL"] = database_url
    org_id = json.loads(scimhub("org", "create", "--name", "Acme", "--json", env=env))["id"]
    token = json.loads(scimhub("token", "create", "--org", org_id, "--admin", "--json",
                               env=env))["token"]
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "scimhub", "serve", "--port", str(port),
                             "--log-level", "warning"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield Hub(url, org_id, token, env)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _form(html: str) -> tuple[str, dict[str, str]]:
    action = unescape(re.search(r'<form[^>]*action="([^"]*)"', html).group(1))  # type: ignore[union-attr]
    fields = {m.group(1): unescape(m.group(2)) for m in re.finditer(
        r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)}
    return action, fields


def accept_consent(emu: Emulator, consent_url: str, *, decision: str = "accept") -> str:
    """Sign in as the tenant admin and answer the consent page; returns where Entra sends
    the browser back (the hub's callback URL)."""
    tenant = emu.tenant
    with emu.client() as c:
        page = c.get(consent_url)
        if 'name="password"' in page.text:
            action, fields = _form(page.text)
            fields.update(username=tenant["admin_login"], password=tenant["admin_password"])
            signed_in = c.post(httpx.URL(consent_url).join(action), data=fields)
            page = c.get(httpx.URL(consent_url).join(signed_in.headers["location"]))
        action, fields = _form(page.text)
        fields["decision"] = decision
        answer = c.post(httpx.URL(consent_url).join(action), data=fields)
        assert answer.status_code in (302, 303), answer.text
        return str(answer.headers["location"])


def connect(hub: Hub, emu: Emulator, **options: Any) -> dict[str, Any]:
    """The whole setup: ask the hub for the consent URL, consent, land on the callback."""
    with hub.api() as api:
        started = api.post("/setup", json={"tenant": "common", **options})
        assert started.status_code == 200, started.text
        callback = accept_consent(emu, started.json()["consentUrl"])
    landed = httpx.get(callback, headers={"Accept": "application/json"}, trust_env=False,
                       timeout=60)
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
