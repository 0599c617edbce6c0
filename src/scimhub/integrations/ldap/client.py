"""Talking to an LDAP directory (ldap3): connect (ldaps://, or ldap:// with StartTLS),
trust exactly the configured CA, bind, read the root DSE, search a page at a time with the
Simple Paged Results control (RFC 2696). The only place LDAP result codes and socket
errors become `errors.LdapError`s.

Values are read raw (bytes) and decoded here: the binary `objectGUID` becomes its GUID
text (the first three fields little-endian, as AD shows it), text values UTF-8. AD's large
groups come back in ranges (`member;range=0-1499`); ldap3 reads the rest itself
(`auto_range`)."""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Literal

from cryptography import x509
from ldap3 import BASE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException, LDAPSocketOpenError, LDAPStartTLSError

from .config import LdapConfig
from .errors import (
    RESULT_CLASSES,
    BaseNotFound,
    Certificate,
    InvalidCredentials,
    LdapError,
    TlsFailure,
    Unreachable,
    ad_data_code,
)

PAGED_RESULTS = "1.2.840.113556.1.4.319"
SHOW_DELETED = "1.2.840.113556.1.4.417"
BINARY_IDS = frozenset({"objectguid"})
_TLS_WORDS = re.compile(r"ssl|tls|certificate|handshake|wrap", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Entry:
    dn: str
    attributes: dict[str, list[bytes]]  # lower-cased names

    def values(self, name: str) -> list[str]:
        raw = self.attributes.get(name.lower(), [])
        if name.lower() in BINARY_IDS:
            return [guid_text(v) for v in raw if len(v) == 16]
        out = []
        for v in raw:
            try:
                out.append(v.decode("utf-8"))
            except UnicodeDecodeError:
                continue  # a binary value a text target cannot hold
        return out

    def first(self, name: str) -> str | None:
        found = self.values(name)
        return found[0] if found else None


def guid_text(raw: bytes) -> str:
    """AD's objectGUID bytes as the GUID it shows (RFC 4122 text of the little-endian
    layout)."""
    return str(uuid.UUID(bytes_le=raw))


class LdapClient:
    """One connection, opened and bound on entry, closed on exit."""

    def __init__(self, config: LdapConfig, password: str) -> None:
        self.config = config
        self._password = password
        self.conn: Connection | None = None

    def __enter__(self) -> LdapClient:
        self.open()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _tls(self, validate: bool = True) -> Tls:
        return Tls(
            validate=ssl.CERT_REQUIRED if validate else ssl.CERT_NONE,
            version=ssl.PROTOCOL_TLS_CLIENT,
            ca_certs_data=self.config.ca_pem or None,
        )

    def _server(self, validate: bool = True) -> Server:
        c = self.config
        return Server(
            c.host,
            port=c.port,
            use_ssl=c.use_ssl,
            tls=self._tls(validate) if c.secured else None,
            get_info=NONE,
            connect_timeout=c.timeout_seconds,
        )

    def open(self) -> None:
        c = self.config
        conn = Connection(
            self._server(),
            user=c.bind_dn,
            password=self._password,
            auto_bind="NONE",
            read_only=True,
            raise_exceptions=False,
            receive_timeout=max(c.timeout_seconds, 30),
            auto_range=True,
            return_empty_attributes=False,
        )
        try:
            conn.open()
        except LDAPSocketOpenError as exc:
            raise self._socket_error(exc) from None
        if c.start_tls and not c.use_ssl:
            try:
                started = conn.start_tls()
            except (LDAPStartTLSError, LDAPSocketOpenError, ssl.SSLError, OSError) as exc:
                raise TlsFailure(_short(exc), certificate=self.peek_certificate()) from None
            if not started:
                raise TlsFailure(
                    f"the server refused StartTLS ({conn.result.get('description')})"
                ) from None
        try:
            bound = conn.bind()
        except LDAPException as exc:
            raise self._socket_error(exc) from None
        if not bound:
            raise from_result(conn.result, what="bind")
        self.conn = conn

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(LDAPException):
                self.conn.unbind()
            self.conn = None

    def _socket_error(self, exc: Exception) -> LdapError:
        text = _short(exc)
        if self.config.secured and _TLS_WORDS.search(text):
            return TlsFailure(text, certificate=self.peek_certificate())
        return Unreachable(f"{self.config.host}:{self.config.port}: {text}")

    # -- reads ------------------------------------------------------------------------

    def root_dse(self) -> Entry:
        found = self._search("", "(objectClass=*)", ["*", "+"], scope=BASE)
        return found[0] if found else Entry("", {})

    def exists(self, dn: str) -> bool:
        try:
            return bool(self._search(dn, "(objectClass=*)", ["1.1"], scope=BASE))
        except BaseNotFound:
            return False

    def pages(
        self,
        base: str,
        search_filter: str,
        attributes: list[str],
        *,
        page_size: int,
        controls: list[tuple[str, bool, Any]] | None = None,
    ) -> Iterator[list[Entry]]:
        """Every entry under `base` matching the filter, a page at a time (the next page
        is asked for only when this one was handled)."""
        conn = self._conn()
        cookie: bytes | None = None
        while True:
            conn.search(
                base,
                search_filter,
                search_scope=SUBTREE,
                attributes=attributes,
                paged_size=page_size,
                paged_cookie=cookie,
                controls=controls,
            )
            # ldap3 calls a search that stopped at a size limit a success: it is not.
            if conn.result.get("result") not in (0, None):
                raise from_result(conn.result, what=f"search of {base}")
            yield _entries(conn.response)
            control = (conn.result.get("controls") or {}).get(PAGED_RESULTS) or {}
            cookie = (control.get("value") or {}).get("cookie")
            if not cookie:
                return

    def _search(
        self,
        base: str,
        search_filter: str,
        attributes: list[str],
        *,
        scope: Literal["BASE", "LEVEL", "SUBTREE"],
    ) -> list[Entry]:
        conn = self._conn()
        conn.search(base, search_filter, search_scope=scope, attributes=attributes)
        if conn.result.get("result") not in (0, None):
            raise from_result(conn.result, what=f"read of {base or 'the root DSE'}")
        return _entries(conn.response)

    def _conn(self) -> Connection:
        if self.conn is None:
            raise Unreachable("not connected")
        return self.conn

    # -- the certificate, for a TLS failure's evidence ------------------------------------

    def peek_certificate(self) -> Certificate | None:
        """The server's certificate, read over a handshake that does not check it: a TLS
        failure's evidence names its subject, issuer and expiry."""
        c = self.config
        try:
            if c.use_ssl:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                with (
                    socket.create_connection((c.host, c.port), timeout=c.timeout_seconds) as raw,
                    context.wrap_socket(raw, server_hostname=c.host) as tls,
                ):
                    der = tls.getpeercert(binary_form=True)
            else:
                conn = Connection(self._server(validate=False), auto_bind="NONE")
                conn.open()
                try:
                    conn.start_tls()
                    der = conn.socket.getpeercert(binary_form=True)
                finally:
                    conn.unbind()
        except (OSError, LDAPException, ssl.SSLError):
            return None
        if not der:
            return None
        cert = x509.load_der_x509_certificate(der)
        return Certificate(
            cert.subject.rfc4514_string(),
            cert.issuer.rfc4514_string(),
            cert.not_valid_after_utc.astimezone(UTC),
            cert.not_valid_before_utc.astimezone(UTC),
        )


def _entries(response: Any) -> list[Entry]:
    out = []
    for item in response or []:
        if item.get("type") != "searchResEntry":
            continue  # references and the like
        raw = item.get("raw_attributes") or {}
        out.append(Entry(item["dn"], {k.lower().split(";")[0]: list(v) for k, v in raw.items()}))
    return out


def from_result(result: dict[str, Any], *, what: str) -> LdapError:
    """An LDAP result (RFC 4511) as the failure it is."""
    code = int(result.get("result") or 0)
    message = str(result.get("message") or "")
    description = str(result.get("description") or "")
    detail = f"{what}: {description} ({code})" + (f": {message}" if message else "")
    cls = RESULT_CLASSES.get(code, LdapError)
    if cls is InvalidCredentials:
        return InvalidCredentials(detail, result=code, upstream_code=ad_data_code(message))
    return cls(detail, result=code, upstream_code=str(code))


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text[:500]
