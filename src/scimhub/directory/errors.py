"""Directory-level failures that are not SCIM protocol errors."""

from __future__ import annotations


class OrgNotFound(LookupError):
    """No organisation with that id (or the caller may not see it)."""
