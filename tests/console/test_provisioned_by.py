"""Which client provisions a user or group, on its console page: Entra's provisioning job
of an instance (by the job's token), a pull sync (by its instance), another SCIM client by
its token's name (Okta), an administrator otherwise; kept through the recycle bin."""

from __future__ import annotations

import re
import uuid

from scimhub.api.services import Hub
from scimhub.directory.actor import Actor
from scimhub.directory.events import Source, SourceKind, caused_by
from scimhub.directory.imports import ImportItem
from scimhub.directory.locator import Locator
from tests.brake_setup import pull_instance, push_instance
from tests.conftest import OrgClient

from .conftest import Admins, Console

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _provisioned_by(console: Console, path: str) -> str:
    page = console.http.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'data-provisioned-by="[^"]*">([^<]*)<', page.text)
    assert found, page.text
    return found.group(1).strip()


def _scim(org: OrgClient, secret: str) -> OrgClient:
    return OrgClient(org.http, org.org_id, secret)


def test_each_client_is_named(signed_in: Console, admins: Admins, hub: Hub) -> None:
    org = admins.org
    okta_secret, _ = hub.tokens.create(org.org_id, name="Okta")
    okta = _scim(org, okta_secret)
    r = okta.post("/Users", {"schemas": [USER], "userName": f"ann-{uuid.uuid4().hex[:6]}"})
    ann = r.json()["id"]
    assert (
        _provisioned_by(signed_in, f"/console/users/{ann}") == "SCIM client with the token “Okta”"
    )

    instance, job_secret = push_instance(hub, org.org_id)
    entra = _scim(org, job_secret)
    r = entra.post("/Groups", {"schemas": [GROUP], "displayName": f"Eng {uuid.uuid4().hex[:6]}"})
    group = r.json()["id"]
    expected = f"Entra provisioning job of {instance.name}"
    assert _provisioned_by(signed_in, f"/console/groups/{group}") == f"Provisioned by {expected}"
    # Entra's job takes Ann over: the latest provisioning client is the one shown
    assert (
        entra.patch(
            f"/Users/{ann}",
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": "Engineer"}],
            },
        ).status_code
        == 200
    )
    assert _provisioned_by(signed_in, f"/console/users/{ann}") == expected

    pulled = pull_instance(hub, org.org_id)
    loc = Locator("https://hub.test", org.org_id)
    with caused_by(Source(SourceKind.ENTRA, pulled.name, pulled.id)):
        result = hub.pull.imports.users(
            org.org_id,
            [
                ImportItem(
                    "o-1", None, {"schemas": [USER], "userName": f"bob-{uuid.uuid4().hex[:6]}"}
                )
            ],
            loc,
        )
    bob = result.ids["o-1"]
    label = f"Pull sync from Entra instance {pulled.name}"
    assert _provisioned_by(signed_in, f"/console/users/{bob}") == label

    # an administrator's own change leaves the provisioning client as it was
    with caused_by(Source(SourceKind.ADMIN, "Ada Admin")):
        hub.users.patch(
            org.org_id,
            bob,
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": "Boss"}],
            },
            loc,
        )
        carl = hub.users.create(org.org_id, {"schemas": [USER], "userName": "carl-admin"}, loc)
    assert _provisioned_by(signed_in, f"/console/users/{bob}") == label
    assert _provisioned_by(signed_in, f"/console/users/{carl['id']}").startswith("an administrator")

    # the recycle bin keeps it
    assert okta.delete(f"/Users/{bob}").status_code == 204
    hub.recycle_bin.restore_user(org.org_id, bob, loc, actor=Actor("Ada Admin", "T_1"))
    assert _provisioned_by(signed_in, f"/console/users/{bob}") == label
