"""The operator's side of the CLI: `token create --operator --json` makes the token the
operator API takes (stored hashed, listed without its secret, revocable), an operator token
is never an organisation's (`--org` with `--operator`, or `--admin`, is refused), and `org
export` / `org delete --yes` do what the API's routes do, audited in the hub's own trail."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from scimhub.api.services import Hub
from scimhub.app import create_app
from scimhub.cli import app
from scimhub.config import Settings
from scimhub.store.tables import tokens

runner = CliRunner()


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SCIMHUB_")}


def run(*args: str, data_dir: Path, code: int = 0) -> str:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=_env())
    assert result.exit_code == code, result.output
    return result.stdout


def test_an_operator_token_from_the_cli_opens_the_operator_api(tmp_path: Path) -> None:
    made = json.loads(run("token", "create", "--operator", "--json", data_dir=tmp_path))
    assert made["token"].startswith("scimhub_") and made["kind"] == "operator"
    assert made["org_id"] is None
    listed = json.loads(run("token", "list", "--operator", "--json", data_dir=tmp_path))
    assert [(t["id"], t["kind"]) for t in listed] == [(made["id"], "operator")]
    assert made["token"] not in json.dumps(listed)
    settings = Settings(data_dir=tmp_path, token_cache_seconds=0)
    hub = Hub.open(settings)
    try:
        with hub.db.read() as conn:
            stored = conn.execute(select(tokens).where(tokens.c.id == made["id"])).one()
        assert made["token"] not in json.dumps(stored._asdict(), default=str)  # hashed
        with TestClient(create_app(settings, hub=hub), base_url="http://127.0.0.1:8000") as http:
            auth = {"Authorization": f"Bearer {made['token']}"}
            created = http.post("/api/v1/orgs", json={"name": "Acme"}, headers=auth)
            assert created.status_code == 201, created.text
            run("token", "revoke", "--operator", made["id"], data_dir=tmp_path)
            assert http.get("/api/v1/orgs", headers=auth).status_code == 401
    finally:
        hub.close()


def test_an_operator_token_is_never_an_organisations(tmp_path: Path) -> None:
    org = json.loads(run("org", "create", "--name", "Acme", "--json", data_dir=tmp_path))
    run("token", "create", "--operator", "--org", org["id"], data_dir=tmp_path, code=2)
    run("token", "create", "--operator", "--admin", data_dir=tmp_path, code=2)
    run("token", "create", data_dir=tmp_path, code=2)  # neither
    run("token", "list", data_dir=tmp_path, code=2)


def test_org_export_then_delete(tmp_path: Path) -> None:
    org = json.loads(run("org", "create", "--name", "Acme", "--json", data_dir=tmp_path))
    out = tmp_path / "acme.json"
    run("org", "export", "--org", org["id"], "--output", str(out), data_dir=tmp_path)
    exported = json.loads(out.read_text())
    assert exported["org"]["name"] == "Acme" and exported["users"] == []
    run("org", "delete", "--org", org["id"], data_dir=tmp_path, code=2)  # no --yes
    gone = json.loads(
        run("org", "delete", "--org", org["id"], "--yes", "--json", data_dir=tmp_path)
    )
    assert gone["removed"]["orgs"] == 1
    assert json.loads(run("org", "list", "--json", data_dir=tmp_path)) == []
    run("org", "delete", "--org", org["id"], "--yes", data_dir=tmp_path, code=1)
    hub = Hub.open(Settings(data_dir=tmp_path))
    try:
        trail, _ = hub.audit.platform_events()
        assert [(e.action, e.actor) for e in reversed(trail)] == [
            ("org.created", "cli"),
            ("org.exported", "cli"),
            ("org.deleted", "cli"),
        ]
    finally:
        hub.close()
