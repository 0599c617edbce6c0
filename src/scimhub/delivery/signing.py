"""Signatures per the Standard Webhooks specification, made by its reference library
(`standardwebhooks`), so a receiver verifies them with the same library in any language.

Each message carries `webhook-id` (the event's id: the same on every retry and replay, so
a receiver can drop what it already has), `webhook-timestamp` (Unix seconds, renewed on
every attempt: receivers refuse old ones, 5 minutes by default) and `webhook-signature`:
`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per secret, space-separated,
so during a rotation both the new and the old secret verify.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification allows 24 to 64


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def headers(msg_id: str, body: str, keys: Sequence[str], at: datetime) -> dict[str, str]:
    """The three headers of one attempt; `keys` are the signing secrets, newest first."""
    if not keys:
        raise ValueError("a webhook is signed with at least one secret")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(Webhook(k).sign(msg_id, at, body) for k in keys),
    }
