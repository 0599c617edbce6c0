"""`scimhub webhook ...` on the same data as `serve`: add (the secret once), list, test,
rotate-secret, replay, disable/enable, deliveries, remove."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from scimhub.cli import app
from tests.delivery.receiver import Receiver

runner = CliRunner()


def run(*args: str, data_dir: Path, code: int = 0, private: bool = True) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMHUB_")}
    if private:
        env["SCIMHUB_WEBHOOK_ALLOW_PRIVATE"] = "true"
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=env)
    assert result.exit_code == code, result.output
    return result.stdout


def test_webhook_commands(tmp_path: Path, receiver: Receiver) -> None:
    org = json.loads(run("org", "create", "--name", "Acme", "--json", data_dir=tmp_path))["id"]
    added = json.loads(
        run(
            "webhook", "add", "--org", org, "--url", receiver.url,
            "--event-types", "user.created,group.created", "--json",
            data_dir=tmp_path,
        )
    )  # fmt: skip
    assert added["secret"].startswith("whsec_") and added["id"]
    assert added["eventTypes"] == ["group.created", "user.created"]
    receiver.secrets = [added["secret"]]
    endpoint = added["id"]

    listed = json.loads(run("webhook", "list", "--org", org, "--json", data_dir=tmp_path))
    assert [e["id"] for e in listed] == [endpoint] and "secret" not in listed[0]
    assert added["secret"] not in run("webhook", "list", "--org", org, data_dir=tmp_path)

    tested = json.loads(run("webhook", "test", "--org", org, endpoint, "--json", data_dir=tmp_path))
    assert tested["statusCode"] == 200 and not receiver.bad_signatures

    rotated = json.loads(
        run("webhook", "rotate-secret", "--org", org, endpoint, "--json", data_dir=tmp_path)
    )
    assert rotated["secret"] != added["secret"] and rotated["previousSecretValidUntil"]

    replayed = json.loads(
        run("webhook", "replay", "--org", org, endpoint, "--since", "2h", "--json",
            data_dir=tmp_path)
    )  # fmt: skip
    assert replayed["id"] == endpoint
    off = json.loads(run("webhook", "disable", "--org", org, endpoint, "--json", data_dir=tmp_path))
    assert off["status"] == "disabled"
    on = json.loads(run("webhook", "enable", "--org", org, endpoint, "--json", data_dir=tmp_path))
    assert on["enabled"] is True
    history = json.loads(
        run("webhook", "deliveries", "--org", org, endpoint, "--json", data_dir=tmp_path)
    )
    assert [d["outcome"] for d in history] == ["test"]

    run("webhook", "remove", "--org", org, endpoint, data_dir=tmp_path)
    assert json.loads(run("webhook", "list", "--org", org, "--json", data_dir=tmp_path)) == []
    run("webhook", "remove", "--org", org, endpoint, data_dir=tmp_path, code=1)


def test_refusals_exit_2(tmp_path: Path) -> None:
    org = json.loads(run("org", "create", "--name", "Acme", "--json", data_dir=tmp_path))["id"]
    out = run(
        "webhook", "add", "--org", org, "--url", "https://127.0.0.1/x",
        data_dir=tmp_path, code=2, private=False,
    )  # fmt: skip
    assert "loopback" in out
    out = run(
        "webhook", "add", "--org", org, "--url", "https://93.184.215.14/",
        "--event-types", "user.nope", data_dir=tmp_path, code=2,
    )  # fmt: skip
    assert "unknown event type" in out
    run("webhook", "add", "--org", "nope", "--url", "https://93.184.215.14/",
        data_dir=tmp_path, code=1)  # fmt: skip
    run("webhook", "replay", "--org", org, "x", "--since", "yesterday", data_dir=tmp_path, code=2)
