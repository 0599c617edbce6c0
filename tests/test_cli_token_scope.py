"""`scimhub token create --scope read|write`: the scope is stored, printed and listed;
write stays the default; anything else is refused by the command line."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from scimhub.cli import app
from tests.test_cli import run

runner = CliRunner()


def test_token_scope_is_chosen_at_creation_and_listed(tmp_path: Path) -> None:
    org = json.loads(run("org", "create", "--name", "Readers", "--json", data_dir=tmp_path))
    read = json.loads(
        run("token", "create", "--org", org["id"], "--scope", "read", "--json", data_dir=tmp_path)
    )
    assert read["scope"] == "read" and read["kind"] == "scim"
    admin = json.loads(
        run(
            "token",
            "create",
            "--org",
            org["id"],
            "--admin",
            "--scope",
            "read",
            "--json",
            data_dir=tmp_path,
        )
    )
    assert (admin["kind"], admin["scope"]) == ("admin", "read")
    default = json.loads(run("token", "create", "--org", org["id"], "--json", data_dir=tmp_path))
    assert default["scope"] == "write"
    listed = json.loads(run("token", "list", "--org", org["id"], "--json", data_dir=tmp_path))
    assert {t["id"]: t["scope"] for t in listed} == {
        read["id"]: "read",
        admin["id"]: "read",
        default["id"]: "write",
    }
    table = run("token", "list", "--org", org["id"], data_dir=tmp_path)
    assert "scope" in table and "read" in table
    printed = run("token", "create", "--org", org["id"], "--scope", "read", data_dir=tmp_path)
    assert "scope read" in printed


def test_an_unknown_scope_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMHUB_")}
    bad = runner.invoke(
        app,
        ["token", "create", "--org", "x", "--scope", "admin", "--data-dir", str(tmp_path)],
        env=env,
    )
    assert bad.exit_code == 2 and "--scope" in bad.output
