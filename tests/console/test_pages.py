"""Every page renders for a signed-in admin, lists page and search in the directory, and
one organisation's admin never sees another's data, whatever the URL says."""

from __future__ import annotations

import re

import pytest

from scimhub.api.services import Hub
from tests.conftest import OrgClient

from .conftest import Admins, Console

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PAGES = [
    "/console/overview",
    "/console/users",
    "/console/groups",
    "/console/settings",
    "/console/troubleshooting",
    "/console/audit",
    "/console/provisioning",
    "/console/status",
]


def add_user(org: OrgClient, name: str, family: str = "Smith") -> str:
    r = org.post(
        "/Users",
        {
            "schemas": [USER],
            "userName": name,
            "externalId": f"ext-{name}",
            "name": {"givenName": name.split("@")[0], "familyName": family},
            "displayName": f"{name.split('@')[0].title()} {family}",
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def add_group(org: OrgClient, name: str, members: list[str]) -> str:
    r = org.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_the_navigation(signed_in: Console, path: str) -> None:
    r = signed_in.http.get(path)
    assert r.status_code == 200, r.text
    for label in (
        "Overview",
        "Users",
        "Groups",
        "Organization Settings",
        "Troubleshooting",
        "Audit log",
        "Provisioning log",
    ):
        assert f">{label}</a>" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert "<script>" not in r.text  # no inline script: the policy would block it


def test_users_are_searched_and_paged_in_the_directory(signed_in: Console, admins: Admins) -> None:
    org = admins.org
    for i in range(55):
        add_user(org, f"user{i:02d}@example.com", family="Zed" if i == 7 else "Smith")
    first = signed_in.http.get("/console/users")
    assert "1-50 of 55 users" in first.text
    assert "user00@example.com" in first.text and "user50@example.com" not in first.text
    second = signed_in.http.get("/console/users?page=2")
    assert "51-55 of 55 users" in second.text and "user54@example.com" in second.text
    found = signed_in.http.get("/console/users", params={"q": "Zed", "by": "name"})
    assert "1-1 of 1 users" in found.text and "user07@example.com" in found.text
    by_login = signed_in.http.get("/console/users", params={"q": "USER07", "by": "login"})
    assert "1-1 of 1 users" in by_login.text
    quoted = signed_in.http.get("/console/users", params={"q": 'a"b\\c'})
    assert quoted.status_code == 200 and "No user matches" in quoted.text
    assert signed_in.http.get("/console/users", params={"q": "x\x00"}).status_code == 400
    assert signed_in.http.get("/console/users?page=-3").status_code == 200


def test_user_and_group_detail(signed_in: Console, admins: Admins) -> None:
    org = admins.org
    ann = add_user(org, "ann@example.com", "Archer")
    others = [add_user(org, f"m{i}@example.com") for i in range(51)]
    team = add_group(org, "Team Blue", [ann, *others])
    user = signed_in.http.get(f"/console/users/{ann}")
    assert user.status_code == 200
    assert "Archer" in user.text and "ext-ann@example.com" in user.text
    assert f'href="/console/groups/{team}">Team Blue' in user.text
    group = signed_in.http.get(f"/console/groups/{team}")
    assert "52 direct members" in group.text and "1-50 of 52 members" in group.text
    assert "51-52 of 52 members" in signed_in.http.get(f"/console/groups/{team}?page=2").text
    groups = signed_in.http.get("/console/groups", params={"q": "blue"})
    assert "Team Blue" in groups.text


def test_another_orgs_data_is_not_reachable(
    signed_in: Console, admins: Admins, other_org: OrgClient
) -> None:
    theirs = add_user(other_org, "secret-person@other.example")
    their_group = add_group(other_org, "Their Group", [theirs])
    assert signed_in.http.get(f"/console/users/{theirs}").status_code == 404
    assert signed_in.http.get(f"/console/groups/{their_group}").status_code == 404
    listing = signed_in.http.get("/console/users", params={"q": "secret-person"})
    assert "No user matches" in listing.text and "secret-person@" not in listing.text
    log = signed_in.http.get("/console/provisioning")
    assert other_org.org_id not in log.text


def test_provisioning_log_filters(signed_in: Console, admins: Admins) -> None:
    org = admins.org
    add_user(org, "logged@example.com")
    failed = org.get("/Users/no-such-user")
    assert failed.status_code == 404
    tid = failed.headers["TrackingID"]
    everything = signed_in.http.get("/console/provisioning")
    assert tid in everything.text and "POST" in everything.text
    failures = signed_in.http.get("/console/provisioning?outcome=failure")
    assert tid in failures.text and '<span class="method">POST</span>' not in failures.text
    successes = signed_in.http.get("/console/provisioning?outcome=success")
    assert tid not in successes.text
    one = signed_in.http.get("/console/provisioning", params={"tracking_id": tid})
    assert "1-1 of 1 requests" in one.text


def test_audit_log_and_overview(signed_in: Console, admins: Admins) -> None:
    add_user(admins.org, "counted@example.com")
    audit = signed_in.http.get("/console/audit")
    assert "signin" in audit.text and admins.admin_email in audit.text
    overview = signed_in.http.get("/console/overview")
    values = re.findall(r'<span class="stat-value">([\d,]+)</span>', overview.text)
    assert values[:2] == ["1", "0"]  # one user, no group


def test_status_page_checks_the_components(signed_in: Console) -> None:
    r = signed_in.http.get("/console/status")
    assert "Database" in r.text and "Operational" in r.text
    assert "Provisioning log writer" in r.text


def test_unknown_pages_are_an_html_404(signed_in: Console, hub: Hub) -> None:
    r = signed_in.http.get("/console/nowhere")
    assert r.status_code == 404 and "Page not found" in r.text


def test_status_page_says_where_background_sync_runs(signed_in: Console, hub: Hub) -> None:
    body = signed_in.http.get("/console/status").text
    row = re.search(r"<tr><td>Background sync</td>(.*?)</tr>", body, re.S)
    assert row is not None
    if hub.db.is_sqlite:  # the in-process scheduler, in this very process
        assert "Operational" in row.group(1) and "in the API process" in row.group(1)
    else:  # PostgreSQL: workers expected, and none runs during this test
        assert "Down" in row.group(1) and "no scimhub worker is running" in row.group(1)
