"""The identifiers pages hand to "Copy Debug Info", and that no secret is among them."""

from __future__ import annotations

import re
from importlib import resources

from scimhub import __version__
from scimhub.api.auth import SESSION_COOKIE
from scimhub.api.services import Hub

from .conftest import Admins, Console


def body_attributes(html: str) -> dict[str, str]:
    tag = re.search(r"<body ([^>]*)>", html)
    assert tag
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag.group(1)))


def test_every_page_names_the_admin_and_org(signed_in: Console, admins: Admins, hub: Hub) -> None:
    attrs = body_attributes(signed_in.http.get("/console/settings").text)
    admin = next(a for a in hub.admins.list(admins.org.org_id) if a.email == admins.admin_email)
    assert attrs == {
        "org-id": admins.org.org_id,
        "admin-id": admin.id,
        "admin-org-id": admins.org.org_id,
        "build": __version__,
        "customer-type": "Enterprise",
        "role": "admin",
    }


def test_no_secret_reaches_the_debug_data(signed_in: Console) -> None:
    html = signed_in.http.get("/console/settings").text
    secrets = [signed_in.csrf(), signed_in.http.cookies[SESSION_COOKIE]]
    attributes = " ".join(body_attributes(html).values())
    for secret in secrets:
        assert secret not in attributes
    assert signed_in.http.cookies[SESSION_COOKIE] not in html


def test_the_debug_block_is_built_from_identifiers_only() -> None:
    script = resources.files("scimhub.console").joinpath("static/console.js").read_text()
    block = script[script.index("function debugInfo") : script.index("function el(")]
    for line in (
        "Referrer: scimhub notification toaster-links",
        "Browser URL:",
        "Build:",
        "View Org ID:",
        "Logged-in User ID:",
        "Logged-in User Org ID:",
        "Logged-in User Clock UTC:",
        "Customer Type:",
        "Status:",
        "Status Text:",
        "URL:",
        "Tracking ID:",
        "Error:",
        "Message:",
    ):
        assert line in block
    for secret in ("csrf", "cookie", "Authorization", "token"):
        assert secret.lower() not in block.lower().replace("// bearer tokens never go in", "")
