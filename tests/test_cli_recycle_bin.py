"""`scimhub user|group deleted|restore`: the recycle bin from the command line, with --json,
and a refusal (not in the bin, name taken meanwhile) as exit 1 with the reason."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from scimhub.api.services import Hub
from scimhub.cli import app
from scimhub.config import Settings
from scimhub.directory.locator import Locator

runner = CliRunner()
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _invoke(*args: str, data_dir: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMHUB_")}
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=env)
    return result.exit_code, result.output


def test_deleted_users_and_groups_are_listed_and_restored(tmp_path: Path) -> None:
    hub = Hub.open(Settings(data_dir=tmp_path, token_cache_seconds=0))
    try:
        org = hub.orgs.create("Acme").id
        loc = Locator("", org)
        user = hub.users.create(org, {"schemas": [USER], "userName": "ann"}, loc)
        group = hub.groups.create(
            org,
            {"schemas": [GROUP], "displayName": "Team", "members": [{"value": user["id"]}]},
            loc,
        )
        hub.groups.delete(org, group["id"])
        hub.users.delete(org, user["id"])
        hub.users.create(org, {"schemas": [USER], "userName": "ANN"}, loc)  # the name, again
    finally:
        hub.close()

    code, out = _invoke("user", "deleted", "--org", org, "--json", data_dir=tmp_path)
    assert code == 0 and [d["id"] for d in json.loads(out)] == [user["id"]]
    code, out = _invoke("user", "restore", "--org", org, user["id"], "--json", data_dir=tmp_path)
    assert code == 1 and "userName 'ann' now belongs to user" in " ".join(out.split())

    code, out = _invoke("group", "deleted", "--org", org, data_dir=tmp_path)
    assert code == 0 and group["id"] in out
    code, out = _invoke("group", "restore", "--org", org, group["id"], "--json", data_dir=tmp_path)
    assert code == 0, out
    restored = json.loads(out)
    assert restored["id"] == group["id"] and restored["displayName"] == "Team"
    assert restored.get("members", []) == []  # Ann is still in the bin, so she is skipped

    code, out = _invoke("group", "restore", "--org", org, group["id"], data_dir=tmp_path)
    assert code == 1 and "not in the recycle bin" in out
