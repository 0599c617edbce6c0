"""`scimhub attribute add|list|remove`: defining, listing and removing an organisation's
attributes from the command line; a bad definition is exit 2, a held one exit 1 unless
--purge."""

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
EXT = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


def _invoke(*args: str, data_dir: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMHUB_")}
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=env)
    return result.exit_code, result.output


def test_attributes_are_defined_listed_and_removed(tmp_path: Path) -> None:
    hub = Hub.open(Settings(data_dir=tmp_path, token_cache_seconds=0))
    try:
        org = hub.orgs.create("Acme").id
    finally:
        hub.close()
    add = ("attribute", "add", "--org", org, "--resource", "User", "--schema", EXT)
    code, out = _invoke(
        *add, "--name", "badge", "--type", "integer", "--unique", "--json", data_dir=tmp_path
    )
    assert code == 0, out
    badge = json.loads(out)
    assert (badge["path"], badge["type"], badge["uniqueness"]) == (
        f"{EXT}:badge",
        "integer",
        "server",
    )
    code, out = _invoke(*add, "--name", "badge", data_dir=tmp_path)
    assert code == 1 and "already defined" in out
    code, out = _invoke(*add, "--name", "x", "--type", "colour", data_dir=tmp_path)
    assert code == 2 and "'type' must be one of" in out
    code, out = _invoke("attribute", "list", "--org", org, "--json", data_dir=tmp_path)
    assert code == 0 and [a["id"] for a in json.loads(out)] == [badge["id"]]

    hub = Hub.open(Settings(data_dir=tmp_path, token_cache_seconds=0))
    try:
        user = hub.users.create(
            org, {"schemas": [USER, EXT], "userName": "ann", EXT: {"badge": 7}}, Locator("", org)
        )
    finally:
        hub.close()
    remove = ("attribute", "remove", "--org", org, badge["id"])
    code, out = _invoke(*remove, data_dir=tmp_path)
    assert code == 1 and "hold a value" in out
    code, out = _invoke(*remove, "--purge", "--json", data_dir=tmp_path)
    assert code == 0 and json.loads(out)["cleared"] == 1

    hub = Hub.open(Settings(data_dir=tmp_path, token_cache_seconds=0))
    try:
        assert EXT not in hub.users.get(org, user["id"], Locator("", org))
        assert hub.attributes.definitions(org) == []
    finally:
        hub.close()


def test_the_undeclared_setting_is_shown_and_changed(tmp_path: Path) -> None:
    hub = Hub.open(Settings(data_dir=tmp_path, token_cache_seconds=0, schema_cache_seconds=0))
    try:
        org = hub.orgs.create("Acme").id
    finally:
        hub.close()
    show = ("attribute", "undeclared", "--org", org, "--json")
    assert json.loads(_invoke(*show, data_dir=tmp_path)[1]) == {"undeclared": "refuse"}
    code, out = _invoke("attribute", "undeclared", "--org", org, "keep", data_dir=tmp_path)
    assert code == 0 and "keep" in out
    assert json.loads(_invoke(*show, data_dir=tmp_path)[1]) == {"undeclared": "keep"}
    code, out = _invoke("attribute", "undeclared", "--org", org, "maybe", data_dir=tmp_path)
    assert code == 2 and "refuse or keep" in out

    hub = Hub.open(Settings(data_dir=tmp_path, token_cache_seconds=0, schema_cache_seconds=0))
    try:  # what SCIM now accepts, and the audit trail of the change
        kept = hub.users.create(
            org,
            {"schemas": [USER, EXT], "userName": "ann", EXT: {"shoeSize": "42"}},
            Locator("", org),
        )
        assert kept[EXT] == {"shoeSize": "42"}
        changed, total = hub.audit.events(org, action="Undeclared attributes setting changed")
    finally:
        hub.close()
    assert total == 1 and changed[0].actor == "scimhub attribute (command line)"
