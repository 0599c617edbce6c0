"""ETag preconditions (RFC 7644 §3.14) checked against a row's version."""

from __future__ import annotations

from ..scim.errors import PreconditionFailed
from .render import etag


def check_if_match(if_match: str | None, version: int) -> None:
    """Refuse a write made against a version the client no longer holds."""
    if if_match is None:
        return
    wanted = {tag.strip() for tag in if_match.split(",")}
    if "*" in wanted:
        return
    current = etag(version)
    # Weak comparison: `"3"` and `W/"3"` name the same version.
    if current not in wanted and current[2:] not in wanted:
        raise PreconditionFailed(f"resource version is {current}, not {if_match}")
