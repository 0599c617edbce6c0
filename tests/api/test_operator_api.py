"""The operator API (docs/operations.md): an organisation's whole life through
`/api/v1/orgs` — created, listed, renamed, given tokens and an admin that work, exported
with all of its data and none of its secrets, deleted with nothing left — each step in the
hub's own trail; strict bodies; unknown organisations 404 in the envelope."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.directory import org_export
from scimhub.directory.locator import Locator
from scimhub.store.tables import admins, setup_links, tokens, users
from tests.api.operator_client import Operator, envelope, operator
from tests.org_data import USER_PASSWORD, WEBHOOK_SECRET_ENCRYPTED, fill

SCIM = "application/scim+json"


@pytest.fixture
def op(hub: Hub, app_client: TestClient) -> Operator:
    return operator(hub, app_client)


def _scim(client: TestClient, org_id: str, token: str, method: str = "GET", **kw: Any) -> int:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM}
    return client.request(
        method, f"/identity/scim/{org_id}/v2/Users", headers=headers, **kw
    ).status_code


def test_an_organisation_from_creation_to_deletion(
    hub: Hub, app_client: TestClient, op: Operator
) -> None:
    created = op.ok("POST", "/orgs", 201, json={"name": "  Contoso  "})
    org_id = created["id"]
    assert created["name"] == "Contoso" and created["created"].endswith("Z")
    assert op.ok("GET", f"/orgs/{org_id}") == created
    listed = op.ok("GET", "/orgs", params={"limit": "500"})
    assert created in listed["data"] and listed["total"] >= 1
    renamed = op.ok("PATCH", f"/orgs/{org_id}", json={"name": "Contoso Ltd"})
    assert renamed == {**created, "name": "Contoso Ltd"}

    scim = op.ok("POST", f"/orgs/{org_id}/tokens", 201, json={"name": "Entra", "admin": False})
    assert scim["kind"] == "scim" and scim["scope"] == "write"
    assert scim["token"].startswith(scim["prefix"])
    script = op.ok(
        "POST",
        f"/orgs/{org_id}/tokens",
        201,
        json={"name": "events app", "scope": "read", "admin": True, "expiresInDays": 30},
    )
    assert (script["kind"], script["scope"]) == ("admin", "read") and script["expiresAt"]
    # they work: SCIM for the one, the events API for the other
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada"}
    assert _scim(app_client, org_id, scim["token"], "POST", json=user) == 201
    events = app_client.get(
        f"/api/v1/orgs/{org_id}/events", headers={"Authorization": f"Bearer {script['token']}"}
    )
    assert events.status_code == 200 and events.json()["data"][0]["type"] == "user.created"
    listed_tokens = op.ok("GET", f"/orgs/{org_id}/tokens")["data"]
    assert {t["id"] for t in listed_tokens} == {scim["id"], script["id"]}
    assert all("token" not in t for t in listed_tokens)  # the secret is shown once
    revoked = op.ok("DELETE", f"/orgs/{org_id}/tokens/{scim['id']}")
    assert revoked["revokedAt"] and revoked["id"] == scim["id"]
    assert _scim(app_client, org_id, scim["token"]) == 401

    admin = op.ok(
        "POST",
        f"/orgs/{org_id}/admins",
        201,
        json={"email": "it@contoso.example", "password": "a long passphrase", "role": "readonly"},
    )
    assert admin["role"] == "readonly" and admin["displayName"] == "it"
    assert hub.admins.check_password("it@contoso.example", "a long passphrase").admin
    assert [a["email"] for a in op.ok("GET", f"/orgs/{org_id}/admins")["data"]] == [
        "it@contoso.example"
    ]

    exported = json.loads(op.call("GET", f"/orgs/{org_id}/export").content)
    assert exported["org"]["name"] == "Contoso Ltd"
    assert [u["userName"] for u in exported["users"]] == ["ada"]

    gone = op.ok("DELETE", f"/orgs/{org_id}")
    assert gone["id"] == org_id and gone["removed"]["users"] == 1
    assert envelope(op.call("GET", f"/orgs/{org_id}"))[:2] == (404, "702020")
    assert envelope(op.call("DELETE", f"/orgs/{org_id}"))[:2] == (404, "702020")
    assert _scim(app_client, org_id, script["token"]) == 401
    trail, _ = hub.audit.platform_events(limit=500)
    mine = [(e.action, e.actor) for e in reversed(trail) if e.target == org_id]
    assert mine == [
        ("org.created", "operator:platform team"),
        ("org.renamed", "operator:platform team"),
        ("org.exported", "operator:platform team"),
        ("org.deleted", "operator:platform team"),
    ]
    shown = op.ok("GET", "/audit", params={"action": "org.deleted", "limit": "500"})
    assert any(e["target"] == org_id for e in shown["data"])


def test_the_export_holds_every_section_and_no_secret(hub: Hub, op: Operator) -> None:
    filled = fill(hub, op.new_org("exported"))
    r = op.call("GET", f"/orgs/{filled.org_id}/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert "attachment" in r.headers["content-disposition"]
    doc = json.loads(r.content)
    assert list(doc) == ["format", "exportedAt", "org", *(name for name, _ in org_export.SECTIONS)]
    assert doc["format"] == "scimhub.export/1" and doc["org"]["id"] == filled.org_id
    by_id = {u["id"]: u for u in doc["users"]}
    assert set(by_id) == set(filled.user_ids)
    parent, child = filled.group_ids
    assert {g["value"] for g in by_id[filled.user_ids[0]]["groups"]} == {parent, child}
    assert {g["id"] for g in doc["groups"]} == {parent, child}
    assert doc["nestedGroups"] == [{"groupId": parent, "memberGroupId": child}]
    assert [d["id"] for d in doc["deletedResources"]] == [filled.deleted_user_id]
    assert [a["name"] for a in doc["customAttributes"]] == ["badge"]
    assert [i["id"] for i in doc["instances"]] == [filled.instance_id]
    [ldap] = doc["ldapSources"]
    assert ldap["id"] == filled.ldap_source_id and "password" not in json.dumps(ldap).lower()
    assert [w["id"] for w in doc["webhooks"]] == [filled.endpoint_id]
    assert [a["email"] for a in doc["admins"]] == [filled.admin_email]
    assert len(doc["tokens"]) == 2 and len(doc["setupLinks"]) == 2
    assert {"token.created", "setup_link.used", "org.exported"} <= {
        a["action"] for a in doc["audit"]
    }
    assert doc["provisioningLog"][0]["method"] == "GET"
    assert {e["type"] for e in doc["events"]} >= {"user.created", "user.deleted"}

    raw = r.content.decode()
    with hub.db.read() as conn:
        hashes = [
            *conn.execute(select(users.c.password_hash).where(users.c.password_hash.is_not(None))),
            *conn.execute(select(admins.c.password_hash).where(admins.c.org_id == filled.org_id)),
            *conn.execute(select(tokens.c.token_hash).where(tokens.c.org_id == filled.org_id)),
            *conn.execute(
                select(setup_links.c.secret_hash).where(setup_links.c.org_id == filled.org_id)
            ),
            *conn.execute(
                select(setup_links.c.session_hash).where(setup_links.c.session_hash.is_not(None))
            ),
        ]
    secrets = [h[0] for h in hashes] + [
        USER_PASSWORD,
        WEBHOOK_SECRET_ENCRYPTED,
        "kept secret",  # the consent round trip's flow
        filled.scim_token,
        filled.admin_token,
        filled.link_secret,
        filled.session_cookie,
        filled.link_cookie,
    ]
    assert [s for s in secrets if s in raw] == []
    assert "password" not in raw.lower()


def test_the_export_is_streamed_a_page_at_a_time(
    hub: Hub, op: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory holds one page whatever the organisation's size: with pages of 2, seven users
    arrive in four pieces of the users section, and the pieces still make one document."""
    monkeypatch.setattr(org_export, "PAGE", 2)
    filled = fill(hub, op.new_org("paged"), users=7)
    loc = Locator("https://hub.test", filled.org_id)
    pieces = list(hub.export.pieces(filled.org_id, loc))
    start = pieces.index(b',"users":[')
    assert pieces[start + 5] == b"]"  # 2 + 2 + 2 + 1 users, then the section closes
    assert len(json.loads(b"".join(pieces))["users"]) == 7
    with op.http.stream(
        "GET",
        f"/api/v1/orgs/{filled.org_id}/export",
        headers={"Authorization": f"Bearer {op.token}"},
    ) as r:
        chunks = list(r.iter_raw())
    streamed = json.loads(b"".join(chunks))
    assert len(chunks) > 10 and streamed["users"] == json.loads(b"".join(pieces))["users"]


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/orgs", {}, "name is required"),
        ("/orgs", {"name": "   "}, "name must not be blank"),
        ("/orgs", {"name": 7}, "name must be a string"),
        ("/orgs", {"name": "x" * 257}, "at most 256"),
        ("/orgs", {"name": "a", "nmae": "b"}, "unknown member 'nmae'"),
        ("/orgs", ["name"], "must be a JSON object"),
        ("/orgs/{org}/tokens", {"scope": "admin"}, "scope must be one of"),
        ("/orgs/{org}/tokens", {"admin": "yes"}, "admin must be true or false"),
        ("/orgs/{org}/tokens", {"expiresInDays": 0}, "expiresInDays must be an integer"),
        ("/orgs/{org}/tokens", {"expiresInDays": True}, "expiresInDays must be an integer"),
        ("/orgs/{org}/tokens", {"kind": "operator"}, "unknown member 'kind'"),
        ("/orgs/{org}/admins", {"email": "a@b.example"}, "password is required"),
        ("/orgs/{org}/admins", {"email": "a@b.example", "password": "short"}, "12 characters"),
        ("/orgs/{org}/admins", {"email": "nope", "password": "x" * 12}, "not an email"),
        (
            "/orgs/{org}/admins",
            {"email": "a@b.example", "password": "x" * 12, "role": "owner"},
            "role must be one of",
        ),
        ("/orgs/{org}/setup-links", {"note": "x" * 300}, "at most 256"),
    ],
)
def test_bodies_are_read_strictly(op: Operator, path: str, body: Any, named: str) -> None:
    org_id = op.new_org()
    r = op.call("POST", path.format(org=org_id), json=body)
    status, code, description = envelope(r)
    assert (status, code) == (400, "702000") and named in description, description


def test_a_body_that_is_not_json_is_refused(op: Operator) -> None:
    for content, media in ((b"{", "application/json"), (b'{"name": "a"}', "text/plain")):
        r = op.call("POST", "/orgs", content=content, headers={"Content-Type": media})
        assert envelope(r)[:2] == (400, "702000")


def test_an_admin_twice_is_a_conflict(op: Operator) -> None:
    org_id = op.new_org()
    body = {"email": "it@contoso.example", "password": "a long passphrase"}
    op.ok("POST", f"/orgs/{org_id}/admins", 201, json=body)
    status, code, description = envelope(op.call("POST", f"/orgs/{org_id}/admins", json=body))
    assert (status, code) == (409, "702022") and "already exists" in description


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("GET", "/export"),
        ("GET", "/tokens"),
        ("POST", "/tokens"),
        ("DELETE", "/tokens/nope"),
        ("GET", "/admins"),
        ("POST", "/admins"),
        ("GET", "/setup-links"),
        ("POST", "/setup-links"),
        ("DELETE", "/setup-links/nope"),
    ],
)
def test_an_unknown_organisation_is_404(op: Operator, method: str, path: str) -> None:
    bodies = {
        "PATCH": {"name": "x"},
        "POST": {"email": "a@b.example", "password": "x" * 12} if "admins" in path else {},
    }
    r = op.call(
        method, f"/orgs/6f0c1f4e-0000-4000-8000-000000000000{path}", json=bodies.get(method)
    )
    assert envelope(r)[:2] == (404, "702020")


def test_another_organisations_token_or_link_cannot_be_revoked_through_this_one(
    hub: Hub, op: Operator
) -> None:
    mine, theirs = op.new_org("mine"), op.new_org("theirs")
    token = op.ok("POST", f"/orgs/{theirs}/tokens", 201, json={})
    link = op.ok("POST", f"/orgs/{theirs}/setup-links", 201)
    assert envelope(op.call("DELETE", f"/orgs/{mine}/tokens/{token['id']}"))[0] == 404
    assert envelope(op.call("DELETE", f"/orgs/{mine}/setup-links/{link['id']}"))[0] == 404
    assert op.ok("GET", f"/orgs/{theirs}/tokens")["data"][0]["revokedAt"] is None
    assert op.ok("GET", f"/orgs/{theirs}/setup-links")["data"][0]["state"] == "active"


def test_paging_parameters_are_strict(op: Operator) -> None:
    for params in ({"limit": "0"}, {"limit": "501"}, {"offset": "-1"}, {"page": "2"}):
        assert envelope(op.call("GET", "/orgs", params=params))[:2] == (400, "702000")
    first = op.ok("GET", "/orgs", params={"limit": "1"})
    assert len(first["data"]) == 1
