"""The `scimhub` CLI acts on the same data as `serve`: orgs and tokens, with --json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scimhub.cli import _settings, app

runner = CliRunner()


def run(*args: str, data_dir: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMHUB_")}
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_org_and_token_lifecycle(tmp_path: Path) -> None:
    org = json.loads(run("org", "create", "--name", "Acme", "--json", data_dir=tmp_path))
    assert json.loads(run("org", "list", "--json", data_dir=tmp_path))[0]["id"] == org["id"]
    made = json.loads(
        run(
            "token",
            "create",
            "--org",
            org["id"],
            "--name",
            "Entra",
            "--expires-days",
            "30",
            "--json",
            data_dir=tmp_path,
        )
    )
    assert made["token"].startswith("scimhub_") and made["expires_at"]
    listed = json.loads(run("token", "list", "--org", org["id"], "--json", data_dir=tmp_path))
    assert [t["id"] for t in listed] == [made["id"]]
    assert made["token"] not in json.dumps(listed)  # never shown again
    revoked = json.loads(
        run("token", "revoke", "--org", org["id"], made["id"], "--json", data_dir=tmp_path)
    )
    assert revoked["revoked_at"]
    from scimhub.api.services import Hub
    from scimhub.config import Settings

    hub = Hub.open(Settings(data_dir=tmp_path, token_cache_seconds=0))
    try:
        assert hub.tokens.authenticate(made["token"]) is None
    finally:
        hub.close()


def test_errors_are_clear(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMHUB_")}
    missing = runner.invoke(
        app, ["token", "create", "--org", "nope", "--data-dir", str(tmp_path)], env=env
    )
    assert missing.exit_code == 1 and "no organisation" in missing.output
    bad = runner.invoke(
        app,
        ["org", "list", "--data-dir", str(tmp_path)],
        env={**env, "SCIMHUB_MAX_PAGE_SIZE": "lots"},
    )
    assert bad.exit_code == 2 and "SCIMHUB_MAX_PAGE_SIZE" in bad.output


def test_worker_and_serve_refuse_what_cannot_work(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMHUB_")}
    on_sqlite = runner.invoke(app, ["worker"], env={**env, "SCIMHUB_DATA_DIR": str(tmp_path)})
    assert on_sqlite.exit_code == 2 and "postgresql" in on_sqlite.output
    pg = {**env, "SCIMHUB_DATABASE_URL": "postgresql://127.0.0.1:1/none"}
    odd = runner.invoke(app, ["worker"], env={**pg, "SCIMHUB_PULL_INTERVAL_SECONDS": "700"})
    assert odd.exit_code == 2 and "SCIMHUB_PULL_INTERVAL_SECONDS=700" in odd.output
    several = runner.invoke(app, ["serve", "--workers", "2", "--data-dir", str(tmp_path)], env=env)
    assert several.exit_code == 2 and "postgresql" in several.output


def test_a_flag_is_read_as_its_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A flag stands for its SCIMHUB_* variable: it wins over the environment and is read
    by the same rules, as the processes of `serve --workers` read it from the variable."""
    monkeypatch.setenv("SCIMHUB_PORT", "8001")
    settings = _settings(tmp_path, None, port=9000, public_url="https://hub.example/")
    assert settings.data_dir == tmp_path and settings.port == 9000
    assert settings.public_url == "https://hub.example"  # as SCIMHUB_PUBLIC_URL would be
