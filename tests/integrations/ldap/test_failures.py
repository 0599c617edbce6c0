"""What goes wrong with a real directory, as `scimhub ldap test` and the troubleshooter
report it: ldaps:// and StartTLS with the run's CA (and without it: the certificate's
subject and expiry), an expired certificate, a wrong password, a closed port, a base DN
that does not exist, a size limit, a mapping that matches nothing; and one source of truth
per population."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scimhub.api.services import Hub
from scimhub.diagnose import diagnose
from scimhub.integrations.ldap import config as settings
from scimhub.integrations.ldap.errors import (
    BaseNotFound,
    InvalidCredentials,
    MappingMatchesNothing,
    PopulationConflict,
    SizeLimitExceeded,
    TlsFailure,
    Unreachable,
)
from scimhub.integrations.ldap.probe import probe
from tests.conftest import OrgClient

from .conftest import ACTOR, add_source, openldap_settings
from .server import (
    BIND_DN,
    BIND_PASSWORD,
    LIMITED_SUFFIX,
    OPENLDAP_SUFFIX,
    Slapd,
    Tls,
    free_port,
    make_tls,
)

pytestmark = pytest.mark.ldap


def cfg(slapd: Slapd, base: str = OPENLDAP_SUFFIX, **extra: object) -> settings.LdapConfig:
    return settings.parse(
        {
            "url": slapd.url,
            "startTls": False,
            "bindDn": BIND_DN,
            "userBase": f"ou=people,{base}",
            "groupBase": f"ou=groups,{base}",
            **extra,
        }
    )


@pytest.fixture
def person(slapd: Slapd, ou: str) -> str:
    slapd.add(
        f"uid=adele,ou=people,{ou}",
        {
            "objectClass": ["inetOrgPerson"],
            "uid": "adele",
            "cn": "Adele",
            "sn": "Vance",
            "givenName": "Adele",
            "displayName": "Adele Vance",
            "mail": "adele@example.com",
            "title": "Engineer",
            "employeeNumber": "1",
        },
    )
    return ou


def test_ldaps_and_starttls_with_the_configured_ca(slapd: Slapd, tls: Tls, person: str) -> None:
    for url, start_tls in ((slapd.ldaps_url, False), (slapd.url, True)):
        report = probe(
            cfg(slapd, person, url=url, startTls=start_tls, caPem=tls.ca_pem), BIND_PASSWORD
        )
        assert report.ok, report.as_json()
        assert report.users_sampled == 1


def test_an_untrusted_certificate_is_a_tls_failure_naming_the_certificate(
    slapd: Slapd, tls: Tls, person: str
) -> None:
    for url, start_tls in ((slapd.ldaps_url, False), (slapd.url, True)):
        report = probe(cfg(slapd, person, url=url, startTls=start_tls), BIND_PASSWORD)
        assert isinstance(report.error, TlsFailure), report.as_json()
        cert = report.error.certificate
        assert cert is not None and cert.subject == tls.subject
        assert cert.not_after == tls.not_after


@pytest.fixture(scope="module")
def expired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Slapd, Tls]]:
    root = tmp_path_factory.mktemp("expired")
    old = make_tls(root / "tls", expired=True)
    server = Slapd.start(root / "slapd", tls=old)
    try:
        yield server, old
    finally:
        server.stop()


def test_an_expired_certificate_is_named_with_its_expiry(expired: tuple[Slapd, Tls]) -> None:
    server, old = expired
    report = probe(cfg(server, url=server.ldaps_url, caPem=old.ca_pem), BIND_PASSWORD)
    assert isinstance(report.error, TlsFailure)
    assert "expired" in report.error.detail.lower()
    assert report.error.certificate is not None
    assert report.error.certificate.not_after == old.not_after


def test_a_wrong_password_is_invalid_credentials(slapd: Slapd, person: str) -> None:
    report = probe(cfg(slapd, person), "not the password")
    assert isinstance(report.error, InvalidCredentials) and report.error.result == 49


def test_a_closed_port_is_unreachable(slapd: Slapd) -> None:
    report = probe(cfg(slapd, url=f"ldap://127.0.0.1:{free_port()}", timeoutSeconds=2), "x")
    assert isinstance(report.error, Unreachable)


def test_a_missing_base_dn(slapd: Slapd) -> None:
    report = probe(cfg(slapd, userBase=f"ou=nobody,{OPENLDAP_SUFFIX}"), BIND_PASSWORD)
    assert isinstance(report.error, BaseNotFound) and "ou=nobody" in report.error.detail


def test_a_mapping_that_matches_nothing(slapd: Slapd, person: str) -> None:
    mapping = [
        {"source": "uid", "target": "userName"},
        {"source": "departmentNumber", "target": "title"},
    ]
    report = probe(cfg(slapd, person, mapping=mapping), BIND_PASSWORD)
    assert report.ok and report.unmatched == ["departmentNumber"]
    nobody = probe(cfg(slapd, person, userFilter="(uid=nobody)"), BIND_PASSWORD)
    assert isinstance(nobody.error, MappingMatchesNothing)
    no_name = probe(
        cfg(slapd, person, mapping=[{"source": "mobile", "target": "userName"}]), BIND_PASSWORD
    )
    assert isinstance(no_name.error, MappingMatchesNothing)


def test_a_size_limit_stops_a_round(hub: Hub, org: OrgClient, slapd: Slapd) -> None:
    for i in range(6):
        slapd.add(
            f"uid=s{org.org_id[:8]}{i},ou=people,{LIMITED_SUFFIX}",
            {
                "objectClass": ["inetOrgPerson"],
                "uid": f"s{org.org_id[:8]}{i}",
                "cn": "x",
                "sn": "y",
            },
            LIMITED_SUFFIX,
        )
    add_source(hub, org.org_id, openldap_settings(slapd, LIMITED_SUFFIX, pageSize=2))
    with pytest.raises(SizeLimitExceeded):
        hub.ldap.run(org.org_id)


def test_the_troubleshooter_explains_a_refused_bind(
    hub: Hub, org: OrgClient, slapd: Slapd, person: str
) -> None:
    add_source(hub, org.org_id, openldap_settings(slapd, person))
    assert not [f for f in diagnose(hub, org.org_id).findings if f.id.startswith("ldap_")]
    hub.ldap.update(org.org_id, {}, actor=ACTOR, password="changed elsewhere")
    found = {f.id: f for f in diagnose(hub, org.org_id).findings}
    assert "ldap_invalid_credentials" in found
    assert BIND_DN in found["ldap_invalid_credentials"].evidence[0]


def test_one_source_of_truth_per_population(
    hub: Hub, org: OrgClient, slapd: Slapd, person: str
) -> None:
    hub.instances.create(
        org.org_id,
        "2fdb923e-1d23-4e1b-a30f-e9cd88845744",
        tenant_domain="contoso.example",
        name="scimhub Identity - contoso",
        mode="push",
        scope="all",
        mappings=[],
        auto_sync=True,
    )
    with pytest.raises(PopulationConflict, match="scimhub Identity - contoso"):
        add_source(hub, org.org_id, openldap_settings(slapd, person))
    with pytest.raises(PopulationConflict, match=r"contoso\.example"):
        add_source(
            hub, org.org_id, openldap_settings(slapd, person, userDomains=["contoso.example"])
        )
    # disjoint populations: this source owns example.com's users, Entra the rest
    add_source(hub, org.org_id, openldap_settings(slapd, person, userDomains=["example.com"]))
    hub.ldap.set_enabled(org.org_id, False, actor=ACTOR)
    with pytest.raises(PopulationConflict):
        hub.ldap.update(org.org_id, {"userDomains": [], "enabled": True}, actor=ACTOR)


def test_settings_are_checked(tmp_path: Path) -> None:
    base = {"bindDn": "cn=x,dc=y", "userBase": "ou=p,dc=y", "groupBase": "ou=g,dc=y"}
    with pytest.raises(Exception, match="in the clear"):
        settings.parse({**base, "url": "ldap://ldap.example.com", "startTls": False})
    with pytest.raises(Exception, match="ldap://host"):
        settings.parse({**base, "url": "http://ldap.example.com"})
    with pytest.raises(Exception, match="not a valid LDAP filter"):
        settings.parse({**base, "url": "ldaps://x.example", "userFilter": "(&(uid=a)"})
    with pytest.raises(Exception, match="exactly one mapping"):
        settings.parse(
            {**base, "url": "ldaps://x.example", "mapping": [{"source": "cn", "target": "title"}]}
        )
    ad = settings.parse({**base, "url": "ldaps://dc.corp.example", "preset": "ad"})
    assert ad.id_attribute == "objectGUID" and ad.change_attribute == "uSNChanged"
    assert ad.disabled_flag and ad.port == 636
