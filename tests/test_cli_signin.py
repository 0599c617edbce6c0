"""`scimhub signin configure|show`: the operator sets an org's sign-in with Microsoft, and
can always switch its local passwords back on (the break-glass path)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from typer.testing import CliRunner

from scimhub.api.services import Hub
from scimhub.cli import app
from scimhub.config import Settings

runner = CliRunner()
TENANT = "0c7ad2c0-7fd5-4a24-8a2c-6d9b2f0a3a11"


def _invoke(*args: str, data_dir: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMHUB_")}
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=env)
    return result.exit_code, result.output


def test_configure_show_and_break_glass(tmp_path: Path) -> None:
    hub = Hub.open(Settings(data_dir=tmp_path, token_cache_seconds=0))
    try:
        org = hub.orgs.create("Acme").id
    finally:
        hub.close()
    configure = ("signin", "configure", "--org", org)
    code, out = _invoke(*configure, "--enable", data_dir=tmp_path)
    assert code == 2 and "give --tenant" in out  # no connected tenant to default to
    code, out = _invoke(*configure, "--local-passwords", "off", data_dir=tmp_path)
    assert code == 2 and "only while sign-in with Microsoft is on" in out
    group = str(uuid.uuid4())
    code, out = _invoke(
        *configure,
        *("--enable", "--tenant", TENANT, "--roles-from", "groups"),
        *("--admin-group", group, "--local-passwords", "off", "--json"),
        data_dir=tmp_path,
    )
    assert code == 0, out
    shown = json.loads(out)
    assert shown["enabled"] and shown["tenant_id"] == TENANT and shown["admin_groups"] == [group]
    assert shown["local_passwords"] is False and shown["roles_from"] == "groups"
    code, out = _invoke(*configure, "--disable", data_dir=tmp_path)
    assert code == 2  # passwords are off: disabling would leave no way in
    code, out = _invoke(*configure, "--local-passwords", "on", data_dir=tmp_path)
    assert code == 0, out
    code, out = _invoke("signin", "show", "--org", org, "--json", data_dir=tmp_path)
    assert code == 0 and json.loads(out)["local_passwords"] is True
    code, out = _invoke("signin", "show", "--org", str(uuid.uuid4()), data_dir=tmp_path)
    assert code == 1 and "no organisation" in out
