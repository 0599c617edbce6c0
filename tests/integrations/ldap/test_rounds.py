"""Sync rounds from a real slapd: a full round, then incremental ones that read only what
changed, unchanged entries writing nothing, deletions found by comparing stable ids,
renames, group members (nested as an option), and Active Directory's attributes (simulated
in slapd: objectGUID, uSNChanged, userAccountControl, tombstones)."""

from __future__ import annotations

from typing import Any

import pytest

from scimhub.api.services import Hub
from scimhub.directory.deletion_brake import Threshold
from tests.conftest import OrgClient

from .conftest import ACTOR, ad_settings, add_source, openldap_settings
from .server import AD_SUFFIX, Slapd

pytestmark = pytest.mark.ldap


def users(org: OrgClient) -> dict[str, dict[str, Any]]:
    found = org.get("/Users", params={"count": "1000"}).json()["Resources"]
    return {u["userName"]: u for u in found}


def groups(org: OrgClient) -> dict[str, dict[str, Any]]:
    found = org.get("/Groups", params={"count": "1000"}).json()["Resources"]
    return {g["displayName"]: g for g in found}


def member_names(org: OrgClient, group: dict[str, Any]) -> set[str]:
    by_id = {u["id"]: name for name, u in users(org).items()}
    by_id |= {g["id"]: name for name, g in groups(org).items()}
    return {by_id[m["value"]] for m in group.get("members", [])}


def people(slapd: Slapd, base: str, *uids: str) -> list[str]:
    dns = []
    for uid in uids:
        dn = f"uid={uid},ou=people,{base}"
        slapd.add(
            dn,
            {
                "objectClass": ["inetOrgPerson"],
                "uid": uid,
                "cn": uid.title(),
                "sn": uid.title(),
                "givenName": uid.title(),
                "mail": f"{uid}@example.com",
                "title": "Engineer",
            },
        )
        dns.append(dn)
    return dns


def group(slapd: Slapd, base: str, cn: str, members: list[str]) -> str:
    dn = f"cn={cn},ou=groups,{base}"
    slapd.add(dn, {"objectClass": ["groupOfNames"], "cn": cn, "member": members})
    return dn


def test_a_full_round_then_incremental_rounds_that_write_only_what_changed(
    hub: Hub, org: OrgClient, slapd: Slapd, ou: str
) -> None:
    adele, bob, carol = people(slapd, ou, "adele", "bob", "carol")
    group(slapd, ou, "engineering", [adele, bob])
    add_source(hub, org.org_id, openldap_settings(slapd, ou))

    first = hub.ldap.run(org.org_id)
    assert first.full and first.users_created == 3 and first.groups_created == 1
    seen = users(org)
    assert set(seen) == {"adele", "bob", "carol"}
    assert seen["adele"]["emails"] == [{"value": "adele@example.com", "type": "work"}]
    assert seen["adele"]["name"] == {"givenName": "Adele", "familyName": "Adele"}
    assert seen["adele"]["title"] == "Engineer"
    assert seen["adele"]["active"] is True
    assert member_names(org, groups(org)["engineering"]) == {"adele", "bob"}

    # nothing changed: an incremental round reads the last entry again and writes nothing
    again = hub.ldap.run(org.org_id)
    assert not again.full
    assert again.users_created == again.users_updated == again.groups_updated == 0

    slapd.modify(bob, {"title": "Manager"})
    slapd.modify(carol, {"mail": "carol@example.org"})
    dave = people(slapd, ou, "dave")[0]
    slapd.add_member(f"cn=engineering,ou=groups,{ou}", dave)
    third = hub.ldap.run(org.org_id)
    assert not third.full
    assert third.users_created == 1 and third.users_updated == 2
    assert third.users_seen <= 4  # what changed (and the entry at the mark), not everyone
    seen = users(org)
    assert seen["bob"]["title"] == "Manager"
    assert seen["carol"]["emails"][0]["value"] == "carol@example.org"
    assert member_names(org, groups(org)["engineering"]) == {"adele", "bob", "dave"}


def test_deleted_entries_leave_through_the_brake_at_the_comparison_of_ids(
    hub: Hub, org: OrgClient, slapd: Slapd, ou: str
) -> None:
    adele, bob = people(slapd, ou, "adele", "bob")
    eng = group(slapd, ou, "eng", [adele, bob])
    ops = group(slapd, ou, "ops", [bob])
    add_source(hub, org.org_id, openldap_settings(slapd, ou, deletionCheckMinutes=1))
    hub.ldap.run(org.org_id)
    slapd.delete(bob)
    slapd.modify(eng, {"member": [adele]})
    slapd.delete(ops)
    # the comparison is not due yet: an incremental round sees the group change only
    inc = hub.ldap.run(org.org_id)
    assert not inc.ids_compared and users(org)["bob"]["active"] is True
    assert member_names(org, groups(org)["eng"]) == {"adele"}
    # a full round compares every id: bob is deactivated, ops deleted
    full = hub.ldap.run(org.org_id, full=True)
    assert full.ids_compared and full.users_deactivated == 1 and full.groups_deleted == 1
    assert users(org)["bob"]["active"] is False
    assert "ops" not in groups(org)


def test_the_brake_holds_a_mass_removal(hub: Hub, org: OrgClient, slapd: Slapd, ou: str) -> None:
    dns = people(slapd, ou, *[f"u{i}" for i in range(12)])
    source_id = add_source(hub, org.org_id, openldap_settings(slapd, ou))
    hub.ldap.run(org.org_id)
    source = hub.ldap.get(org.org_id)
    assert source is not None
    hub.brake.set_threshold(
        org.org_id, Threshold(count=5, percent=None), instance=source, actor=ACTOR
    )
    for dn in dns[:8]:
        slapd.delete(dn)
    held = hub.ldap.run(org.org_id, full=True)
    assert held.removals_held == 8 and held.users_deactivated == 0
    assert all(u["active"] for u in users(org).values())
    removals, total = hub.brake.held(org.org_id, source_id)
    assert total == 8 and {r.action.value for r in removals} == {"deactivate"}


def test_a_renamed_entry_keeps_its_user(hub: Hub, org: OrgClient, slapd: Slapd, ou: str) -> None:
    (adele,) = people(slapd, ou, "adele")
    add_source(hub, org.org_id, openldap_settings(slapd, ou))
    hub.ldap.run(org.org_id)
    before = users(org)["adele"]["id"]
    slapd.rename(adele, "cn=Adele Vance")  # the DN changes; entryUUID does not
    slapd.modify(f"cn=Adele Vance,ou=people,{ou}", {"uid": "adele.vance"})
    hub.ldap.run(org.org_id)
    after = users(org)
    assert "adele" not in after and after["adele.vance"]["id"] == before


def test_nested_groups_resolved_as_an_option(
    hub: Hub, org: OrgClient, slapd: Slapd, ou: str
) -> None:
    adele, bob = people(slapd, ou, "adele", "bob")
    inner = group(slapd, ou, "inner", [bob])
    group(slapd, ou, "outer", [adele, inner])
    add_source(hub, org.org_id, openldap_settings(slapd, ou))
    hub.ldap.run(org.org_id)
    assert member_names(org, groups(org)["outer"]) == {"adele", "inner"}  # a group member
    hub.ldap.update(org.org_id, {"nestedGroups": True}, actor=ACTOR)
    flattened = hub.ldap.run(org.org_id)
    assert flattened.full  # what a round reads changed
    assert member_names(org, groups(org)["outer"]) == {"adele", "bob"}
    carol = people(slapd, ou, "carol")[0]
    slapd.add_member(inner, carol)
    hub.ldap.run(org.org_id)
    assert member_names(org, groups(org)["outer"]) == {"adele", "bob", "carol"}


def test_active_directory_guid_disabled_accounts_usn_and_tombstones(
    hub: Hub, org: OrgClient, slapd: Slapd, ad_ou: str
) -> None:
    def ad_user(sam: str, *, disabled: bool = False) -> tuple[str, Any]:
        guid = __import__("uuid").uuid4()
        dn = f"cn={sam},ou=people,{ad_ou}"
        slapd.add(
            dn,
            {
                "objectClass": ["user"],
                "cn": sam,
                "sn": sam.title(),
                "displayName": sam.title(),
                "sAMAccountName": sam,
                "userPrincipalName": f"{sam}@corp.example",
                "objectGUID": guid.bytes_le,
                "objectCategory": "person",
                "uSNChanged": str(slapd.next_usn()),
                "userAccountControl": str(0x200 | (0x2 if disabled else 0)),
                "department": "Sales",
            },
            AD_SUFFIX,
        )
        return dn, guid

    alice, alice_guid = ad_user("alice")
    _, _ = ad_user("bruno", disabled=True)
    carl, carl_guid = ad_user("carl")
    sales_guid = __import__("uuid").uuid4()
    sales = f"cn=sales,ou=groups,{ad_ou}"
    slapd.add(
        sales,
        {
            "objectClass": ["group"],
            "cn": "sales",
            "objectGUID": sales_guid.bytes_le,
            "uSNChanged": str(slapd.next_usn()),
            "member": [alice, carl],
        },
        AD_SUFFIX,
    )
    add_source(hub, org.org_id, ad_settings(slapd, ad_ou))
    first = hub.ldap.run(org.org_id)
    assert first.users_created == 3
    seen = users(org)
    assert seen["alice@corp.example"]["externalId"] == str(alice_guid)  # GUID text, AD's order
    assert seen["alice@corp.example"]["active"] is True
    assert seen["bruno@corp.example"]["active"] is False  # userAccountControl bit 2
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    assert seen["alice@corp.example"][enterprise]["department"] == "Sales"

    slapd.modify(alice, {"userAccountControl": str(0x202)}, AD_SUFFIX)  # disabled now
    slapd.ad_tombstone(carl, carl_guid)  # deleted in AD: a tombstone remains
    second = hub.ldap.run(org.org_id)
    assert not second.full and second.users_updated == 1
    assert second.tombstones == 1 and second.users_deleted == 1
    seen = users(org)
    assert seen["alice@corp.example"]["active"] is False
    assert "carl@corp.example" not in seen  # deleted (to the recycle bin)


def test_the_background_work_runs_ldap_rounds_and_records_their_failures(
    hub: Hub, org: OrgClient, slapd: Slapd, ou: str
) -> None:
    from scimhub.asgi import background_work
    from scimhub.integrations.ldap.errors import Unreachable
    from scimhub.sync.scheduler import _pull_all

    people(slapd, ou, "adele")
    add_source(hub, org.org_id, openldap_settings(slapd, ou))
    work = background_work(hub)
    assert org.org_id in {s.org_id for s in work.ldap_sources()}
    _pull_all(work)  # the in-process scheduler's pull step: pull instances, then LDAP sources
    assert "adele" in users(org)
    source = hub.ldap.get(org.org_id)
    assert source is not None and source.last_round is not None
    hub.ldap.update(org.org_id, {"url": "ldap://127.0.0.1:9", "timeoutSeconds": 2}, actor=ACTOR)
    with pytest.raises(Unreachable):
        work.ldap_round(org.org_id)
    failures, _ = hub.instances.failures(org.org_id)
    assert failures[0].operation == "scheduled ldap round" and failures[0].code == "701101"
    hub.ldap.set_enabled(org.org_id, False, actor=ACTOR)
    assert work.ldap_round(org.org_id) is None  # disabled: nothing to do
