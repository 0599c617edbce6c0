"""Webhook secrets at rest: encrypted with Fernet (AES-128-CBC and HMAC-SHA256, from
`cryptography`), never stored in the clear. The hub must sign with the secret itself, so
hashing it (as tokens are) is not an option; a copy of the database without the key
reveals nothing.

The key: SCIMHUB_SECRET_KEY (Fernet keys, comma-separated: the first encrypts, all of them
decrypt, so a key is replaced by putting the new one first). Unset on SQLite (one process
and its data directory): a key file made on first use in the data directory, readable by
its owner only. On PostgreSQL several processes, possibly on several machines, must share
the key, so the setting is required there: without it no secret can be stored, and a
process refuses to start while the database holds secrets it could not read.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from secrets import token_hex

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..config import ConfigError, Settings

KEY_FILE = "secret.key"
NEEDS_KEY = (
    "SCIMHUB_SECRET_KEY is required with PostgreSQL (every process must encrypt and read "
    'webhook secrets with the same key); make one with `python -c "from '
    'cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`'
)


class SecretUnreadable(Exception):
    """A stored secret was encrypted with a key this process does not have."""


class SecretBox:
    """Encrypts and decrypts secrets with the setting's keys or, on SQLite without it, the
    data directory's key file, made when the first secret is stored (a hub that never
    stores one leaves no key file behind)."""

    def __init__(self, fernet: MultiFernet | None, key_dir: Path | None = None) -> None:
        self._fernet = fernet
        self._key_dir = key_dir
        self._lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings) -> SecretBox:
        keys = settings.secret_keys
        if keys:
            return cls(MultiFernet([Fernet(k) for k in keys]))
        if settings.effective_database_url.startswith("postgresql"):
            return cls(None)
        return cls(None, settings.data_dir)

    @property
    def configured(self) -> bool:
        return self._fernet is not None or self._key_dir is not None

    def encrypt(self, plain: str) -> str:
        return self._keys(make=True).encrypt(plain.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._keys(make=False).decrypt(token.encode("ascii")).decode()
        except InvalidToken:
            raise SecretUnreadable(
                "a webhook secret was encrypted with another SCIMHUB_SECRET_KEY"
            ) from None

    def _keys(self, *, make: bool) -> MultiFernet:
        if self._fernet is not None:
            return self._fernet
        if self._key_dir is None:
            raise ConfigError(NEEDS_KEY)
        with self._lock:
            if self._fernet is None:
                path = self._key_dir / KEY_FILE
                if not make and not path.exists():
                    raise SecretUnreadable(
                        f"the key file {path} is missing: the stored webhook secrets cannot "
                        "be read (restore it, or rotate each endpoint's secret)"
                    )
                self._fernet = MultiFernet([Fernet(key_file(self._key_dir))])
            return self._fernet

    def __repr__(self) -> str:
        return f"SecretBox(configured={self.configured})"


def key_file(data_dir: Path) -> bytes:
    """The data directory's key, made on first use (mode 0600). Made under a temporary
    name and linked into place, so two processes starting at once agree on one key and
    neither reads a half-written file."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        temp = data_dir / f".{KEY_FILE}.{token_hex(8)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(Fernet.generate_key())
            with contextlib.suppress(FileExistsError):  # another made it first: theirs
                os.link(temp, path)
        finally:
            temp.unlink(missing_ok=True)
    return path.read_bytes().strip()
