"""ETag preconditions (RFC 7644 §3.14) checked against a row's version."""

from __future__ import annotations

from ..scim.errors import PreconditionFailed
from ..scim.render import etag, etag_matches


def check_if_match(if_match: str | None, version: int) -> None:
    """Refuse a write made against a version the client no longer holds."""
    if if_match is not None and not etag_matches(if_match, version):
        raise PreconditionFailed(f"resource version is {etag(version)}, not {if_match}")
