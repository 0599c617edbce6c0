"""Signing in and out: cookies, the audit trail, the rate limit, expiry, redirects."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from scimhub.api.auth import SESSION_COOKIE
from scimhub.api.services import Hub
from scimhub.config import Settings
from scimhub.store.engine import utcnow
from scimhub.store.tables import sessions

from .conftest import PASSWORD, Admins, Console


def actions(hub: Hub, org_id: str) -> list[str]:
    return [e.action for e in hub.audit.events(org_id, limit=50)[0]]


def test_sign_in_sets_a_session_cookie_and_is_audited(
    console: Console, admins: Admins, hub: Hub
) -> None:
    r = console.sign_in(admins.admin_email)
    assert r.status_code == 303
    assert r.headers["location"] == "/console/overview"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for attribute in ("HttpOnly", "Secure", "Path=/", "SameSite=lax"):
        assert attribute.lower() in cookie.lower()
    page = console.http.get("/console/overview")
    assert page.status_code == 200
    assert "Ada Admin" in page.text
    assert "signin" in actions(hub, admins.org.org_id)


def test_only_the_hash_of_the_cookie_is_stored(console: Console, admins: Admins, hub: Hub) -> None:
    console.sign_in(admins.admin_email)
    value = console.http.cookies[SESSION_COOKIE]
    with hub.db.read() as conn:
        stored = conn.execute(select(sessions.c.id_hash)).scalars().all()
    assert value not in stored
    assert hub.sessions.lookup(value) is not None


def test_wrong_password_and_unknown_email_are_refused(
    console: Console, admins: Admins, hub: Hub
) -> None:
    r = console.sign_in(admins.admin_email, "not the password at all")
    assert r.status_code == 401
    assert "email or password is not right" in r.text
    assert SESSION_COOKIE not in console.http.cookies
    assert console.sign_in("nobody@example.com").status_code == 401
    assert "signin.failed" in actions(hub, admins.org.org_id)


def test_sign_in_is_rate_limited_after_five_failures(
    console: Console, admins: Admins, hub: Hub
) -> None:
    for _ in range(5):
        assert console.sign_in(admins.admin_email, "wrong password!!").status_code == 401
    blocked = console.sign_in(admins.admin_email)  # even the right password now waits
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text
    assert "signin.blocked" in actions(hub, admins.org.org_id)


def test_a_success_clears_the_account_failures(
    make_console: Callable[[], Console], admins: Admins
) -> None:
    console = make_console()
    for _ in range(4):
        console.sign_in(admins.admin_email, "wrong password!!")
    assert console.sign_in(admins.admin_email).status_code == 303
    later = make_console()
    for _ in range(4):
        assert later.sign_in(admins.admin_email, "wrong password!!").status_code == 401


def test_the_limit_holds_across_processes(settings: Settings, admins: Admins, hub: Hub) -> None:
    """Two hubs on one database stand for two API processes: each sees the other's tries."""
    other = Hub.open(settings)
    try:
        key = f"account:{admins.admin_email}"
        allowed = [
            (hub if i % 2 else other).sessions.begin_attempt(key, None).allowed for i in range(7)
        ]
    finally:
        other.close()
    assert allowed == [True] * 5 + [False] * 2


def test_login_form_needs_its_csrf_token(console: Console, admins: Admins) -> None:
    console.http.get("/console/login")
    r = console.http.post(
        "/console/login",
        follow_redirects=False,
        data={
            "email": admins.admin_email,
            "password": "correct horse battery staple",
            "csrf_token": "forged",
        },
    )
    assert r.status_code == 403
    assert SESSION_COOKIE not in console.http.cookies


def test_pages_redirect_to_sign_in_and_back(console: Console, admins: Admins) -> None:
    r = console.http.get("/console/users?q=ann", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/console/login?next=/console/users%3Fq%3Dann"
    form = console.http.get(r.headers["location"])
    assert 'name="next" value="/console/users?q=ann"' in form.text
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = console.http.post(
        "/console/login",
        follow_redirects=False,
        data={
            "email": admins.admin_email,
            "password": "correct horse battery staple",
            "csrf_token": token,
            "next": "/console/users?q=ann",
        },
    )
    assert done.headers["location"] == "/console/users?q=ann"


def test_next_cannot_leave_the_console(console: Console, admins: Admins) -> None:
    form = console.http.get("/console/login?next=//evil.example/x")
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = console.http.post(
        "/console/login",
        follow_redirects=False,
        data={
            "email": admins.admin_email,
            "password": "correct horse battery staple",
            "csrf_token": token,
            "next": "https://evil.example/",
        },
    )
    assert r.headers["location"] == "/console/overview"


def test_sign_out_ends_the_session(signed_in: Console, admins: Admins, hub: Hub) -> None:
    value = signed_in.http.cookies[SESSION_COOKIE]
    r = signed_in.http.post(
        "/console/logout", data={"csrf_token": signed_in.csrf()}, follow_redirects=False
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/console/login?signed_out=1"
    assert hub.sessions.lookup(value) is None
    assert "signout" in actions(hub, admins.org.org_id)
    assert signed_in.http.get("/console/overview", follow_redirects=False).status_code == 303


def test_sign_out_needs_the_csrf_token(signed_in: Console) -> None:
    r = signed_in.http.post("/console/logout", follow_redirects=False)
    assert r.status_code == 403
    assert signed_in.http.get("/console/overview").status_code == 200


def test_an_expired_session_is_signed_out(signed_in: Console, hub: Hub) -> None:
    value = signed_in.http.cookies[SESSION_COOKIE]
    info = hub.sessions.lookup(value)
    assert info is not None
    assert timedelta(hours=7) < info.expires_at - utcnow() <= timedelta(hours=8)
    with hub.db.write() as conn:
        conn.execute(
            update(sessions)
            .where(sessions.c.admin_id == info.admin_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert hub.sessions.lookup(value) is None
    r = signed_in.http.get("/console/overview", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/console/login")


# -- one email, an account in each of two orgs -------------------------------------------

OTHER_PASSWORD = "a different passphrase for org A"
ORG_NEEDED = "Enter the ID of the organization to sign in to."
NOT_RIGHT = "The email or password is not right."


@dataclass
class TwinAccounts:
    email: str
    org_a: str
    org_b: str


def twins(hub: Hub, admins: Admins, signed_in: Console, password_a: str) -> TwinAccounts:
    """Org B has bob; org A's admin then adds bob to A through the settings page."""
    org_b = hub.orgs.create("Org B").id
    email = f"bob-{uuid.uuid4().hex[:8]}@b.example"
    hub.admins.create(org_b, email, PASSWORD, "admin", "Bob of B")
    created = signed_in.http.post(
        "/console/settings/admins",
        follow_redirects=False,
        data={
            "csrf_token": signed_in.csrf(),
            "email": email,
            "password": password_a,
            "role": "readonly",
            "display_name": "Bob of A",
        },
    )
    assert created.status_code == 303
    assert created.headers["location"] == "/console/settings?created=1#admins"
    return TwinAccounts(email, admins.org.org_id, org_b)


def signed_in_org(hub: Hub, console: Console) -> str:
    session = hub.sessions.lookup(console.http.cookies.get(SESSION_COOKIE) or "")
    assert session is not None, "not signed in"
    return session.org_id


def test_an_org_adds_an_email_another_org_has_and_sees_nothing_of_it(
    hub: Hub, admins: Admins, signed_in: Console
) -> None:
    accounts = twins(hub, admins, signed_in, OTHER_PASSWORD)
    settings = signed_in.http.get("/console/settings?created=1").text
    assert "Administrator created." in settings
    assert settings.count(accounts.email) == 1 and "Bob of A" in settings
    assert "Bob of B" not in settings and accounts.org_b not in settings
    again = signed_in.http.post(
        "/console/settings/admins",
        data={
            "csrf_token": signed_in.csrf(),
            "email": accounts.email.upper(),
            "password": OTHER_PASSWORD,
            "role": "admin",
        },
    )
    assert again.status_code == 400
    assert "already exists in this organization" in again.text
    assert "Bob of B" not in again.text and accounts.org_b not in again.text


def test_each_account_signs_in_to_its_own_org(
    hub: Hub, admins: Admins, signed_in: Console, make_console: Callable[[], Console]
) -> None:
    accounts = twins(hub, admins, signed_in, OTHER_PASSWORD)
    for password, org_id in ((OTHER_PASSWORD, accounts.org_a), (PASSWORD, accounts.org_b)):
        browser = make_console()
        assert browser.sign_in(accounts.email, password).status_code == 303
        assert signed_in_org(hub, browser) == org_id
        assert "signin" in actions(hub, org_id)


def test_the_same_password_in_two_orgs_asks_for_the_organization(
    hub: Hub, admins: Admins, signed_in: Console, make_console: Callable[[], Console]
) -> None:
    accounts = twins(hub, admins, signed_in, PASSWORD)
    browser = make_console()
    asked = browser.sign_in(accounts.email)
    assert asked.status_code == 401
    assert ORG_NEEDED in asked.text and 'name="org"' in asked.text
    assert accounts.org_a not in asked.text and accounts.org_b not in asked.text
    assert SESSION_COOKIE not in browser.http.cookies
    for org_id in (accounts.org_a, accounts.org_b):
        assert "signin.org_needed" not in actions(hub, org_id)
        browser = make_console()
        assert browser.sign_in(accounts.email, org=org_id).status_code == 303
        assert signed_in_org(hub, browser) == org_id


def test_a_wrong_password_reveals_nothing(
    hub: Hub, admins: Admins, signed_in: Console, make_console: Callable[[], Console]
) -> None:
    accounts = twins(hub, admins, signed_in, OTHER_PASSWORD)
    browser = make_console()
    twin = browser.sign_in(accounts.email, "not the password at all")
    nobody = browser.sign_in(f"nobody-{uuid.uuid4().hex[:8]}@b.example", "not the password")
    for r in (twin, nobody):
        assert r.status_code == 401
        assert NOT_RIGHT in r.text and 'name="org"' not in r.text
    # Each org owns its account, so each records the failure, and neither sees the other.
    for org_id, other in ((accounts.org_a, accounts.org_b), (accounts.org_b, accounts.org_a)):
        failed = hub.audit.events(org_id, action="signin.failed")[0]
        assert [e.actor for e in failed] == [accounts.email]
        assert other not in str(failed[0])
    # Naming org A, org B's password opens nothing, and only A hears of it.
    named = browser.sign_in(accounts.email, PASSWORD, org=accounts.org_a)
    assert named.status_code == 401 and NOT_RIGHT in named.text
    assert f'value="{accounts.org_a}"' in named.text
    assert hub.audit.events(accounts.org_a, action="signin.failed")[1] == 2
    assert hub.audit.events(accounts.org_b, action="signin.failed")[1] == 1


def test_signing_in_to_one_org_does_not_reset_the_guesses_at_another(
    hub: Hub, admins: Admins, signed_in: Console, make_console: Callable[[], Console]
) -> None:
    """Org A's bob knows his own password: his sign-ins must not buy guesses at B's bob."""
    accounts = twins(hub, admins, signed_in, OTHER_PASSWORD)
    attacker = make_console()
    for _ in range(4):
        assert attacker.sign_in(accounts.email, "wrong password!!").status_code == 401
    assert attacker.sign_in(accounts.email, OTHER_PASSWORD, org=accounts.org_a).status_code == 303
    guesser = make_console()
    assert (
        guesser.sign_in(accounts.email, "wrong password!!", org=accounts.org_b).status_code == 401
    )
    blocked = guesser.sign_in(accounts.email, PASSWORD, org=accounts.org_b)
    assert blocked.status_code == 429
    assert "signin.blocked" in actions(hub, accounts.org_b)
    assert "signin.blocked" not in actions(hub, accounts.org_a)


def test_the_login_url_can_name_the_org(console: Console, admins: Admins) -> None:
    assert 'name="org"' not in console.http.get("/console/login").text
    named = console.http.get("/console/login", params={"org": admins.org.org_id}).text
    assert f'name="org" value="{admins.org.org_id}"' in named
    assert console.sign_in(admins.admin_email, org=admins.org.org_id).status_code == 303
