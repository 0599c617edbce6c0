"""The access log: one JSON line per request, with its tracking id, organisation, route
family, method, path (never the query), status and duration — and never the bearer token,
the password or the cookie the request carried, nor the cookie the answer set."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.logs import JsonFormatter
from tests.conftest import OrgClient
from tests.log_secrets import SecretScanner

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PASSWORD = "Tr0ub4dor&3-horse-" + uuid.uuid4().hex[:6]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def access() -> Iterator[_Lines]:
    """The access lines as production writes them (the suite runs `scimhub` at INFO)."""
    handler = _Lines()
    logger = logging.getLogger("scimhub.access")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _line_of(access: _Lines, tracking_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [json.loads(line) for line in access.lines if tracking_id in line]
    assert len(found) == 1, access.lines
    return found[0]


def test_one_line_per_request_with_its_ids_route_status_and_duration(
    org: OrgClient, access: _Lines
) -> None:
    created = org.post("/Users", {"schemas": [USER], "userName": "logged@example.com"})
    searched = org.get("/Users", params={"filter": 'userName eq "logged@example.com"'})
    line = _line_of(access, created.headers["TrackingID"])
    assert line["logger"] == "scimhub.access" and line["level"] == "info"
    assert line["tracking_id"] == created.headers["TrackingID"]
    assert line["org_id"] == org.org_id
    assert (line["route"], line["method"], line["status"]) == ("scim_users", "POST", 201)
    assert line["path"] == f"/identity/scim/{org.org_id}/v2/Users"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["time"].endswith("+00:00")
    listed = _line_of(access, searched.headers["TrackingID"])
    assert listed["path"] == line["path"]  # the query (a filter naming a person) is not logged
    assert "logged@example.com" not in json.dumps(listed)
    health = org.http.get("/healthz")
    assert _line_of(access, health.headers["TrackingID"])["route"] == "health"
    assert "org_id" not in _line_of(access, health.headers["TrackingID"])


def test_no_line_holds_the_token_password_or_cookie_a_request_carried(
    hub: Hub, org: OrgClient, access: _Lines, log_scanner: SecretScanner
) -> None:
    # a bearer token and a password (a SCIM user's, hashed by the hub)
    made = org.post(
        "/Users", {"schemas": [USER], "userName": "pw@example.com", "password": PASSWORD}
    )
    assert made.status_code == 201
    # a console sign-in: the admin's password in the form, a session cookie set in return
    email = f"log-{uuid.uuid4().hex[:8]}@example.com"
    hub.admins.create(org.org_id, email, PASSWORD, "admin", "Logged Admin")
    console = TestClient(org.http.app, base_url="https://hub.test")
    form = console.get("/console/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert csrf
    signed_in = console.post(
        "/console/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf.group(1)},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    cookie = signed_in.cookies["scimhub_session"]
    # the cookie sent back, and a wrong bearer token on the integration API
    page = console.get("/console/overview", headers={"Cookie": f"scimhub_session={cookie}"})
    assert page.status_code == 200
    wrong = f"scimhub_{uuid.uuid4().hex}{uuid.uuid4().hex}"
    refused = org.http.get(
        f"/extIntegration/azureAD/{org.org_id}/v1/status",
        headers={"Authorization": f"Bearer {wrong}"},
    )
    assert refused.status_code == 401

    sent = [made, signed_in, page, refused]
    for answer in sent:
        assert _line_of(access, answer.headers["TrackingID"])["status"] == answer.status_code
    text = "\n".join(access.lines)
    for secret in (org.token, wrong, PASSWORD, cookie):
        assert secret not in text
    assert "cookie" not in text.lower() and "bearer" not in text.lower()
    # and the suite's scanner knew these secrets, so it would have failed on any of them
    assert PASSWORD in log_scanner.passwords and cookie in log_scanner.words


def test_the_suite_fails_a_test_whose_log_holds_a_secret(
    org: OrgClient, log_scanner: SecretScanner
) -> None:
    """The scanner itself: a token, a harvested password, a cookie header, each caught."""
    user = {"schemas": [USER], "userName": "leak@example.com", "password": PASSWORD}
    assert org.post("/Users", user).status_code == 201  # the hub hashes it: harvested
    leaky = logging.getLogger("scimhub.test_leak")
    for message in (
        f"calling with Authorization: Bearer {org.token}",
        f"the token is {org.token}",
        f"user password {PASSWORD}",
        "Set-Cookie: scimhub_session=abc",
    ):
        leaky.warning(message)
        assert log_scanner.leaks, message
        log_scanner.leaks.clear()  # caught: this test must not fail for it
    leaky.warning("token prefix %s", org.token[:16])  # what the hub may show of a token
    assert not log_scanner.leaks
