"""The check that no log line holds a secret, run under the whole suite (tests/conftest.py):
every record of the `scimhub` loggers is formatted as production writes it (JSON, with
its traceback) and searched, as it is emitted, for

- the shapes of the hub's secrets: a whole hub token (`scimhub_` + 43 characters; a log may
  name its 16-character prefix), a webhook signing secret (`whsec_...`), a bearer
  credential, a `Cookie`/`Set-Cookie` header, the session cookie;
- the secrets the tests actually use, collected where the hub receives them: every
  password it hashes or verifies (SCIM users, console admins), every session cookie and
  CSRF token it issues, and the keys and client secrets of every hub it opens.

Searching costs one regex pass per line, a set lookup per long random-looking word and a
substring test per password collected.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from argon2 import PasswordHasher

from scimhub.api.services import Hub
from scimhub.config import Settings
from scimhub.directory import admins as admins_module
from scimhub.directory import users as users_module
from scimhub.directory.admins import AdminInfo
from scimhub.directory.sessions import SessionInfo, Sessions, SignInMethod
from scimhub.logs import JsonFormatter

SHAPES = re.compile(
    r"scimhub_[A-Za-z0-9_-]{40,}"  # a whole hub token
    r"|whsec_[A-Za-z0-9+/=]{16,}"  # a webhook signing secret
    r"|(?i:\bbearer\s+[A-Za-z0-9._~+/=-]{12,})"  # an Authorization header's credential
    r"|(?i:\b(?:set-)?cookie\s*[:=])"  # a Cookie or Set-Cookie header
    r"|scimhub_session="  # the console's session cookie
)
# Random secrets (token_urlsafe, Fernet keys) are words of these characters.
_WORD = re.compile(r"[A-Za-z0-9_=+/-]{16,}")
MIN_PASSWORD = 8  # shorter test passwords ("x") are in every line by chance


class SecretScanner(logging.Handler):
    """Collects the secrets the hub is handed and the log lines that show one."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.words: set[str] = set()  # random secrets: looked up word by word
        self.lengths: set[int] = set()
        self.passwords: set[str] = set()  # any text: looked for as substrings
        self.leaks: list[str] = []
        self.lines = 0
        self._guard = threading.Lock()

    # -- what the tests use ---------------------------------------------------------------

    def secret(self, value: str | bytes | None) -> None:
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        if not text or len(text) < MIN_PASSWORD:
            return
        with self._guard:
            if _WORD.fullmatch(text):
                self.words.add(text)
                self.lengths.add(len(text))
            else:
                self.passwords.add(text)

    def settings(self, settings: Settings) -> None:
        for key in settings.secret_keys:
            self.secret(key)
        self.secret(settings.entra_client_secret)
        self.secret(settings.metrics_token)

    # -- what the hub logs ----------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        self.lines += 1
        found = self.found(line)
        if found:
            self.leaks.append(f"{found!r} in {line}")

    def found(self, line: str) -> str | None:
        shape = SHAPES.search(line)
        if shape:
            return shape.group()
        for match in _WORD.finditer(line):
            word = match.group()
            for n in self.lengths:
                for i in range(len(word) - n + 1):
                    if word[i : i + n] in self.words:
                        return word[i : i + n]
        return next((p for p in tuple(self.passwords) if p in line), None)


class _Harvesting(PasswordHasher):
    """The hub's argon2 hasher, noting every password it hashes or checks."""

    scanner: SecretScanner

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.scanner.secret(password)
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Any:
        self.scanner.secret(password)
        return super().verify(hash, password)


@contextmanager
def scanning(logger: logging.Logger) -> Iterator[SecretScanner]:
    """The scanner on `logger` (at INFO, as production runs) with the hub's secrets taken
    where it receives them, for as long as the block lasts."""
    scanner = SecretScanner()
    hasher = type("Hasher", (_Harvesting,), {"scanner": scanner})()
    real_start, real_open = Sessions.start, Hub.open

    def start(
        self: Sessions, admin: AdminInfo, method: SignInMethod = SignInMethod.PASSWORD
    ) -> tuple[str, SessionInfo]:
        cookie, info = real_start(self, admin, method)
        scanner.secret(cookie)
        scanner.secret(info.csrf_token)
        return cookie, info

    def open_hub(settings: Settings) -> Hub:
        scanner.settings(settings)
        return real_open(settings)

    level = logger.level
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(users_module, "_passwords", hasher)
        mp.setattr(admins_module, "_hasher", hasher)
        mp.setattr(Sessions, "start", start)
        mp.setattr(Hub, "open", staticmethod(open_hub))
        logger.addHandler(scanner)
        logger.setLevel(logging.INFO)
        try:
            yield scanner
        finally:
            logger.removeHandler(scanner)
            logger.setLevel(level)
