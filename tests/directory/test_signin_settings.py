"""An organisation's sign-in with Microsoft: role mapping from app roles or groups, the
checks that keep an org from locking itself out, Entra accounts linked by (tid, oid), and
local passwords switched off."""

from __future__ import annotations

import uuid

import pytest

from scimhub.api.services import Hub
from scimhub.directory.actor import Actor
from scimhub.directory.admins import EntraUser
from scimhub.directory.roles import Role
from scimhub.directory.sessions import SignInMethod
from scimhub.directory.signin_settings import EntraSignIn, SignInSettingsError, of_org_settings

TENANT = "0c7ad2c0-7fd5-4a24-8a2c-6d9b2f0a3a11"
ADMINS, READERS = str(uuid.uuid4()), str(uuid.uuid4())
PASSWORD = "correct horse battery staple"
ACTOR = Actor("tester", "T_1")


def test_app_roles_map_to_console_roles_and_full_admin_wins() -> None:
    settings = EntraSignIn(enabled=True, tenant_id=TENANT)
    assert settings.role_for(["scimhub.Admin"], []) is Role.ADMIN
    assert settings.role_for(["scimhub.ReadOnly"], []) is Role.READONLY
    assert settings.role_for(["scimhub.ReadOnly", "scimhub.Admin"], []) is Role.ADMIN
    assert settings.role_for(["scimhub.admin", "Other"], [ADMINS]) is None  # exact values
    custom = settings.changed(admin_roles=["Hub.Owner"], readonly_roles=[])
    assert custom.role_for(["Hub.Owner"], []) is Role.ADMIN
    assert custom.role_for(["scimhub.ReadOnly"], []) is None


def test_groups_map_to_console_roles_by_object_id() -> None:
    settings = EntraSignIn().changed(
        enabled=True,
        tenant_id=TENANT,
        roles_from="groups",
        admin_groups=[ADMINS.upper()],
        readonly_groups=[READERS],
    )
    assert settings.admin_groups == (ADMINS,)  # GUIDs kept lower-case
    assert settings.role_for([], [ADMINS.upper()]) is Role.ADMIN
    assert settings.role_for(["scimhub.Admin"], [READERS]) is Role.READONLY  # roles ignored
    assert settings.role_for(["scimhub.Admin"], [str(uuid.uuid4())]) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"enabled": True}, "needs the organization's tenant id"),
        ({"enabled": True, "tenant_id": "contoso"}, "must be a GUID"),
        ({"enabled": True, "tenant_id": TENANT, "roles_from": "groups"}, "need an admin group"),
        (
            {"enabled": True, "tenant_id": TENANT, "admin_roles": [], "readonly_roles": []},
            "need an admin or a read-only value",
        ),
        ({"roles_from": "claims"}, "app-roles or groups"),
        ({"admin_groups": ["not-a-guid"]}, "must be a GUID"),
        ({"local_passwords": False}, "only while sign-in with Microsoft is on"),
        ({"enabled": "yes"}, "true or false"),
        ({"owner": "me"}, "unknown sign-in setting"),
    ],
)
def test_settings_that_do_not_hold_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(SignInSettingsError, match=message):
        EntraSignIn().changed(**changes)


def test_a_stored_setting_that_no_longer_holds_counts_as_unset() -> None:
    broken = {"entra_signin": {"enabled": True, "local_passwords": False}}  # no tenant
    assert of_org_settings(broken) == EntraSignIn()
    assert of_org_settings({}).local_passwords


def test_first_entra_sign_in_creates_the_account_later_ones_update_its_role(hub: Hub) -> None:
    org = hub.orgs.create("Entra org").id
    oid = str(uuid.uuid4())
    user = EntraUser(TENANT, oid, "ann@contoso.example", "Ann")
    first, created = hub.admins.sign_in_with_entra(org, user, Role.ADMIN, tracking_id="T_1")
    assert created and first.role is Role.ADMIN and first.signs_in_with_entra
    renamed = EntraUser(TENANT, oid, "ann.b@contoso.example", "Ann B")
    again, created = hub.admins.sign_in_with_entra(org, renamed, Role.READONLY)
    assert not created and again.id == first.id
    assert (again.role, again.email, again.display_name) == (Role.READONLY, renamed.email, "Ann B")
    actions = [e.action for e in hub.audit.events(org)[0]]
    assert "admin.created" in actions and "admin.role_changed" in actions
    # The same oid in another tenant is another person: another account.
    other, created = hub.admins.sign_in_with_entra(
        org, EntraUser(str(uuid.uuid4()), oid, "ann@contoso.example", "Ann"), Role.ADMIN
    )
    assert created and other.id != first.id


def test_an_entra_account_is_never_found_by_email_or_password(hub: Hub) -> None:
    org = hub.orgs.create("Entra org").id
    email = f"bo-{uuid.uuid4().hex[:6]}@contoso.example"
    local = hub.admins.create(org, email, PASSWORD, "readonly")
    entra, _ = hub.admins.sign_in_with_entra(
        org, EntraUser(TENANT, str(uuid.uuid4()), email, "Bo"), Role.ADMIN
    )
    assert entra.id != local.id  # the same email: separate accounts
    assert [a.id for a in hub.admins.candidates(email)] == [local.id]
    check = hub.admins.check_password(email, PASSWORD, org)
    assert check.admin is not None and check.admin.id == local.id
    assert {a.id for a in hub.admins.list(org)} == {local.id, entra.id}


def test_passwords_off_refuse_the_orgs_accounts_and_end_its_password_sessions(hub: Hub) -> None:
    org, other = hub.orgs.create("Off").id, hub.orgs.create("On").id
    email = f"cy-{uuid.uuid4().hex[:6]}@contoso.example"
    admin = hub.admins.create(org, email, PASSWORD, "admin")
    kept = hub.admins.create(other, f"x{email}", PASSWORD, "admin")
    cookie, _ = hub.sessions.start(admin)
    other_cookie, _ = hub.sessions.start(kept)
    entra, _ = hub.admins.sign_in_with_entra(
        org, EntraUser(TENANT, str(uuid.uuid4()), "e@contoso.example", "E"), Role.ADMIN
    )
    entra_cookie, _ = hub.sessions.start(entra, SignInMethod.ENTRA)
    hub.signin.configure(org, ACTOR, enabled=True, tenant_id=TENANT, local_passwords=False)
    assert hub.sessions.lookup(cookie) is None  # the password session ended
    assert hub.sessions.lookup(entra_cookie) is not None  # Microsoft's stays
    assert hub.sessions.lookup(other_cookie) is not None  # other orgs untouched
    check = hub.admins.check_password(email, PASSWORD)
    assert check.admin is None and [a.id for a in check.refused] == [admin.id]
    wrong = hub.admins.check_password(email, "not the password at all")
    assert wrong.admin is None and not wrong.refused
    configured = [e for e in hub.audit.events(org)[0] if e.action == "signin.configured"]
    assert configured[0].detail["password_sessions_ended"] == 1
    assert configured[0].tracking_id == "T_1"
    # The break-glass way back: passwords on again, whatever else is set.
    hub.signin.configure(org, ACTOR, local_passwords=True)
    assert hub.admins.check_password(email, PASSWORD).admin is not None
