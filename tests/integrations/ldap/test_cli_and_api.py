"""The LDAP source from the command line (`scimhub ldap add --password-stdin`, `ldap
test`, `scimhub sync`, `ldap dry-run`) and from the admin API (`/api/v1/orgs/{orgId}/ldap`),
against slapd: the password is never shown again, a dry run writes nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from scimhub.api.services import Hub
from scimhub.cli import app
from scimhub.config import Settings
from scimhub.directory.tokens import TokenKind
from tests.conftest import OrgClient

from .conftest import openldap_settings
from .server import BIND_DN, BIND_PASSWORD, Slapd

pytestmark = pytest.mark.ldap
runner = CliRunner()


def _people(slapd: Slapd, ou: str, *uids: str) -> None:
    for uid in uids:
        slapd.add(
            f"uid={uid},ou=people,{ou}",
            {
                "objectClass": ["inetOrgPerson"],
                "uid": uid,
                "cn": uid,
                "sn": uid,
                "mail": f"{uid}@x.example",
            },
        )


def _invoke(*args: str, data_dir: Path, stdin: str | None = None) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMHUB_")}
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=env, input=stdin)
    return result.exit_code, result.output


def test_the_command_line(tmp_path: Path, slapd: Slapd, ou: str) -> None:
    _people(slapd, ou, "adele", "bob")
    hub = Hub.open(Settings(data_dir=tmp_path, token_cache_seconds=0))
    try:
        org = hub.orgs.create("Acme").id
    finally:
        hub.close()
    code, out = _invoke(
        "ldap", "add", "--org", org, "--url", slapd.url, "--no-starttls",
        "--bind-dn", BIND_DN, "--password-stdin",
        "--user-base", f"ou=people,{ou}", "--group-base", f"ou=groups,{ou}",
        "--preset", "openldap", "--json",
        data_dir=tmp_path,
        stdin=BIND_PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, out
    added = json.loads(out)
    assert added["preset"] == "openldap" and added["passwordSet"] is True
    assert BIND_PASSWORD not in out
    code, out = _invoke("ldap", "test", "--org", org, "--json", data_dir=tmp_path)
    assert code == 0, out
    assert json.loads(out)["usersSampled"] == 2
    code, out = _invoke("ldap", "dry-run", "--org", org, "--json", data_dir=tmp_path)
    assert code == 0, out
    assert json.loads(out)["users"]["create"] == 2
    code, out = _invoke("sync", "--org", org, "--json", data_dir=tmp_path)
    assert code == 0, out
    assert json.loads(out)[added["id"]]["users_created"] == 2
    code, out = _invoke("ldap", "dry-run", "--org", org, "--json", data_dir=tmp_path)
    assert json.loads(out)["users"]["create"] == 0
    code, out = _invoke("ldap", "show", "--org", org, "--json", data_dir=tmp_path)
    assert BIND_PASSWORD not in out and json.loads(out)["lastRound"]["users_created"] == 2
    # a wrong password: test fails (exit 1), and says so
    code, out = _invoke(
        "ldap", "set", "--org", org, "--password-stdin", data_dir=tmp_path, stdin="wrong\n"
    )
    assert code == 0, out
    code, out = _invoke("ldap", "test", "--org", org, data_dir=tmp_path)
    assert code == 1 and "refused the bind" in out


def test_the_admin_api(
    hub: Hub, org: OrgClient, app_client: TestClient, slapd: Slapd, ou: str
) -> None:
    _people(slapd, ou, "adele", "bob", "carol")
    secret, _ = hub.tokens.create(org.org_id, kind=TokenKind.ADMIN)
    auth = {"Authorization": f"Bearer {secret}"}
    base = f"/api/v1/orgs/{org.org_id}/ldap"
    assert app_client.get(base, headers=auth).json()["error"]["message"][0]["code"] == "701110"
    body = {**openldap_settings(slapd, ou), "password": BIND_PASSWORD, "name": "Corp LDAP"}
    created = app_client.put(base, json=body, headers=auth)
    assert created.status_code == 201, created.text
    assert "password" not in created.json() and BIND_PASSWORD not in created.text
    assert app_client.post(f"{base}/test", headers=auth).json()["ok"] is True
    bad = app_client.post(f"{base}/test", json={"password": "nope"}, headers=auth).json()
    assert bad["ok"] is False and bad["error"]["code"] == "701103"
    dry = app_client.post(f"{base}/dryRun", json={}, headers=auth).json()
    assert dry["round"] == "full" and dry["users"]["create"] == 3
    assert org.get("/Users").json()["totalResults"] == 0  # a dry run writes nothing
    counts = app_client.post(f"{base}/sync", headers=auth).json()["counts"]
    assert counts["users_created"] == 3
    changed = app_client.put(base, json={"pageSize": 2}, headers=auth)
    assert changed.status_code == 200 and changed.json()["pageSize"] == 2
    refused = app_client.put(base, json={"url": "http://x"}, headers=auth)
    assert refused.status_code == 400 and refused.json()["error"]["message"][0]["code"] == "701107"
    held = app_client.get(f"{base}/heldRemovals", headers=auth).json()
    assert held["total"] == 0
    assert (
        app_client.get(f"{base}/presets", headers=auth).json()["presets"]["ad"]["idAttribute"]
        == "objectGUID"
    )
    assert app_client.delete(base, headers=auth).status_code == 204
    assert org.get("/Users").json()["totalResults"] == 3  # the users stay
