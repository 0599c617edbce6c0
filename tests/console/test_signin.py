"""Signing in and out: cookies, the audit trail, the rate limit, expiry, redirects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update

from scimhub.api.services import Hub
from scimhub.config import Settings
from scimhub.console.auth import COOKIE
from scimhub.store.engine import utcnow
from scimhub.store.tables import sessions

from .conftest import Admins, Console


def actions(hub: Hub, org_id: str) -> list[str]:
    return [e.action for e in hub.audit.events(org_id, limit=50)[0]]


def test_sign_in_sets_a_session_cookie_and_is_audited(console: Console, admins: Admins,
                                                      hub: Hub) -> None:
    r = console.sign_in(admins.admin_email)
    assert r.status_code == 303
    assert r.headers["location"] == "/console/overview"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "Secure", "Path=/", "SameSite=lax"):
        assert attribute.lower() in cookie.lower()
    page = console.http.get("/console/overview")
    assert page.status_code == 200
    assert "Ada Admin" in page.text
    assert "signin" in actions(hub, admins.org.org_id)


def test_only_the_hash_of_the_cookie_is_stored(console: Console, admins: Admins,
                                               hub: Hub) -> None:
    console.sign_in(admins.admin_email)
    value = console.http.cookies[COOKIE]
    with hub.db.read() as conn:
        stored = conn.execute(select(sessions.c.id_hash)).scalars().all()
    assert value not in stored
    assert hub.sessions.lookup(value) is not None


def test_wrong_password_and_unknown_email_are_refused(console: Console, admins: Admins,
                                                      hub: Hub) -> None:
    r = console.sign_in(admins.admin_email, "not the password at all")
    assert r.status_code == 401
    assert "email or password is not right" in r.text
    assert COOKIE not in console.http.cookies
    assert console.sign_in("nobody@example.com").status_code == 401
    assert "signin.failed" in actions(hub, admins.org.org_id)


def test_sign_in_is_rate_limited_after_five_failures(console: Console, admins: Admins,
                                                     hub: Hub) -> None:
    for _ in range(5):
        assert console.sign_in(admins.admin_email, "wrong password!!").status_code == 401
    blocked = console.sign_in(admins.admin_email)  # even the right password now waits
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text
    assert "signin.blocked" in actions(hub, admins.org.org_id)


def test_a_success_clears_the_account_failures(make_console: Callable[[], Console],
                                               admins: Admins) -> None:
    console = make_console()
    for _ in range(4):
        console.sign_in(admins.admin_email, "wrong password!!")
    assert console.sign_in(admins.admin_email).status_code == 303
    later = make_console()
    for _ in range(4):
        assert later.sign_in(admins.admin_email, "wrong password!!").status_code == 401


def test_the_limit_holds_across_processes(settings: Settings, admins: Admins,
                                          hub: Hub) -> None:
    """Two hubs on one database stand for two API processes: each sees the other's tries."""
    other = Hub.open(settings)
    try:
        key = f"account:{admins.admin_email}"
        allowed = [(hub if i % 2 else other).sessions.begin_attempt(key, None).allowed
                   for i in range(7)]
    finally:
        other.close()
    assert allowed == [True] * 5 + [False] * 2


def test_login_form_needs_its_csrf_token(console: Console, admins: Admins) -> None:
    console.http.get("/console/login")
    r = console.http.post("/console/login", follow_redirects=False, data={
        "email": admins.admin_email, "password": "correct horse battery staple",
        "csrf_token": "forged"})
    assert r.status_code == 403
    assert COOKIE not in console.http.cookies


def test_pages_redirect_to_sign_in_and_back(console: Console, admins: Admins) -> None:
    r = console.http.get("/console/users?q=ann", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/console/login?next=/console/users%3Fq%3Dann"
    form = console.http.get(r.headers["location"])
    assert 'name="next" value="/console/users?q=ann"' in form.text
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = console.http.post("/console/login", follow_redirects=False, data={
        "email": admins.admin_email, "password": "correct horse battery staple",
        "csrf_token": token, "next": "/console/users?q=ann"})
    assert done.headers["location"] == "/console/users?q=ann"


def test_next_cannot_leave_the_console(console: Console, admins: Admins) -> None:
    form = console.http.get("/console/login?next=//evil.example/x")
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = console.http.post("/console/login", follow_redirects=False, data={
        "email": admins.admin_email, "password": "correct horse battery staple",
        "csrf_token": token, "next": "https://evil.example/"})
    assert r.headers["location"] == "/console/overview"


def test_sign_out_ends_the_session(signed_in: Console, admins: Admins, hub: Hub) -> None:
    value = signed_in.http.cookies[COOKIE]
    r = signed_in.http.post("/console/logout", data={"csrf_token": signed_in.csrf()},
                            follow_redirects=False)
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
    value = signed_in.http.cookies[COOKIE]
    info = hub.sessions.lookup(value)
    assert info is not None
    assert timedelta(hours=7) < info.expires_at - utcnow() <= timedelta(hours=8)
    with hub.db.write() as conn:
        conn.execute(update(sessions).where(sessions.c.admin_id == info.admin_id)
                     .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert hub.sessions.lookup(value) is None
    r = signed_in.http.get("/console/overview", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/console/login")
