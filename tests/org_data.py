"""An organisation with a row in every table that holds organisation data, made through the
services where they exist (so the rows are the ones the hub really writes) and inserted
where only background work or Entra would write them: for the tests of deleting and
exporting an organisation."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from scimhub.api.services import Hub
from scimhub.directory.actor import Actor
from scimhub.directory.links import Link, Links
from scimhub.directory.locator import Locator
from scimhub.directory.request_log import RequestEntry
from scimhub.directory.setup_links import Visit
from scimhub.directory.signin_flows import SignInFlows
from scimhub.directory.tokens import TokenKind
from scimhub.scim.custom import definition_from_json
from scimhub.store.engine import event_time, utcnow
from scimhub.store.tables import (
    burst_scans,
    entra_links,
    removal_bursts,
    removals,
    webhook_deliveries,
    webhook_endpoints,
)
from tests.brake_setup import pull_instance

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
EXT = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
PASSWORD = "correct horse battery staple"
USER_PASSWORD = "S3cret-password-of-ada!"
WEBHOOK_SECRET_ENCRYPTED = "gAAAA-not-a-real-fernet-token-but-a-secret-column"


@dataclass(frozen=True)
class Filled:
    org_id: str
    user_ids: list[str]
    group_ids: list[str]
    deleted_user_id: str
    instance_id: str
    endpoint_id: str
    admin_email: str
    scim_token: str
    admin_token: str
    link_secret: str
    session_cookie: str
    link_cookie: str
    ldap_source_id: str


def fill(hub: Hub, org_id: str, *, users: int = 3) -> Filled:
    loc = Locator("https://hub.test", org_id)
    actor = Actor("test", f"TEST_{uuid.uuid4()}_1")
    hub.attributes.add(
        org_id,
        definition_from_json(
            {"resource": "User", "schema": EXT, "name": "badge", "type": "string"}
        ),
        actor=actor,
    )
    user_ids = []
    for n in range(users):
        body = {
            "schemas": [USER, EXT],
            "userName": f"user{n}@{org_id[:8]}.example",
            "displayName": f"User {n}",
            EXT: {"badge": f"B-{n}"},
        }
        if n == 0:
            body["password"] = USER_PASSWORD
        user_ids.append(hub.users.create(org_id, body, loc)["id"])
    parent = hub.groups.create(
        org_id, {"displayName": "Parent", "members": [{"value": user_ids[0]}]}, loc
    )["id"]
    child = hub.groups.create(
        org_id,
        {"displayName": "Child", "members": [{"value": u} for u in user_ids]},
        loc,
    )["id"]
    _add_members(hub, org_id, parent, [child], loc)  # a nested group
    deleted = hub.users.create(
        org_id, {"schemas": [USER], "userName": f"gone@{org_id[:8]}.example"}, loc
    )["id"]
    _add_members(hub, org_id, child, [deleted], loc)
    hub.users.delete(org_id, deleted, loc=loc)  # into the recycle bin

    scim_token, scim_info = hub.tokens.create(org_id, name="Entra job", actor=actor)
    admin_token, _ = hub.tokens.create(org_id, name="script", kind=TokenKind.ADMIN, actor=actor)
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    admin = hub.admins.create(org_id, email, PASSWORD, "admin", actor="test")
    cookie, _ = hub.sessions.start(admin)
    link_secret, _ = hub.setup_links.create(org_id, note="Contoso IT", actor=actor)
    hub.setup_links.create(org_id, note="unused", actor=actor)
    link_cookie, _ = hub.setup_links.redeem(link_secret, visit=Visit("127.0.0.1", None))
    SignInFlows(hub.db).begin(  # a Microsoft sign-in under way
        secrets.token_urlsafe(16),
        org_id=org_id,
        browser=secrets.token_urlsafe(16),
        tenant_id=str(uuid.uuid4()),
        flow={"code_verifier": "kept secret"},
        next_path="/console/overview",
    )

    instance = pull_instance(hub, org_id)
    ldap = hub.ldap.sources.create(  # an AD source, its entries and links
        org_id,
        name="Contoso AD",
        url="ldaps://dc.contoso.example",
        bind_dn="CN=scimhub,DC=contoso,DC=example",
        password_encrypted=hub.webhooks.box.encrypt("kept secret"),
        config={},
        enabled=False,
    )
    hub.ldap.sources.save_entries(ldap.id, [(str(uuid.uuid4()), "cn=ann,dc=contoso", "User")])
    Links(hub.db).save(ldap.id, [Link(str(uuid.uuid4()), "User", user_ids[0], "digest")])
    hub.instances.new_consent_state(
        secrets.token_urlsafe(16), org_id, "test", None, {}, {"flow": "kept secret"}
    )
    hub.instances.record_failure(
        org_id,
        instance.id,
        tracking_id=actor.tracking_id or "",
        operation="scheduled pull",
        status=401,
        code="701018",
        upstream_code="AADSTS700016",
        upstream_message="gone",
        correlation_id=None,
        client_request_id=None,
    )
    hub.requests.record(
        RequestEntry(
            org_id,
            event_time(),
            "GET",
            f"/identity/scim/{org_id}/v2/Users",
            "User",
            200,
            None,
            3,
            actor.tracking_id or "",
            "test",
            scim_info.id,
        )
    )
    hub.requests.flush()
    endpoint_id = str(uuid.uuid4())
    now = utcnow()
    with hub.db.write() as conn:
        conn.execute(
            entra_links.insert().values(
                instance_id=instance.id,
                object_id=str(uuid.uuid4()),
                kind="User",
                resource_id=user_ids[0],
                digest="d" * 64,
            )
        )
        conn.execute(
            removals.insert().values(
                id=str(uuid.uuid4()),
                org_id=org_id,
                instance_id=instance.id,
                object_id=str(uuid.uuid4()),
                resource_type="User",
                resource_id=user_ids[1],
                name="user1",
                action="delete",
                state="held",
                noted=now,
            )
        )
        conn.execute(
            removal_bursts.insert().values(
                id=str(uuid.uuid4()),
                org_id=org_id,
                instance_id=instance.id,
                source={"kind": "scim"},
                started=now,
                ended=now + timedelta(minutes=1),
                removals=2,
                first_seq=1,
                last_seq=2,
                tracking_ids=[],
                state="open",
            )
        )
        conn.execute(
            burst_scans.insert().values(instance_id=instance.id, last_seq=0, window_removals=0)
        )
        conn.execute(
            webhook_endpoints.insert().values(
                id=endpoint_id,
                org_id=org_id,
                url="https://receiver.example/hook",
                event_types=[],
                enabled=True,
                secret_encrypted=WEBHOOK_SECRET_ENCRYPTED,
                cursor=0,
                state="ok",
                attempts=0,
                created=now,
            )
        )
        conn.execute(
            webhook_deliveries.insert().values(
                endpoint_id=endpoint_id,
                org_id=org_id,
                event_seq=1,
                event_id=str(uuid.uuid4()),
                attempt=1,
                time=now,
                status_code=200,
                latency_ms=5,
                outcome="delivered",
            )
        )
    return Filled(
        org_id,
        user_ids,
        [parent, child],
        deleted,
        instance.id,
        endpoint_id,
        email,
        scim_token,
        admin_token,
        link_secret,
        cookie,
        link_cookie,
        ldap.id,
    )


def _add_members(hub: Hub, org_id: str, group_id: str, ids: list[str], loc: Locator) -> None:
    hub.groups.patch(
        org_id,
        group_id,
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}],
        },
        loc,
    )
