"""The Deleted users and Deleted groups pages: reachable from Users and Groups, listing the
org's recycle bin (only its own), and Restore as a CSRF-checked form for full admins, with
the outcome, or the 409's reason, shown on the page."""

from __future__ import annotations

import re
from typing import Any

from scimhub.api.services import Hub
from tests.conftest import OrgClient

from .conftest import Admins, Console

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _deleted_user(org: OrgClient, name: str) -> dict[str, Any]:
    r = org.post("/Users", {"schemas": [USER], "userName": name, "displayName": name.title()})
    assert r.status_code == 201, r.text
    assert org.delete(f"/Users/{r.json()['id']}").status_code == 204
    user: dict[str, Any] = r.json()
    return user


def test_the_page_lists_the_bin_and_restore_brings_the_user_back(
    signed_in: Console, admins: Admins, hub: Hub, other_org: OrgClient
) -> None:
    org = admins.org
    user = _deleted_user(org, "gina@example.com")
    _deleted_user(other_org, "someone-else@example.com")
    assert 'href="/console/users/deleted"' in signed_in.http.get("/console/users").text

    listing = signed_in.http.get("/console/users/deleted")

    assert listing.status_code == 200
    assert "gina@example.com" in listing.text and user["id"] in listing.text
    assert "someone-else@example.com" not in listing.text  # another org's bin
    assert f'action="/console/users/deleted/{user["id"]}/restore"' in listing.text

    done = signed_in.http.post(
        f"/console/users/deleted/{user['id']}/restore", data={"csrf_token": signed_in.csrf()}
    )

    assert done.status_code == 200 and done.url.path == "/console/users/deleted"
    assert "Restored gina@example.com" in done.text and user["id"] not in done.text
    assert org.get(f"/Users/{user['id']}").status_code == 200
    audit, _ = hub.audit.events(org.org_id, action="Restore user")
    assert audit[0].actor == admins.admin_email and audit[0].tracking_id


def test_a_taken_name_shows_why_the_restore_was_refused(signed_in: Console, admins: Admins) -> None:
    org = admins.org
    old = org.post("/Groups", {"schemas": [GROUP], "displayName": "Finance"}).json()
    assert org.delete(f"/Groups/{old['id']}").status_code == 204
    holder = org.post("/Groups", {"schemas": [GROUP], "displayName": "finance"}).json()
    assert 'href="/console/groups/deleted"' in signed_in.http.get("/console/groups").text

    r = signed_in.http.post(
        f"/console/groups/deleted/{old['id']}/restore", data={"csrf_token": signed_in.csrf()}
    )

    assert r.status_code == 200 and r.url.path == "/console/groups/deleted"
    alert = re.search(r'role="alert">([^<]+)<', r.text)
    assert alert and holder["id"] in alert.group(1) and "Finance" in alert.group(1)
    assert old["id"] in r.text  # still in the bin


def test_restore_needs_the_csrf_token_and_a_full_admin(
    signed_in: Console, signed_in_readonly: Console, admins: Admins
) -> None:
    org = admins.org
    user = _deleted_user(org, "hank@example.com")
    path = f"/console/users/deleted/{user['id']}/restore"

    assert signed_in.http.post(path, data={"csrf_token": "forged"}).status_code == 403
    viewer = signed_in_readonly
    page = viewer.http.get("/console/users/deleted")
    assert "hank@example.com" in page.text and path not in page.text  # no button
    refused = viewer.http.post(path, data={"csrf_token": viewer.csrf()})
    assert refused.status_code == 403 and "read-only access" in refused.text

    assert org.get(f"/Users/{user['id']}").status_code == 404
