"""The search boxes of the Users and Groups pages, as SCIM filters: the directory turns
them into one SQL WHERE, so a search over 100,000 users never loads them."""

from __future__ import annotations

import json

from ..scim import ast
from ..scim.filter import parse_filter

USER_ATTRIBUTES = ("userName", "displayName", "name.familyName", "name.givenName",
                   "externalId")
GROUP_ATTRIBUTES = ("displayName", "externalId")


def _contains_any(attributes: tuple[str, ...], text: str) -> ast.Filter | None:
    text = text.strip()
    if not text:
        return None
    literal = json.dumps(text)  # filter strings are JSON strings (RFC 7644 §3.4.2.2)
    return parse_filter(" or ".join(f"{attr} co {literal}" for attr in attributes))


def user_filter(text: str) -> ast.Filter | None:
    """Raises scim.errors.InvalidFilter for text no filter can hold (e.g. a NUL)."""
    return _contains_any(USER_ATTRIBUTES, text)


def group_filter(text: str) -> ast.Filter | None:
    return _contains_any(GROUP_ATTRIBUTES, text)
