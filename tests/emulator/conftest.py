"""Real servers on 127.0.0.1: the emulator over HTTPS with its generated certificate,
and an in-memory SCIM target over HTTP, each in a thread."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from scimhub.emulator import audit
from scimhub.emulator.app import create_app
from scimhub.emulator.apps import grant_consent, integration_secret
from scimhub.emulator.certs import TlsFiles, ensure_tls
from scimhub.emulator.constants import INTEGRATION_APP_ID
from scimhub.emulator.context import Emulator, build
from scimhub.emulator.directory import (
    add_group,
    add_member,
    add_user,
    create_tenant,
    find_tenant,
    require_tenant,
)
from scimhub.emulator.provisioning.scheduler import Scheduler
from scimhub.emulator.redirect_uris import add_uri

from .scim_target import Target, build_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadedServer:
    def __init__(self, app: Any, port: int, tls: TlsFiles | None = None):
        kwargs: dict[str, Any] = {}
        if tls is not None:
            kwargs = {"ssl_certfile": str(tls.server_cert), "ssl_keyfile": str(tls.server_key)}
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws="none",
            lifespan="on",
            access_log=False,
            **kwargs,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class EmulatorHandle:
    emu: Emulator
    tls: TlsFiles
    base: str
    secret: str
    scheduler: Scheduler

    @property
    def ca(self) -> str:
        return str(self.tls.ca_cert)

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            verify=ssl.create_default_context(cafile=self.ca),
            trust_env=False,
            **kw,
        )

    def new_tenant(self, *, consent: bool = True, users: int = 3) -> dict[str, Any]:
        """A fresh customer tenant (tests share one server), with users u0..uN-1 and a
        group 'Team' holding the first two."""
        domain = f"t{uuid.uuid4().hex[:10]}.onmicrosoft.com"
        with self.emu.engine.begin() as conn:
            tid = create_tenant(conn, f"Tenant {domain[:11]}", domain)
            ids = [
                add_user(
                    conn,
                    tid,
                    {
                        "userPrincipalName": f"u{i}@{domain}",
                        "displayName": f"User {i}",
                        "givenName": f"Given{i}",
                        "surname": f"Sur{i}",
                        "mail": f"u{i}@{domain}",
                        "department": "Sales",
                    },
                )
                for i in range(users)
            ]
            gid = add_group(conn, tid, {"displayName": "Team"})
            for uid in ids[:2]:
                add_member(conn, tid, gid, uid)
            sp_id = (
                grant_consent(conn, require_tenant(conn, tid), INTEGRATION_APP_ID)
                if consent
                else None
            )
        return {
            "id": tid,
            "domain": domain,
            "users": ids,
            "group": gid,
            "sp_id": sp_id,
            "admin": audit.admin_initiator(self.tenant_row(tid)),
        }

    def register_redirect(self, uri: str, app_id: str = INTEGRATION_APP_ID) -> None:
        with self.emu.engine.begin() as conn:
            add_uri(conn, app_id, uri)

    def tenant_row(self, tid: str) -> Any:
        with self.emu.engine.connect() as conn:
            return find_tenant(conn, tid)

    def token(self, tenant_id: str) -> str:
        with self.client() as c:
            r = c.post(
                f"/{tenant_id}/oauth2/v2.0/token",
                data={
                    "client_id": INTEGRATION_APP_ID,
                    "client_secret": self.secret,
                    "scope": "https://graph.microsoft.com/.default",
                    "grant_type": "client_credentials",
                },
            )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def graph(self, tenant_id: str) -> httpx.Client:
        return self.client(headers={"Authorization": f"Bearer {self.token(tenant_id)}"})


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    data_dir: Path = tmp_path_factory.mktemp("emulator")
    tls = ensure_tls(data_dir)
    port = free_port()
    emu = build(data_dir, f"https://127.0.0.1:{port}", cycle_seconds=1.0, push_concurrency=8)
    app = create_app(emu)
    secret = integration_secret(data_dir)
    assert secret
    with ThreadedServer(app, port, tls):
        yield EmulatorHandle(emu, tls, emu.base_url, secret, app.state.scheduler)


@dataclass
class TargetHandle:
    target: Target
    url: str


@pytest.fixture
def scim_target() -> Iterator[TargetHandle]:
    target = Target()
    port = free_port()
    with ThreadedServer(build_app(target), port):
        yield TargetHandle(target, f"http://127.0.0.1:{port}/scim/v2")
