"""Hashing of admin passwords and client secrets: the database never holds either."""

from __future__ import annotations

import hashlib
import hmac
import os


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000)
    return f"pbkdf2${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    _, salt, digest = stored.split("$")
    got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 100_000)
    return hmac.compare_digest(got.hex(), digest)


def hash_secret(secret: str) -> str:
    """Client secrets are 40 random characters, so one SHA-256 is enough (no stretching
    needed) and keeps the token endpoint fast."""
    return hashlib.sha256(secret.encode()).hexdigest()
