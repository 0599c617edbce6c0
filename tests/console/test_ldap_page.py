"""Organization Settings > Directory Synchronization > AD / LDAP in the console, against a
real slapd: add a source (the password never shown again), test it, dry run, sync now;
read-only admins see it but cannot change it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scimhub.api.services import Hub
from tests.integrations.ldap.server import (
    BIND_DN,
    BIND_PASSWORD,
    OPENLDAP_SUFFIX,
    Slapd,
    slapd_available,
)

from .conftest import Admins, Console

pytestmark = [
    pytest.mark.ldap,
    pytest.mark.skipif(not slapd_available(), reason="slapd is not installed"),
]


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    server = Slapd.start(tmp_path_factory.mktemp("console-slapd"))
    try:
        yield server
    finally:
        server.stop()


def test_add_test_dry_run_and_sync(
    signed_in: Console, admins: Admins, hub: Hub, slapd: Slapd
) -> None:
    ou = f"ou=c{admins.org.org_id[:8]},{OPENLDAP_SUFFIX}"
    slapd.add(ou, {"objectClass": ["organizationalUnit"], "ou": f"c{admins.org.org_id[:8]}"})
    for sub in ("people", "groups"):
        slapd.add(f"ou={sub},{ou}", {"objectClass": ["organizationalUnit"], "ou": sub})
    slapd.add(
        f"uid=adele,ou=people,{ou}",
        {"objectClass": ["inetOrgPerson"], "uid": "adele", "cn": "Adele", "sn": "Vance"},
    )
    settings = signed_in.http.get("/console/settings")
    assert 'href="/console/settings/ldap"' in settings.text
    empty = signed_in.http.get("/console/settings/ldap")
    assert "Add an LDAP source" in empty.text
    added = signed_in.http.post(
        "/console/settings/ldap",
        data={
            "csrf_token": signed_in.csrf(),
            "name": "Corp LDAP",
            "preset": "openldap",
            "url": slapd.url,
            "bind_dn": BIND_DN,
            "password": BIND_PASSWORD,
            "user_base": f"ou=people,{ou}",
            "group_base": f"ou=groups,{ou}",
            "page_size": "500",
            "keep_preset_mapping": "on",
        },
    )
    assert added.status_code == 200 and "LDAP source saved" in added.text, added.text
    assert BIND_PASSWORD not in added.text and "data-ldap-source" in added.text
    tested = signed_in.http.post(
        "/console/settings/ldap/test", data={"csrf_token": signed_in.csrf()}
    )
    assert "Test connection: passed" in tested.text
    dry = signed_in.http.post(
        "/console/settings/ldap/dry-run", data={"csrf_token": signed_in.csrf()}
    )
    assert "data-ldap-dry-run" in dry.text and "Nothing was written" in dry.text
    assert admins.org.get("/Users").json()["totalResults"] == 0
    synced = signed_in.http.post(
        "/console/settings/ldap/sync", data={"csrf_token": signed_in.csrf()}
    )
    assert "Round finished" in synced.text and "users_created 1" in synced.text
    assert admins.org.get("/Users").json()["totalResults"] == 1


def test_a_refused_bind_is_explained(signed_in: Console, admins: Admins, slapd: Slapd) -> None:
    signed_in.http.post(
        "/console/settings/ldap",
        data={
            "csrf_token": signed_in.csrf(),
            "preset": "openldap",
            "url": slapd.url,
            "bind_dn": BIND_DN,
            "password": "wrong",
            "user_base": f"ou=people,{OPENLDAP_SUFFIX}",
            "group_base": f"ou=groups,{OPENLDAP_SUFFIX}",
            "keep_preset_mapping": "on",
        },
    )
    tested = signed_in.http.post(
        "/console/settings/ldap/test", data={"csrf_token": signed_in.csrf()}
    )
    assert "Test connection: failed" in tested.text and "refused the bind" in tested.text
    refused = signed_in.http.post(
        "/console/settings/ldap", data={"csrf_token": signed_in.csrf(), "url": "http://nope"}
    )
    assert refused.status_code == 400 and "ldap://host" in refused.text
