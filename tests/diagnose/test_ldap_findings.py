"""The troubleshooter's LDAP findings from evidence alone: each AD bind data code is
explained, a TLS failure names the certificate, a mapping that matches nothing is a
warning, a disabled source is only a check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scimhub.diagnose.classify import classify
from scimhub.diagnose.evidence import LdapEvidence
from scimhub.integrations.ldap.errors import (
    AD_DATA_CODES,
    BaseNotFound,
    Certificate,
    InvalidCredentials,
    LdapError,
    SizeLimitExceeded,
    TlsFailure,
    Unreachable,
)
from scimhub.integrations.ldap.probe import ProbeReport

from .evidence_builders import evidence


def ldap(error: LdapError | None = None, **kw: object) -> LdapEvidence:
    report = ProbeReport(ok=error is None, error=error, **kw)  # type: ignore[arg-type]
    return LdapEvidence("src-1", "LDAP dc1", True, "ldaps://dc1.corp.example", "cn=sync", report)


@pytest.mark.parametrize("code", ["52e", "532", "533", "701", "773", "775"])
def test_each_ad_data_code_is_explained(code: str) -> None:
    refused = InvalidCredentials(
        "bind: invalidCredentials (49): 80090308: LdapErr: DSID-0C09042F, comment: "
        f"AcceptSecurityContext error, data {code}, v4563",
        result=49,
        upstream_code=code,
    )
    findings, checks = classify(evidence(ldap=ldap(refused)))
    (found,) = [f for f in findings if f.id == "ldap_invalid_credentials"]
    assert AD_DATA_CODES[code] in found.title and code in found.title
    assert any(f"data code {code}" in line for line in found.evidence)
    assert found.instance_id == "src-1"
    assert not next(c for c in checks if c.name.startswith("LDAP")).ok


def test_a_tls_failure_names_the_certificate() -> None:
    cert = Certificate(
        "CN=dc1.corp.example",
        "CN=Corp CA",
        datetime(2026, 1, 31, tzinfo=UTC),
        datetime(2025, 1, 31, tzinfo=UTC),
    )
    failure = TlsFailure("certificate verify failed: certificate has expired", certificate=cert)
    findings, _ = classify(evidence(ldap=ldap(failure)))
    (found,) = [f for f in findings if f.id == "ldap_tls_failure"]
    assert any("CN=dc1.corp.example" in e and "2026-01-31" in e for e in found.evidence)
    assert found.details["certificate"]["subject"] == "CN=dc1.corp.example"


@pytest.mark.parametrize(
    ("error", "mode"),
    [
        (Unreachable("dc1:636: timed out"), "ldap_unreachable"),
        (SizeLimitExceeded("search: sizeLimitExceeded (4)"), "ldap_size_limit"),
        (BaseNotFound("user base ou=x does not exist"), "ldap_base_not_found"),
    ],
)
def test_other_failures(error: LdapError, mode: str) -> None:
    findings, _ = classify(evidence(ldap=ldap(error)))
    assert mode in {f.id for f in findings}


def test_a_mapping_that_matches_nothing_is_a_warning() -> None:
    findings, checks = classify(evidence(ldap=ldap(unmatched=["mail"], users_sampled=200)))
    (found,) = [f for f in findings if f.id == "ldap_mapping_matches_nothing"]
    assert found.severity == "warning" and "mail" in found.title
    assert next(c for c in checks if c.name.startswith("LDAP")).ok


def test_a_disabled_source_is_only_a_check() -> None:
    off = LdapEvidence("src-1", "LDAP dc1", False, "ldaps://dc1", "cn=sync")
    findings, checks = classify(evidence(ldap=off))
    assert not [f for f in findings if f.id.startswith("ldap_")]
    assert any(c.detail == "disabled" for c in checks)
