"""HMAC-signed, expiring tokens for the admin session cookie and consent CSRF tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(payload: dict[str, Any], secret: bytes, ttl_seconds: int) -> str:
    body = b64url(json.dumps({**payload, "exp": int(time.time()) + ttl_seconds}).encode())
    mac = b64url(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def unsign(token: str, secret: bytes) -> dict[str, Any] | None:
    """The payload if the token is authentic and unexpired, else None."""
    body, _, mac = token.partition(".")
    expected = b64url(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    if not mac or not hmac.compare_digest(mac, expected):
        return None
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        payload: dict[str, Any] = json.loads(raw)
    except ValueError:
        return None
    return payload if payload.get("exp", 0) > time.time() else None
