"""`scimhub deletions held|approve|discard|threshold`: the deletion brake from the command
line, with --json; a bad threshold is exit 2, an unknown instance exit 1."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from typer.testing import CliRunner

from scimhub.api.services import Hub
from scimhub.cli import app
from scimhub.config import Settings
from scimhub.directory.deletion_brake import Action, Noted, Threshold
from scimhub.directory.events import Source, SourceKind, caused_by
from scimhub.directory.instances import Mode
from scimhub.directory.locator import Locator

runner = CliRunner()
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def _invoke(*args: str, data_dir: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMHUB_")}
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=env)
    return result.exit_code, result.output


def test_held_removals_are_listed_and_decided(tmp_path: Path) -> None:
    hub = Hub.open(Settings(data_dir=tmp_path, token_cache_seconds=0))
    try:
        org = hub.orgs.create("Acme").id
        loc = Locator("", org)
        instance = hub.instances.create(
            org,
            str(uuid.uuid4()),
            name="Contoso",
            mode=Mode.PULL,
            scope="all",
            mappings=[],
            auto_sync=False,
        )
        ids = [
            hub.users.create(org, {"schemas": [USER], "userName": f"u{i}"}, loc)["id"]
            for i in range(4)
        ]
    finally:
        hub.close()

    code, out = _invoke(
        "deletions",
        "threshold",
        "--org",
        org,
        "--instance",
        instance.id,
        "--count",
        "2",
        "--percent",
        "0",
        "--json",
        data_dir=tmp_path,
    )
    assert code == 0, out
    assert json.loads(out) == {"enabled": True, "count": 2, "percent": None, "windowMinutes": 60}
    code, out = _invoke("deletions", "threshold", "--org", org, "--count", "0", data_dir=tmp_path)
    assert code == 2 and "'count' must be a whole number" in out
    code, out = _invoke("deletions", "held", "--org", org, "--instance", "nope", data_dir=tmp_path)
    assert code == 1 and "not found" in out

    hub = Hub.open(Settings(data_dir=tmp_path, token_cache_seconds=0))
    try:
        found = hub.instances.get(org, instance.id)
        assert found is not None and hub.brake.threshold(found) == Threshold(count=2, percent=None)
        hub.brake.note(
            found, [Noted(f"o{i}", "User", rid, Action.DELETE) for i, rid in enumerate(ids[:3])]
        )
        assert hub.brake.settle(found, loc).held == 3
    finally:
        hub.close()

    code, out = _invoke(
        "deletions", "held", "--org", org, "--instance", instance.id, "--json", data_dir=tmp_path
    )
    assert code == 0 and json.loads(out)["total"] == 3
    assert {r["name"] for r in json.loads(out)["removals"]} == {"u0", "u1", "u2"}
    code, out = _invoke(
        "deletions",
        "approve",
        "--org",
        org,
        "--instance",
        instance.id,
        "--json",
        data_dir=tmp_path,
    )
    assert code == 0 and json.loads(out) == {"approved": 3}
    code, out = _invoke("deletions", "threshold", "--org", org, "--off", data_dir=tmp_path)
    assert code == 0 and "deletion threshold: off" in out

    hub = Hub.open(Settings(data_dir=tmp_path, token_cache_seconds=0))
    try:
        assert hub.users.get(org, ids[3], loc)["userName"] == "u3"
        assert hub.recycle_bin.entries(org, "User")[1] == 3  # approved: deleted, in the bin
    finally:
        hub.close()


def test_bursts_are_listed_and_restored(tmp_path: Path) -> None:
    hub = Hub.open(Settings(data_dir=tmp_path, token_cache_seconds=0))
    try:
        org = hub.orgs.create("Acme").id
        loc = Locator("", org)
        _, token = hub.tokens.create(org, name="Entra provisioning (contoso)")
        instance = hub.instances.create(
            org,
            str(uuid.uuid4()),
            name="Contoso",
            mode=Mode.PUSH,
            scope="assigned",
            mappings=[],
            auto_sync=True,
            scim_token_id=token.id,
            deletion_threshold=Threshold(count=1, percent=None).as_json(),
        )
        hub.bursts.scan(instance)
        with caused_by(Source(SourceKind.SCIM, token.name, token.id, "T_1")):
            for i in range(2):
                user = hub.users.create(org, {"schemas": [USER], "userName": f"x{i}"}, loc)
                hub.users.delete(org, user["id"])
        burst = hub.bursts.scan(instance)
        assert burst is not None
    finally:
        hub.close()

    code, out = _invoke("deletions", "bursts", "--org", org, "--json", data_dir=tmp_path)
    assert code == 0 and [b["id"] for b in json.loads(out)] == [burst.id]
    code, out = _invoke("deletions", "bursts", "--org", org, "--state", "x", data_dir=tmp_path)
    assert code == 2
    code, out = _invoke(
        "deletions", "restore-burst", "--org", org, burst.id, "--json", data_dir=tmp_path
    )
    assert code == 0 and json.loads(out) == {
        "usersRestored": 2,
        "usersReactivated": 0,
        "skipped": 0,
    }
    code, out = _invoke("deletions", "dismiss-burst", "--org", org, burst.id, data_dir=tmp_path)
    assert code == 1 and "restored already" in out
