"""The mapping editor's targets (the org's own User attributes among them) and a pull
instance's mapping change that adds a directory extension (read from scratch)."""

from __future__ import annotations

import uuid

from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.directory.instances import Instance, Mode
from scimhub.directory.tokens import TokenKind
from scimhub.integrations.entra.mappings import DEFAULT_MAPPINGS
from scimhub.integrations.entra.pull import USER_SELECT, user_select
from scimhub.scim.custom import AttributeType, Definition

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
EXTENSION = "extension_0a1b2c3d4e5f60718293a4b5c6d7e8f9_costCenter"


def _org(hub: Hub, name: str) -> tuple[str, dict[str, str], Instance]:
    org = hub.orgs.create(name)
    secret, _ = hub.tokens.create(org.id, kind=TokenKind.ADMIN)
    instance = hub.instances.create(
        org.id,
        str(uuid.uuid4()),
        name=f"{name} pull",
        mode=Mode.PULL,
        scope="all",
        mappings=[dict(m) for m in DEFAULT_MAPPINGS],
        auto_sync=False,
    )
    return f"/extIntegration/azureAD/{org.id}/v1", {"Authorization": f"Bearer {secret}"}, instance


def test_the_editor_offers_the_orgs_own_attributes_only(hub: Hub, app_client: TestClient) -> None:
    base_a, auth_a, inst_a = _org(hub, "targets a")
    base_b, auth_b, inst_b = _org(hub, "targets b")
    hub.attributes.add(inst_a.org_id, Definition("User", CUSTOM, "costCenter"))
    hub.attributes.add(
        inst_a.org_id, Definition("User", CUSTOM, "badges", AttributeType.INTEGER, True)
    )
    hub.attributes.add(inst_a.org_id, Definition("Group", f"{CUSTOM[:-4]}Group", "site"))
    r = app_client.get(f"{base_a}/instances/{inst_a.id}/mappings", headers=auth_a)
    assert r.status_code == 200, r.text
    targets = r.json()["targets"]
    assert [t["target"] for t in targets if not t["custom"]] == [
        m["target"] for m in DEFAULT_MAPPINGS
    ]
    custom = sorted((t for t in targets if t["custom"]), key=lambda t: t["name"], reverse=True)
    assert custom == [
        {
            "target": f"{CUSTOM}:costCenter",
            "custom": True,
            "name": "costCenter",
            "type": "string",
            "multiValued": False,
        },
        {
            "target": f"{CUSTOM}:badges",
            "custom": True,
            "name": "badges",
            "type": "integer",
            "multiValued": True,
        },
    ]  # Group attributes are not User targets
    # org B sees none of org A's attributes, nor org A's instance
    r = app_client.get(f"{base_b}/instances/{inst_b.id}/mappings", headers=auth_b)
    assert not any(t["custom"] for t in r.json()["targets"])
    r = app_client.get(f"{base_b}/instances/{inst_a.id}/mappings", headers=auth_b)
    assert r.status_code == 404


def test_a_mapping_change_restarts_the_pull_users_round(hub: Hub, app_client: TestClient) -> None:
    base, auth, instance = _org(hub, "pull select")
    hub.instances.update(instance, users_delta_link="/users/delta?$deltatoken=x")
    path = f"{base}/instances/{instance.id}/mappings"
    chosen = [*DEFAULT_MAPPINGS, {"source": EXTENSION, "target": f"{CUSTOM}:costCenter"}]
    r = app_client.put(path, headers=auth, json={"mappings": chosen})
    assert r.status_code == 200, r.text
    assert r.json()["mappings"][-1]["source"] == EXTENSION and "targets" in r.json()
    saved = hub.instances.get(instance.org_id, instance.id)
    assert saved is not None and saved.users_delta_link is None
    assert user_select(saved.mappings) == f"{USER_SELECT},{EXTENSION}"

    # any other change restarts it too (users Entra did not change get the new mappings);
    # saving the same mappings again does not
    saved = hub.instances.update(saved, users_delta_link="/users/delta?$deltatoken=y")
    renamed = [m for m in chosen if m["target"] != "title"]
    assert app_client.put(path, headers=auth, json={"mappings": renamed}).status_code == 200
    restarted = hub.instances.get(instance.org_id, instance.id)
    assert restarted is not None and restarted.users_delta_link is None
    saved = hub.instances.update(restarted, users_delta_link="/users/delta?$deltatoken=z")
    assert app_client.put(path, headers=auth, json={"mappings": renamed}).status_code == 200
    kept = hub.instances.get(instance.org_id, instance.id)
    assert kept is not None and kept.users_delta_link == "/users/delta?$deltatoken=z"
