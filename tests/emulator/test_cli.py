"""The admin CLI acts on the data directory, also while the server runs."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from scimhub.emulator.cli import app
from scimhub.emulator.constants import INTEGRATION_APP_ID

from .conftest import EmulatorHandle, free_port

runner = CliRunner()


def run(*args: str) -> object:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if result.output.strip() else None


def test_cli_on_a_fresh_data_dir(tmp_path: Path) -> None:
    d = str(tmp_path)
    tenants = run("tenants", "--data-dir", d)
    assert isinstance(tenants, list)
    contoso = next(t for t in tenants if t["domain"] == "contoso.onmicrosoft.com")
    sp = run("consent", "--data-dir", d, "--client-id", INTEGRATION_APP_ID)
    assert isinstance(sp, dict)
    run(
        "users",
        "add",
        "--data-dir",
        d,
        "--upn",
        "new@contoso.onmicrosoft.com",
        "--department",
        "Legal",
    )
    run("users", "disable", "new@contoso.onmicrosoft.com", "--data-dir", d)
    run("groups", "add", "Legal", "--data-dir", d)
    run("groups", "add-member", "Legal", "new@contoso.onmicrosoft.com", "--data-dir", d)
    run("sp", "delete", "--data-dir", d, "--tenant", contoso["id"], "--app-id", INTEGRATION_APP_ID)
    assert run("sp", "list", "--data-dir", d) == []
    run("sp", "restore", "--data-dir", d, "--app-id", INTEGRATION_APP_ID)
    audits = run("audit", "--data-dir", d)
    assert isinstance(audits, list)
    names = [a["activityDisplayName"] for a in audits]
    assert names[:2] == ["Restore service principal", "Remove service principal"]
    run("seed", "--data-dir", d, "--users", "50", "--groups", "5")
    users = run("users", "list", "--data-dir", d, "--top", "100")
    assert isinstance(users, list) and len(users) == 54
    bad = runner.invoke(app, ["users", "delete", "nobody@x", "--data-dir", d])
    assert bad.exit_code == 1 and "error:" in bad.output


def test_redirect_uri_commands(tmp_path: Path) -> None:
    d, uri = str(tmp_path), "https://hub.example/extIntegration/azureAD/consent/callback"
    args = ("--data-dir", d, "--app-id", INTEGRATION_APP_ID)
    added = run("app", "redirect-uri", "add", *args, "--uri", uri, "--json")
    assert added == {"appId": INTEGRATION_APP_ID, "redirectUris": [uri]}
    run("app", "redirect-uri", "add", *args, "--uri", "http://127.0.0.1:8000/cb", "--json")
    listed = runner.invoke(app, ["apps", "redirect-uri", "list", *args])
    assert listed.exit_code == 0 and listed.output.split() == ["http://127.0.0.1:8000/cb", uri]
    assert run("app", "redirect-uri", "remove", *args, "--uri", uri, "--json") == {
        "appId": INTEGRATION_APP_ID,
        "redirectUris": ["http://127.0.0.1:8000/cb"],
    }
    for bad in (
        ["remove", *args, "--uri", uri],  # not registered
        ["add", *args, "--uri", "http://hub.example/cb"],  # http off loopback
        ["list", "--data-dir", d, "--app-id", "no-such-app"],
    ):
        refused = runner.invoke(app, ["app", "redirect-uri", *bad])
        assert refused.exit_code == 1 and "error:" in refused.output, bad


def test_cli_changes_are_seen_by_the_running_server(emulator: EmulatorHandle) -> None:
    t = emulator.new_tenant()
    d = str(emulator.emu.data_dir)
    with emulator.graph(t["id"]) as g:
        assert g.get("/v1.0/users").status_code == 200
        run("sp", "delete", "--data-dir", d, "--tenant", t["id"], "--app-id", INTEGRATION_APP_ID)
        assert g.get("/v1.0/users").status_code == 401
    run("consent", "--data-dir", d, "--tenant", t["domain"], "--client-id", INTEGRATION_APP_ID)
    with emulator.graph(t["id"]) as g:
        assert g.get("/v1.0/users").status_code == 200


def test_serve_writes_info_json_and_serves_https(tmp_path: Path) -> None:
    port, info_file = free_port(), tmp_path / "info.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from scimhub.emulator.cli import app; app()",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
            "--info-json",
            str(info_file),
            "--cycle-interval",
            "5",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
            "--redirect-uri",
            "https://hub.example/cb",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        info = None
        while time.monotonic() < deadline and info is None:
            time.sleep(0.2)
            if info_file.exists():
                try:
                    with httpx.Client(
                        verify=ssl.create_default_context(
                            cafile=json.loads(info_file.read_text())["ca_cert"]
                        ),
                        trust_env=False,
                    ) as c:
                        info = json.loads(info_file.read_text())
                        tenant = info["tenants"][0]["id"]
                        r = c.get(
                            f"{info['base_url']}/{tenant}/v2.0/.well-known/openid-configuration"
                        )
                        assert r.json()["token_endpoint"].endswith("/oauth2/v2.0/token")
                except httpx.ConnectError:
                    info = None
        assert info is not None, (
            os.read(proc.stdout.fileno(), 1 << 16).decode() if proc.stdout else ""
        )
        assert info["base_url"] == f"https://127.0.0.1:{port}"
        assert info["integration_app"]["client_id"] == INTEGRATION_APP_ID
        assert info["integration_app"]["client_secret"]
        assert info["integration_app"]["redirect_uris"] == [
            "http://127.0.0.1:9/cb",
            "https://hub.example/cb",
        ]
        assert info["tenants"][0]["domain"] == "contoso.onmicrosoft.com"
        assert info["tenants"][0]["admin_login"] == "admin@contoso.onmicrosoft.com"
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
