"""The Troubleshooting page shows the troubleshooter's report and applies its fixes
(full admins only, with the CSRF token)."""

from __future__ import annotations

import html

from scimhub.api.services import Hub

from .conftest import Admins, Console


def test_report_renders_with_checks_and_findings(signed_in: Console) -> None:
    r = signed_in.http.get("/console/troubleshooting")
    assert r.status_code == 200
    text = html.unescape(r.text)
    assert "Checks" in text and "Hub database" in text
    # the test hub has no Entra settings: the report says so instead of failing
    assert 'data-finding="not_configured"' in r.text


def test_a_tracking_id_is_explained(signed_in: Console, admins: Admins) -> None:
    missing = admins.org.get("/Users/no-such-user")
    tid = missing.headers["TrackingID"]
    r = signed_in.http.get("/console/troubleshooting", params={"trackingId": tid})
    assert r.status_code == 200
    assert f"Tracking ID {tid}" in r.text
    assert "404" in r.text


def test_fixes_need_the_token_and_a_full_admin(
    signed_in: Console, signed_in_readonly: Console, hub: Hub
) -> None:
    refused = signed_in.http.post("/console/troubleshooting/fix", data={"fix": "allow_sync"})
    assert refused.status_code == 403
    read_only = signed_in_readonly.http.post(
        "/console/troubleshooting/fix",
        data={"fix": "allow_sync", "csrf_token": signed_in_readonly.csrf()},
    )
    assert read_only.status_code == 403
    unknown = signed_in.http.post(
        "/console/troubleshooting/fix",
        follow_redirects=False,
        data={"fix": "reboot_the_cloud", "csrf_token": signed_in.csrf()},
    )
    assert unknown.status_code == 303
    shown = signed_in.http.get(unknown.headers["location"])
    assert "Unknown fix" in html.unescape(shown.text)
