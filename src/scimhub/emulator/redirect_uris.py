"""Redirect URIs registered on an application (the portal's Authentication blade). The
login pages send a browser, with a code or a consent answer, only to one of these."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import Connection, select
from sqlalchemy.dialects.sqlite import insert

from .apps import find_app
from .directory import DirectoryError
from .schema import app_redirect_uris

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_MAX_LENGTH = 256  # Entra's limit for one redirect URI


def _check_uri(uri: str) -> None:
    """Entra's registration rules: absolute, no fragment, https unless on loopback."""
    parts = urlsplit(uri)
    if len(uri) > _MAX_LENGTH or not parts.netloc or parts.fragment or "#" in uri:
        raise DirectoryError(
            f"'{uri}' is not a valid redirect URI: it must be an absolute "
            f"URI of at most {_MAX_LENGTH} characters without a fragment."
        )
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        raise DirectoryError(
            f"'{uri}' is not a valid redirect URI: it must use https "
            "(http only for localhost or 127.0.0.1)."
        )


def _require_app(conn: Connection, app_id: str) -> None:
    if find_app(conn, app_id) is None:
        raise DirectoryError(
            f"Application with identifier '{app_id}' was not found.",
            "Request_ResourceNotFound",
            404,
        )


def list_uris(conn: Connection, app_id: str) -> list[str]:
    _require_app(conn, app_id)
    return list(
        conn.execute(
            select(app_redirect_uris.c.uri)
            .where(app_redirect_uris.c.app_id == app_id)
            .order_by(app_redirect_uris.c.uri)
        ).scalars()
    )


def is_registered(conn: Connection, app_id: str, uri: str) -> bool:
    return (
        conn.execute(
            select(app_redirect_uris.c.uri).where(
                app_redirect_uris.c.app_id == app_id, app_redirect_uris.c.uri == uri
            )
        ).first()
        is not None
    )


def add_uri(conn: Connection, app_id: str, uri: str) -> list[str]:
    """Register a redirect URI (again: no change); the app's URIs afterwards."""
    _require_app(conn, app_id)
    _check_uri(uri)
    conn.execute(insert(app_redirect_uris).values(app_id=app_id, uri=uri).on_conflict_do_nothing())
    return list_uris(conn, app_id)


def remove_uri(conn: Connection, app_id: str, uri: str) -> list[str]:
    _require_app(conn, app_id)
    deleted = conn.execute(
        app_redirect_uris.delete().where(
            app_redirect_uris.c.app_id == app_id, app_redirect_uris.c.uri == uri
        )
    )
    if not deleted.rowcount:
        raise DirectoryError(
            f"'{uri}' is not a redirect URI of application '{app_id}'.",
            "Request_ResourceNotFound",
            404,
        )
    return list_uris(conn, app_id)
