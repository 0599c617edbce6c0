"""Organization Settings > User attributes: the profile and custom attributes listed, Add and
Remove (with purge) and the undeclared setting as CSRF-checked forms for full admins; another
organisation's attribute cannot be removed from here."""

from __future__ import annotations

import re

from scimhub.api.services import Hub
from scimhub.scim.custom import Definition
from tests.conftest import OrgClient

from .conftest import Admins, Console

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
EXT = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


def test_add_list_use_and_remove(signed_in: Console, admins: Admins, hub: Hub) -> None:
    org = admins.org
    settings = signed_in.http.get("/console/settings").text
    assert 'href="/console/settings/attributes?resource=User"' in settings
    assert "Review and configure all user attributes: profile and custom attributes" in settings
    page = signed_in.http.get("/console/settings/attributes?resource=User")
    assert page.status_code == 200 and "userName" in page.text and "employeeNumber" in page.text

    done = signed_in.http.post(
        "/console/settings/attributes/add",
        data={
            "csrf_token": signed_in.csrf(),
            "resource": "User",
            "schema": EXT,
            "name": "costCenter",
            "type": "string",
            "unique": "on",
        },
    )
    assert done.status_code == 200 and f"Defined {EXT}:costCenter." in done.text
    assert f'data-attribute="{EXT}:costCenter"' in done.text
    bad = signed_in.http.post(
        "/console/settings/attributes/add",
        data={"csrf_token": signed_in.csrf(), "resource": "User", "schema": "nope", "name": "x"},
    )
    assert 'role="alert"' in bad.text and "is not a schema URN" in bad.text
    ann = org.post("/Users", {"schemas": [USER, EXT], "userName": "ann", EXT: {"costCenter": "X"}})
    assert ann.status_code == 201, ann.text

    (attribute,) = hub.attributes.definitions(org.org_id)
    path = f"/console/settings/attributes/{attribute.id}/remove"
    held = signed_in.http.post(path, data={"csrf_token": signed_in.csrf(), "resource": "User"})
    assert "hold a value" in held.text
    gone = signed_in.http.post(
        path, data={"csrf_token": signed_in.csrf(), "resource": "User", "purge": "on"}
    )
    assert "cleared from 1 resource(s)" in gone.text
    assert EXT not in org.get(f"/Users/{ann.json()['id']}").json()
    for action in ("Custom attribute defined", "Custom attribute removed"):
        audit, _ = hub.audit.events(org.org_id, action=action)
        assert audit[0].actor == admins.admin_email, action


def test_undeclared_setting_and_guards(
    signed_in: Console, signed_in_readonly: Console, admins: Admins, hub: Hub, other_org: OrgClient
) -> None:
    r = signed_in.http.post(
        "/console/settings/attributes/undeclared",
        data={"csrf_token": signed_in.csrf(), "undeclared": "keep"},
    )
    assert "Undeclared attributes are now kept." in r.text
    assert hub.attributes.keeps_undeclared(admins.org.org_id)
    assert re.search(r'value="keep"\s+checked', r.text)

    theirs = hub.attributes.add(other_org.org_id, Definition("User", EXT, "badge"))
    r = signed_in.http.post(
        f"/console/settings/attributes/{theirs.id}/remove",
        data={"csrf_token": signed_in.csrf(), "resource": "User"},
    )
    assert "not found" in r.text
    assert [d.id for d in hub.attributes.definitions(other_org.org_id)] == [theirs.id]

    add = {"resource": "User", "schema": EXT, "name": "x"}
    forged = signed_in.http.post(
        "/console/settings/attributes/add", data={**add, "csrf_token": "f"}
    )
    assert forged.status_code == 403
    viewer = signed_in_readonly
    listing = viewer.http.get("/console/settings/attributes").text
    assert "data-add-attribute" not in listing
    refused = viewer.http.post(
        "/console/settings/attributes/add", data={**add, "csrf_token": viewer.csrf()}
    )
    assert refused.status_code == 403
    assert hub.attributes.definitions(admins.org.org_id) == []
