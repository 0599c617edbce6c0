"""Each kind of token opens only its own door, attacked from every side: the operator's
token is refused by an organisation's SCIM, events, webhooks and integration APIs; an
organisation's admin and SCIM tokens are refused by every operator route (their own
organisation's included) and by other organisations; read-scoped tokens cannot write;
revoked and expired operator tokens are refused; the store itself refuses an operator token
bound to an organisation; no secret is ever logged."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.directory.tokens import TokenKind, TokenScope
from scimhub.store.engine import utcnow
from scimhub.store.tables import tokens
from tests.api.operator_client import Operator, envelope, operator

SCIM = "application/scim+json"
USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "eve"}

# Every operator route, with a body it would take; `{org}` is an existing organisation.
OPERATOR_ROUTES = [
    ("GET", "/orgs", None),
    ("POST", "/orgs", {"name": "Evil"}),
    ("GET", "/orgs/{org}", None),
    ("PATCH", "/orgs/{org}", {"name": "Evil"}),
    ("DELETE", "/orgs/{org}", None),
    ("GET", "/orgs/{org}/export", None),
    ("GET", "/orgs/{org}/tokens", None),
    ("POST", "/orgs/{org}/tokens", {"name": "x", "admin": True}),
    ("DELETE", "/orgs/{org}/tokens/{token}", None),
    ("GET", "/orgs/{org}/admins", None),
    ("POST", "/orgs/{org}/admins", {"email": "eve@evil.example", "password": "x" * 12}),
    ("GET", "/orgs/{org}/setup-links", None),
    ("POST", "/orgs/{org}/setup-links", {}),
    ("DELETE", "/orgs/{org}/setup-links/{link}", None),
    ("GET", "/audit", None),
]


@pytest.fixture
def op(hub: Hub, app_client: TestClient) -> Operator:
    return operator(hub, app_client)


def _org_routes(org_id: str) -> list[tuple[str, str]]:
    """An organisation's own APIs, as its tokens call them."""
    return [
        ("GET", f"/identity/scim/{org_id}/v2/Users"),
        ("GET", f"/api/v1/orgs/{org_id}/events"),
        ("GET", f"/api/v1/orgs/{org_id}/webhooks"),
        ("GET", f"/api/v1/orgs/{org_id}/attributes"),
        ("GET", f"/api/v1/orgs/{org_id}/deleted-users"),
        ("GET", f"/extIntegration/azureAD/{org_id}/v1/status"),
    ]


def test_the_operator_token_opens_no_organisations_own_api(
    op: Operator, app_client: TestClient
) -> None:
    org_id = op.new_org()
    for method, path in _org_routes(org_id):
        r = app_client.request(method, path, headers={"Authorization": f"Bearer {op.token}"})
        assert r.status_code == 401, (path, r.text)
    scim = app_client.post(
        f"/identity/scim/{org_id}/v2/Users",
        json=USER,
        headers={"Authorization": f"Bearer {op.token}", "Content-Type": SCIM},
    )
    assert scim.status_code == 401


@pytest.mark.parametrize("kind", [TokenKind.ADMIN, TokenKind.SCIM])
def test_an_organisations_tokens_open_no_operator_route(
    hub: Hub, op: Operator, kind: TokenKind
) -> None:
    """Not even for their own organisation: an admin token cannot export, delete or mint
    tokens for the organisation it belongs to."""
    org_id = op.new_org()
    theirs, _ = hub.tokens.create(org_id, kind=kind, name="org's own")
    token = op.ok("POST", f"/orgs/{org_id}/tokens", 201, json={})
    link = op.ok("POST", f"/orgs/{org_id}/setup-links", 201)
    for method, template, body in OPERATOR_ROUTES:
        path = template.format(org=org_id, token=token["id"], link=link["id"])
        status, code, _ = envelope(op.call(method, path, token=theirs, json=body))
        assert (status, code) == (401, "702010"), (method, path)
    # nothing happened: the organisation, its tokens and its link are as they were
    assert op.ok("GET", f"/orgs/{org_id}")["name"] == "Contoso"
    assert op.ok("GET", f"/orgs/{org_id}/setup-links")["data"][0]["state"] == "active"
    assert {t["revokedAt"] for t in op.ok("GET", f"/orgs/{org_id}/tokens")["data"]} == {None}


def test_an_admin_token_cannot_reach_another_organisation(
    hub: Hub, op: Operator, app_client: TestClient
) -> None:
    mine, theirs = op.new_org("mine"), op.new_org("theirs")
    admin = op.ok("POST", f"/orgs/{mine}/tokens", 201, json={"admin": True})["token"]
    for method, path in _org_routes(theirs):
        r = app_client.request(method, path, headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code in (401, 404), (path, r.text)  # as if it did not exist
    for method, path in _org_routes(mine)[1:]:
        r = app_client.request(method, path, headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 200, (path, r.text)


def test_read_scoped_tokens_cannot_write(hub: Hub, op: Operator, app_client: TestClient) -> None:
    reader = operator(hub, app_client, TokenScope.READ)
    org_id = op.new_org()
    assert reader.ok("GET", "/orgs", params={"limit": "500"})["total"] >= 1
    assert reader.call("GET", f"/orgs/{org_id}/export").status_code == 200
    for method, template, body in OPERATOR_ROUTES:
        if method == "GET":
            continue
        path = template.format(org=org_id, token="t", link="l")
        assert envelope(reader.call(method, path, json=body))[:2] == (403, "702011"), path
    assert op.ok("GET", f"/orgs/{org_id}")["name"] == "Contoso"  # still there
    # an organisation's read token made by the operator reads, and cannot write
    scim = op.ok("POST", f"/orgs/{org_id}/tokens", 201, json={"scope": "read"})["token"]
    headers = {"Authorization": f"Bearer {scim}", "Content-Type": SCIM}
    base = f"/identity/scim/{org_id}/v2/Users"
    assert app_client.get(base, headers=headers).status_code == 200
    assert app_client.post(base, json=USER, headers=headers).status_code == 403


def test_revoked_and_expired_operator_tokens_are_refused(hub: Hub, app_client: TestClient) -> None:
    revoked = operator(hub, app_client)
    expired = operator(hub, app_client)
    assert revoked.call("GET", "/orgs").status_code == 200
    info = hub.tokens.authenticate(revoked.token, TokenKind.OPERATOR)
    assert info is not None
    hub.tokens.revoke_operator(info.id)
    with hub.db.write() as conn:
        conn.execute(
            update(tokens)
            .where(tokens.c.prefix == expired.token[:16])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    for gone in (revoked, expired):
        status, code, _ = envelope(gone.call("GET", "/orgs"))
        assert (status, code) == (401, "702010")
    nobody = envelope(revoked.call("GET", "/orgs", token="scimhub_guessed"))
    assert nobody[:2] == (401, "702010")
    r = app_client.get("/api/v1/orgs")
    assert envelope(r)[:2] == (401, "702010") and "Bearer" in r.headers["WWW-Authenticate"]


def test_an_operator_token_can_never_belong_to_an_organisation(hub: Hub) -> None:
    org_id = hub.orgs.create("bound").id
    with pytest.raises(ValueError, match="belongs to no organisation"):
        hub.tokens.create(org_id, kind=TokenKind.OPERATOR)
    # and the table refuses either half-made row, whatever code wrote it
    for org, kind in ((org_id, TokenKind.OPERATOR), (None, TokenKind.ADMIN)):
        with pytest.raises(IntegrityError), hub.db.write() as conn:
            conn.execute(
                tokens.insert().values(
                    id=str(uuid.uuid4()),
                    org_id=org,
                    name="forged",
                    token_hash=uuid.uuid4().hex * 2,
                    prefix="scimhub_forged",
                    kind=kind,
                    scope="write",
                    created=utcnow(),
                )
            )


def test_no_secret_is_ever_logged(
    hub: Hub, op: Operator, app_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    org_id = op.new_org()
    token = op.ok("POST", f"/orgs/{org_id}/tokens", 201, json={"admin": True})["token"]
    link = op.ok("POST", f"/orgs/{org_id}/setup-links", 201)["url"].rsplit("/", 1)[1]
    op.call("GET", f"/orgs/{org_id}/tokens")
    op.call("GET", "/orgs", token=token)  # refused, logged
    app_client.get(f"/console/setup-link/{link}")
    # the hub's own log records (the test's HTTP client logs the URLs it asks for)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("scimhub"))
    assert "api/v1 error 401" in logged
    assert [s for s in (op.token, token, link) if s in logged] == []
