"""Console accounts belong to their org: one email may hold an account in several, a
duplicate is refused only within one, and sign-in's password check never mixes them."""

from __future__ import annotations

import uuid

import pytest

from scimhub.api.services import Hub
from scimhub.directory import admins as admins_module
from scimhub.directory.admins import AdminError

PASSWORD = "correct horse battery staple"
OTHER = "another long passphrase"


def new_email() -> str:
    return f"bob-{uuid.uuid4().hex[:8]}@b.example"


def test_one_email_holds_an_account_in_each_org(hub: Hub) -> None:
    org_a, org_b = hub.orgs.create("Org A").id, hub.orgs.create("Org B").id
    email = new_email()
    b = hub.admins.create(org_b, email, PASSWORD, "admin")
    a = hub.admins.create(org_a, email.upper(), OTHER, "readonly")
    assert {x.id for x in hub.admins.candidates(email)} == {b.id, a.id}
    assert [x.id for x in hub.admins.candidates(email, org_a)] == [a.id]
    assert [x.email for x in hub.admins.list(org_a)] == [email.upper()]


def test_the_same_email_twice_in_one_org_is_refused(hub: Hub) -> None:
    org = hub.orgs.create("Org A").id
    email = new_email()
    hub.admins.create(org, email, PASSWORD, "admin")
    with pytest.raises(AdminError, match="already exists in this organization"):
        hub.admins.create(org, f"  {email.upper()} ", OTHER, "admin")


def test_the_password_opens_only_its_own_account(hub: Hub) -> None:
    org_a, org_b = hub.orgs.create("Org A").id, hub.orgs.create("Org B").id
    email = new_email()
    b = hub.admins.create(org_b, email, PASSWORD, "admin")
    hub.admins.create(org_a, email, OTHER, "admin")
    check = hub.admins.check_password(email, PASSWORD)
    assert check.admin == b and not check.needs_org and check.email_shared
    assert set(check.candidate_orgs) == {org_b, org_a}
    named = hub.admins.check_password(email, PASSWORD, org_a)
    assert named.admin is None and named.candidate_orgs == (org_a,)
    [b_now] = hub.admins.candidates(email, org_b)
    assert b_now.last_login is not None  # the one sign-in that opened it
    assert hub.admins.candidates(email, org_a)[0].last_login is None


def test_a_password_opening_two_accounts_needs_the_org(hub: Hub) -> None:
    org_a, org_b = hub.orgs.create("Org A").id, hub.orgs.create("Org B").id
    email = new_email()
    hub.admins.create(org_b, email, PASSWORD, "admin")
    a = hub.admins.create(org_a, email, PASSWORD, "admin")
    check = hub.admins.check_password(email, PASSWORD)
    assert check.needs_org and check.admin is None and len(check.matches) == 2
    assert all(x.last_login is None for x in hub.admins.candidates(email))
    assert hub.admins.check_password(email, PASSWORD, org_a).admin == a


def test_an_unknown_email_or_org_opens_nothing(hub: Hub) -> None:
    org = hub.orgs.create("Org A").id
    email = new_email()
    hub.admins.create(org, email, PASSWORD, "admin")
    assert hub.admins.check_password(email, PASSWORD, "no-such-org").candidate_orgs == ()
    unknown = hub.admins.check_password(new_email(), PASSWORD)
    assert unknown.admin is None and unknown.candidate_orgs == ()
    assert not unknown.email_shared


def test_candidates_are_capped_and_a_later_account_names_its_org(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admins_module, "MAX_CANDIDATES", 2)
    passwords = {hub.orgs.create(f"Org {i}").id: f"{PASSWORD} {i}" for i in range(3)}
    email = new_email()
    for org_id, password in passwords.items():
        hub.admins.create(org_id, email, password, "admin")
    capped = {x.org_id for x in hub.admins.candidates(email)}
    assert len(capped) == 2 and capped < passwords.keys()
    [beyond] = passwords.keys() - capped
    assert hub.admins.check_password(email, passwords[beyond]).admin is None
    named = hub.admins.check_password(email, passwords[beyond], beyond).admin
    assert named is not None and named.org_id == beyond
