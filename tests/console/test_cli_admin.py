"""`scimhub admin create|list`: the password comes from standard input, never argv."""

from __future__ import annotations

import json
import uuid

from typer.testing import CliRunner

from scimhub.api.services import Hub
from scimhub.cli import app
from scimhub.config import Settings
from tests.conftest import OrgClient

from .conftest import PASSWORD


def run(settings: Settings, *args: str, stdin: str = "") -> tuple[int, str]:
    env = {
        "SCIMHUB_DATA_DIR": str(settings.data_dir),
        "SCIMHUB_DATABASE_URL": settings.database_url,
    }
    result = CliRunner().invoke(app, list(args), input=stdin, env=env)
    return result.exit_code, result.output


def test_admin_create_reads_the_password_from_stdin(
    settings: Settings, hub: Hub, org: OrgClient
) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    code, out = run(
        settings,
        "admin",
        "create",
        "--org",
        org.org_id,
        "--email",
        email,
        "--role",
        "readonly",
        "--password-stdin",
        "--json",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, out
    created = json.loads(out)
    assert created["role"] == "readonly" and created["email"] == email
    assert hub.admins.check_password(email, PASSWORD).admin is not None
    code, out = run(settings, "admin", "list", "--org", org.org_id, "--json")
    assert [a["email"] for a in json.loads(out)] == [email]


def test_admin_create_refuses_bad_input(settings: Settings, org: OrgClient) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    args = ["admin", "create", "--org", org.org_id, "--email", email, "--password-stdin"]
    assert run(settings, *args, "--role", "owner", stdin=PASSWORD)[0] == 2
    assert run(settings, *args, stdin="short\n")[0] == 2
    assert (
        run(
            settings,
            "admin",
            "create",
            "--org",
            "no-such-org",
            "--email",
            email,
            "--password-stdin",
            stdin=PASSWORD,
        )[0]
        == 1
    )
    assert run(settings, *args, stdin=PASSWORD)[0] == 0
    code, out = run(settings, *args, stdin=PASSWORD)  # the email is taken now
    assert code == 2 and "already exists" in out


def test_admin_create_takes_an_email_another_org_has(
    settings: Settings, hub: Hub, org: OrgClient
) -> None:
    """Accounts belong to their org: the other org's account is neither refused nor named."""
    other = hub.orgs.create("Org B")
    email = f"bob-{uuid.uuid4().hex[:8]}@b.example"
    hub.admins.create(other.id, email, PASSWORD, "admin", "Bob of B")
    args = ["admin", "create", "--org", org.org_id, "--email", email.upper(), "--password-stdin"]
    code, out = run(settings, *args, stdin=PASSWORD)
    assert code == 0, out
    assert other.id not in out and "Bob of B" not in out
    code, out = run(settings, *args, stdin=PASSWORD)  # now this org has it
    assert code == 2 and "already exists in this organization" in " ".join(out.split())
    assert other.id not in out
    assert {a.org_id for a in hub.admins.candidates(email)} == {other.id, org.org_id}
