"""An LDAP source's failures as values, one class per thing the admin does next, with the
code the API answers and the troubleshooter knows them by (701101-701199, beside the Azure
AD integration's 7010xx). Only the client (`client.py`) turns LDAP result codes and socket
errors into them.

A bind refused with result 49 carries, from Active Directory, a data code in its
diagnostic message (`AcceptSecurityContext error, data 52e, v4563`): `AD_DATA_CODES` says
what each means."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

# AD's data codes in a bind's diagnostic message (result 49, invalidCredentials).
AD_DATA_CODES: dict[str, str] = {
    "525": "the bind DN names no user",
    "52e": "the password is wrong (or the bind DN names no user)",
    "530": "the account may not sign in at this time (logon hours)",
    "531": "the account may not sign in from this computer (workstation restriction)",
    "532": "the account's password has expired",
    "533": "the account is disabled",
    "701": "the account has expired",
    "773": "the account's password must be changed before it may sign in",
    "775": "the account is locked out (too many wrong passwords)",
}
_DATA_CODE = re.compile(r"\bdata ([0-9a-f]{3,4})\b", re.IGNORECASE)


def ad_data_code(message: str | None) -> str | None:
    """The data code of an AD bind refusal's diagnostic message, if it has one."""
    found = _DATA_CODE.search(message or "")
    return found.group(1).lower() if found else None


@dataclass(frozen=True, slots=True)
class Certificate:
    """The server's certificate as the hub saw it (read without trusting it)."""

    subject: str
    issuer: str
    not_after: datetime
    not_before: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "notBefore": self.not_before.isoformat(),
            "notAfter": self.not_after.isoformat(),
        }


class LdapError(Exception):
    """An LDAP source failure: `status`/`code` for the API, `title` for the admin,
    `detail` for the record (the server's own words, never a password)."""

    status: ClassVar[int] = 502
    code: ClassVar[str] = "701199"
    key: ClassVar[str] = "ldap_error"
    title: ClassVar[str] = "The LDAP directory answered with an error."

    def __init__(
        self,
        detail: str = "",
        *,
        result: int | None = None,
        upstream_code: str | None = None,
        certificate: Certificate | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.result = result  # the LDAP result code, when the server answered
        self.upstream_code = upstream_code  # AD's data code, or the LDAP result code
        self.certificate = certificate

    @property
    def description(self) -> str:
        return f"{self.title} {self.detail}".strip() if self.detail != self.title else self.title

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
        }
        if self.result is not None:
            out["result"] = self.result
        if self.upstream_code:
            out["upstreamCode"] = self.upstream_code
            if self.upstream_code in AD_DATA_CODES:
                out["meaning"] = AD_DATA_CODES[self.upstream_code]
        if self.certificate is not None:
            out["certificate"] = self.certificate.as_json()
        return out


class Unreachable(LdapError):
    status, code, key = 503, "701101", "ldap_unreachable"
    title = "The LDAP server could not be reached."


class TlsFailure(LdapError):
    status, code, key = 502, "701102", "ldap_tls_failure"
    title = "The TLS connection to the LDAP server failed."


class InvalidCredentials(LdapError):
    status, code, key = 401, "701103", "ldap_invalid_credentials"
    title = "The LDAP server refused the bind DN and password."


class SizeLimitExceeded(LdapError):
    status, code, key = 502, "701104", "ldap_size_limit"
    title = "The LDAP server stopped the search at its size limit."


class BaseNotFound(LdapError):
    status, code, key = 404, "701105", "ldap_base_not_found"
    title = "A base DN does not exist in the directory."


class MappingMatchesNothing(LdapError):
    status, code, key = 422, "701106", "ldap_mapping_matches_nothing"
    title = "The attribute mapping matches nothing in the directory."


class InvalidSource(LdapError):
    status, code, key = 400, "701107", "ldap_invalid_source"
    title = "The LDAP source's settings are not valid."


class PopulationConflict(LdapError):
    status, code, key = 409, "701108", "ldap_population_conflict"
    title = "Another source of truth provisions this organization's users."


class RoundRunning(LdapError):
    status, code, key = 409, "701109", "ldap_round_running"
    title = "A sync round of this LDAP source is already running."


class NoSource(LdapError):
    status, code, key = 404, "701110", "ldap_no_source"
    title = "This organization has no LDAP source."


class SourceExists(LdapError):
    status, code, key = 409, "701111", "ldap_source_exists"
    title = "This organization has an LDAP source already."


class SourceDisabled(LdapError):
    status, code, key = 409, "701112", "ldap_source_disabled"
    title = "The LDAP source is disabled."


class SecretUnreadable(LdapError):
    status, code, key = 500, "701113", "ldap_secret_unreadable"
    title = "The bind password cannot be decrypted with this hub's SCIMHUB_SECRET_KEY."


# Every class by its code: what the troubleshooter reads back from recorded failures.
BY_CODE: dict[str, type[LdapError]] = {
    c.code: c
    for c in (
        LdapError,
        Unreachable,
        TlsFailure,
        InvalidCredentials,
        SizeLimitExceeded,
        BaseNotFound,
        MappingMatchesNothing,
        InvalidSource,
        PopulationConflict,
        RoundRunning,
        NoSource,
        SourceExists,
        SourceDisabled,
        SecretUnreadable,
    )
}

# LDAP result codes (RFC 4511 §4.1.9) the client turns into the classes above.
RESULT_CLASSES: dict[int, type[LdapError]] = {
    4: SizeLimitExceeded,  # sizeLimitExceeded
    32: BaseNotFound,  # noSuchObject
    49: InvalidCredentials,  # invalidCredentials
    51: Unreachable,  # busy
    52: Unreachable,  # unavailable
}
