"""Unsafe requests need the session's CSRF token and a same-origin Origin; changes need a
full admin. The console's own write (adding an administrator) shows both."""

from __future__ import annotations

import uuid

from scimhub.api.services import Hub

from .conftest import PASSWORD, Admins, Console


def new_admin_form(token: str | None) -> dict[str, str]:
    form = {
        "email": f"new-{uuid.uuid4().hex[:8]}@example.com",
        "password": PASSWORD,
        "role": "readonly",
        "display_name": "New Person",
    }
    if token is not None:
        form["csrf_token"] = token
    return form


def test_a_form_with_the_token_works_and_is_audited(
    signed_in: Console, admins: Admins, hub: Hub
) -> None:
    form = new_admin_form(signed_in.csrf())
    r = signed_in.http.post("/console/settings/admins", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert form["email"] in [a.email for a in hub.admins.list(admins.org.org_id)]
    events, _ = hub.audit.events(admins.org.org_id, action="admin.created")
    created = next(e for e in events if e.target == form["email"])
    assert created.actor == admins.admin_email
    assert created.tracking_id


def test_a_form_without_or_with_a_wrong_token_is_refused(
    signed_in: Console, admins: Admins, hub: Hub
) -> None:
    for token in (None, "", "forged-token"):
        form = new_admin_form(token)
        r = signed_in.http.post("/console/settings/admins", data=form)
        assert r.status_code == 403
        assert "expired or came from another site" in r.text
        assert form["email"] not in [a.email for a in hub.admins.list(admins.org.org_id)]


def test_a_fetch_without_the_header_is_refused(signed_in: Console) -> None:
    r = signed_in.http.post("/console/settings/admins", json=new_admin_form(None))
    assert r.status_code == 403


def test_the_header_is_accepted_but_not_from_another_origin(
    signed_in: Console, admins: Admins, hub: Hub
) -> None:
    token = signed_in.csrf()
    form = new_admin_form(None)
    r = signed_in.http.post(
        "/console/settings/admins",
        data=form,
        headers={"X-CSRF-Token": token, "Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    r = signed_in.http.post(
        "/console/settings/admins",
        data=form,
        follow_redirects=False,
        headers={"X-CSRF-Token": token, "Origin": "https://hub.test"},
    )
    assert r.status_code == 303


def test_a_token_of_another_session_is_refused(
    signed_in: Console, signed_in_readonly: Console
) -> None:
    other = signed_in_readonly.csrf()
    r = signed_in.http.post("/console/settings/admins", data=new_admin_form(other))
    assert r.status_code == 403


def test_read_only_admins_cannot_post(
    signed_in_readonly: Console, admins: Admins, hub: Hub
) -> None:
    page = signed_in_readonly.http.get("/console/settings")
    assert page.status_code == 200
    assert 'action="/console/settings/admins"' not in page.text  # no form to fill in
    assert 'data-role="readonly"' in page.text  # the scripts disable the Azure controls
    form = new_admin_form(signed_in_readonly.csrf())
    r = signed_in_readonly.http.post("/console/settings/admins", data=form)
    assert r.status_code == 403
    assert "read-only access" in r.text
    assert form["email"] not in [a.email for a in hub.admins.list(admins.org.org_id)]


def test_bad_admin_input_is_explained(signed_in: Console) -> None:
    form = {**new_admin_form(signed_in.csrf()), "password": "short"}
    r = signed_in.http.post("/console/settings/admins", data=form)
    assert r.status_code == 400
    assert "at least 12 characters" in r.text
