"""Secrets: `whsec_` secrets shown once, encrypted at rest (never in a row, a listing, a
repr), and rotated with both secrets signing for 24 hours."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from scimhub.api.services import Hub
from scimhub.config import ConfigError, Settings
from scimhub.delivery.endpoints import WebhookService
from scimhub.delivery.secrets import KEY_FILE, SecretBox, SecretUnreadable
from scimhub.store.tables import audit_events, webhook_endpoints
from tests.delivery.conftest import ADMIN, Hooks, make_service
from tests.delivery.receiver import Receiver


def test_the_secret_is_encrypted_at_rest_and_never_shown_again(
    hooks: Hooks, receiver: Receiver
) -> None:
    created = hooks.service.add(hooks.org_id, receiver.url, actor=ADMIN)
    secret = created.secret
    assert secret.startswith("whsec_") and len(Webhook(secret)._whsecret) == 32
    with hooks.hub.db.read() as conn:
        row = conn.execute(
            select(webhook_endpoints).where(webhook_endpoints.c.id == created.endpoint.id)
        ).one()
        audit = conn.execute(
            select(audit_events.c.detail).where(audit_events.c.target == created.endpoint.id)
        ).all()
    raw = " ".join(str(v) for v in row)
    assert secret not in raw and secret.removeprefix("whsec_") not in raw
    assert hooks.service.box.decrypt(row.secret_encrypted) == secret
    listed = hooks.service.endpoints(hooks.org_id)[0]
    for shown in (repr(listed), str(listed.as_json()), str(audit)):
        assert secret.removeprefix("whsec_") not in shown
        assert row.secret_encrypted not in shown


def test_during_a_rotation_both_secrets_verify_for_24_hours(
    hooks: Hooks, receiver: Receiver
) -> None:
    created = hooks.service.add(hooks.org_id, receiver.url, actor=ADMIN)
    old = created.secret
    rotated = hooks.service.rotate_secret(hooks.org_id, created.endpoint.id, actor=ADMIN)
    new = rotated.secret
    assert new != old and rotated.endpoint.previous_valid_until is not None
    grace = rotated.endpoint.previous_valid_until - hooks.clock()
    assert timedelta(hours=24) - timedelta(seconds=5) < grace <= timedelta(hours=24)
    hooks.emit(1)
    hooks.drain(created.endpoint.id, lambda: len(receiver.acknowledged) == 1)
    (got,) = receiver.requests
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):  # a receiver holding either accepts the message
        Webhook(secret).verify(got.body, got.headers)


def test_after_24_hours_only_the_new_secret_signs(hooks: Hooks, receiver: Receiver) -> None:
    created = hooks.service.add(hooks.org_id, receiver.url, actor=ADMIN)
    hooks.clock.at = hooks.clock() - timedelta(hours=24, minutes=1)  # rotated a day ago
    new = hooks.service.rotate_secret(hooks.org_id, created.endpoint.id, actor=ADMIN).secret
    hooks.clock.at = None
    hooks.emit(1)
    hooks.drain(created.endpoint.id, lambda: len(receiver.acknowledged) == 1)
    (got,) = receiver.requests
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(created.secret).verify(got.body, got.headers)


def test_on_sqlite_without_a_key_a_key_file_only_its_owner_reads(tmp_path: Path) -> None:
    box = SecretBox.open(Settings(data_dir=tmp_path))
    key = tmp_path / KEY_FILE
    assert box.configured and not key.exists()  # made when the first secret is stored
    token = box.encrypt("whsec_x")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    again = SecretBox.open(Settings(data_dir=tmp_path))  # the next start reads the same key
    assert again.decrypt(token) == "whsec_x"
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]
    key.unlink()  # lost: the secrets cannot be read, and no new key hides that
    with pytest.raises(SecretUnreadable, match=r"key file .* is missing"):
        SecretBox.open(Settings(data_dir=tmp_path)).decrypt(token)


def test_the_setting_holds_keys_and_a_new_one_goes_first(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old = SecretBox.open(Settings(data_dir=tmp_path, secret_key=first))
    token = old.encrypt("whsec_y")
    both = SecretBox.open(Settings(data_dir=tmp_path, secret_key=f"{second},{first}"))
    assert both.decrypt(token) == "whsec_y"
    assert not (tmp_path / KEY_FILE).exists()
    with pytest.raises(ConfigError, match="SCIMHUB_SECRET_KEY must be Fernet keys"):
        Settings.from_env({"SCIMHUB_SECRET_KEY": "not-a-key"})


def test_postgresql_needs_the_setting(hub: Hub, tmp_path: Path) -> None:
    pg = Settings(data_dir=tmp_path, database_url="postgresql://db/hub")
    box = SecretBox.open(pg)
    assert not box.configured and not (tmp_path / KEY_FILE).exists()
    with pytest.raises(ConfigError, match="SCIMHUB_SECRET_KEY is required with PostgreSQL"):
        box.encrypt("whsec_z")
    # a process that could not read the secrets the database holds refuses to start
    make_service(hub).add(hub.orgs.create("pg").id, "http://127.0.0.1:9/", actor=ADMIN)
    without_key = WebhookService(
        hub.webhooks.webhooks, box, hub.webhooks.deliverer, allow_private=True
    )
    with pytest.raises(ConfigError, match="SCIMHUB_SECRET_KEY is required"):
        without_key.check_startable()


def test_a_secret_under_another_key_is_a_failed_attempt_not_a_crash(
    hooks: Hooks, receiver: Receiver
) -> None:
    from cryptography.fernet import Fernet
    from sqlalchemy import update

    created = hooks.service.add(hooks.org_id, receiver.url, actor=ADMIN)
    foreign = Fernet(Fernet.generate_key()).encrypt(b"whsec_other").decode()
    with hooks.hub.db.write() as conn:
        conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == created.endpoint.id)
            .values(secret_encrypted=foreign)
        )
    hooks.emit(1)
    assert hooks.deliverer.run(created.endpoint.id).failed and not receiver.requests
    (attempt,) = hooks.service.deliveries(hooks.org_id, created.endpoint.id)
    assert attempt.error == "a webhook secret was encrypted with another SCIMHUB_SECRET_KEY"
    assert hooks.service.get(hooks.org_id, created.endpoint.id).next_attempt_at is not None
