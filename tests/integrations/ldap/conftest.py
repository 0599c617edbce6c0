"""A slapd for the LDAP tests (tests/integrations/ldap/server.py), started once per
session on free loopback ports, with ldaps:// and StartTLS from a CA made for the run.
Every test marked `ldap` skips cleanly when slapd is not installed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from scimhub.api.services import Hub
from scimhub.directory.actor import Actor

from .server import (
    AD_SUFFIX,
    BIND_DN,
    BIND_PASSWORD,
    OPENLDAP_SUFFIX,
    Slapd,
    Tls,
    make_tls,
    slapd_available,
)

ACTOR = Actor("tests", None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if slapd_available():
        return
    skip = pytest.mark.skip(reason="slapd is not installed (apt-get install -y slapd ldap-utils)")
    for item in items:
        if "ldap" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("ldap-tls"))


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory, tls: Tls) -> Iterator[Slapd]:
    if not slapd_available():
        pytest.skip("slapd is not installed (apt-get install -y slapd ldap-utils)")
    server = Slapd.start(tmp_path_factory.mktemp("slapd"), tls=tls)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ou(slapd: Slapd) -> str:
    """A fresh organizational unit per test under the OpenLDAP suffix, with people and
    groups below it: tests share the server, not each other's entries."""
    name = f"t{uuid.uuid4().hex[:10]}"
    base = f"ou={name},{OPENLDAP_SUFFIX}"
    slapd.add(base, {"objectClass": ["organizationalUnit"], "ou": name})
    for sub in ("people", "groups"):
        slapd.add(f"ou={sub},{base}", {"objectClass": ["organizationalUnit"], "ou": sub})
    return base


@pytest.fixture
def ad_ou(slapd: Slapd) -> str:
    name = f"t{uuid.uuid4().hex[:10]}"
    base = f"ou={name},{AD_SUFFIX}"
    slapd.add(base, {"objectClass": ["organizationalUnit"], "ou": name}, AD_SUFFIX)
    for sub in ("people", "groups"):
        slapd.add(f"ou={sub},{base}", {"objectClass": ["organizationalUnit"], "ou": sub}, AD_SUFFIX)
    return base


def openldap_settings(slapd: Slapd, base: str, **extra: object) -> dict[str, object]:
    return {
        "url": slapd.url,
        "startTls": False,
        "bindDn": BIND_DN,
        "userBase": f"ou=people,{base}",
        "groupBase": f"ou=groups,{base}",
        "preset": "openldap",
        **extra,
    }


def ad_settings(slapd: Slapd, base: str, **extra: object) -> dict[str, object]:
    return {
        "url": slapd.url,
        "startTls": False,
        "bindDn": BIND_DN,
        "userBase": f"ou=people,{base}",
        "groupBase": f"ou=groups,{base}",
        "preset": "ad",
        **extra,
    }


def add_source(hub: Hub, org_id: str, body: dict[str, object], **kw: object) -> str:
    return hub.ldap.add(org_id, body, BIND_PASSWORD, actor=ACTOR, **kw).id  # type: ignore[arg-type]


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path
