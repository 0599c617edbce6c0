"""What every route needs, built once at start and read-only afterwards."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select

from .apps import ensure_console_app, ensure_publisher
from .db import open_engine
from .keys import SigningKey, load_signing_key
from .schema import settings

DEFAULT_CYCLE_SECONDS = 40 * 60


@dataclass(frozen=True)
class Emulator:
    data_dir: Path
    engine: Engine
    key: SigningKey
    base_url: str
    session_secret: bytes  # signs admin sessions and consent CSRF tokens
    cycle_seconds: float = DEFAULT_CYCLE_SECONDS
    push_concurrency: int = 32  # SCIM requests in flight per provisioning cycle
    target_ca: str | None = None  # extra CA bundle to trust for HTTPS SCIM targets


def _session_secret(engine: Engine) -> bytes:
    with engine.begin() as conn:
        row = conn.execute(select(settings).where(settings.c.key == "session_secret")).first()
        if row is None:
            value = secrets.token_hex(32)
            conn.execute(settings.insert().values(key="session_secret", value=value))
            return bytes.fromhex(value)
        return bytes.fromhex(row.value)


def open_data_dir(data_dir: Path) -> Engine:
    """Open (creating on first use) the data directory's database and publisher tenant."""
    engine = open_engine(data_dir)
    with engine.begin() as conn:
        ensure_publisher(conn, data_dir)
        ensure_console_app(conn, data_dir)
    return engine


def build(
    data_dir: Path,
    base_url: str,
    *,
    cycle_seconds: float = DEFAULT_CYCLE_SECONDS,
    push_concurrency: int = 32,
    target_ca: str | None = None,
) -> Emulator:
    engine = open_data_dir(data_dir)
    return Emulator(
        data_dir,
        engine,
        load_signing_key(data_dir),
        base_url.rstrip("/"),
        _session_secret(engine),
        cycle_seconds,
        push_concurrency,
        target_ca,
    )
