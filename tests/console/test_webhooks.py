"""The console's Webhooks page: endpoints with their state and recent deliveries (status
code, latency), the buttons (add with the secret shown once, test, retry, replay,
enable/disable, rotate, remove), CSRF on every form, read-only admins see no buttons, and
the banner on every page when delivery disabled an endpoint."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.app import create_app
from scimhub.config import Settings
from tests.console.conftest import Admins, Console
from tests.delivery.conftest import ADMIN, make_service
from tests.delivery.receiver import Receiver, serving

_SECRET = re.compile(r"<code class=\"mono\" data-secret>(whsec_[^<]+)</code>")


@pytest.fixture
def private_console(settings: Settings, hub: Hub, admins: Admins) -> Iterator[Console]:
    """A signed-in admin on an app whose webhooks may go to loopback (the receiver)."""
    allowing = dataclasses.replace(hub, webhooks=make_service(hub))
    address = f"10.77.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    with TestClient(
        create_app(settings, hub=allowing),
        base_url="https://hub.test",
        follow_redirects=True,
        client=(address, 40000),
    ) as client:
        console = Console(client)
        assert console.sign_in(admins.admin_email).status_code == 303
        yield console


def _post(console: Console, path: str, **data: str | list[str]) -> str:
    answer = console.http.post(path, data={**data, "csrf_token": console.csrf()})
    assert answer.status_code == 200, answer.text
    return answer.text


def test_add_test_rotate_replay_and_remove(private_console: Console, admins: Admins) -> None:
    console = private_console
    with serving(Receiver()) as receiver:
        page = _post(console, "/console/webhooks", url=receiver.url, event_types=["user.created"])
        secret = _SECRET.search(page)
        assert secret, page
        receiver.secrets = [secret.group(1)]
        listed = console.http.get("/console/webhooks").text
        assert receiver.url in listed and secret.group(1) not in listed  # shown once
        (endpoint,) = console.http.app.state.hub.webhooks.endpoints(admins.org.org_id)  # type: ignore[attr-defined]

        tested = _post(console, f"/console/webhooks/{endpoint.id}/test")
        assert "Test message delivered: 200" in tested and not receiver.bad_signatures
        assert "test" in tested and " ms</td>" in tested  # the delivery row, with latency

        rotated = _post(console, f"/console/webhooks/{endpoint.id}/rotate")
        new = _SECRET.search(rotated)
        assert new and new.group(1) != secret.group(1)
        assert "the previous secret also signs until" in rotated

        assert "delivered again" in _post(
            console, f"/console/webhooks/{endpoint.id}/replay", since="2h"
        )
        assert "Endpoint disabled" in _post(console, f"/console/webhooks/{endpoint.id}/disable")
        assert "Endpoint enabled" in _post(console, f"/console/webhooks/{endpoint.id}/enable")
        assert "Endpoint removed" in _post(console, f"/console/webhooks/{endpoint.id}/remove")
        assert "No webhook endpoints yet" in console.http.get("/console/webhooks").text


def test_a_private_url_is_refused_on_the_page(signed_in: Console) -> None:
    page = signed_in.http.post(
        "/console/webhooks",
        data={"url": "https://169.254.169.254/latest", "csrf_token": signed_in.csrf()},
    )
    assert page.status_code == 400
    assert "link-local (cloud metadata) address" in page.text


def test_forms_need_the_csrf_token(signed_in: Console) -> None:
    refused = signed_in.http.post("/console/webhooks", data={"url": "https://93.184.215.14/"})
    assert refused.status_code == 403


def test_read_only_admins_see_no_buttons(
    hub: Hub, admins: Admins, signed_in_readonly: Console
) -> None:
    make_service(hub).add(admins.org.org_id, "http://127.0.0.1:9/x", actor=ADMIN)
    page = signed_in_readonly.http.get("/console/webhooks").text
    assert "http://127.0.0.1:9/x" in page and "Rotate secret" not in page
    csrf = signed_in_readonly.csrf()
    refused = signed_in_readonly.http.post(
        "/console/webhooks", data={"url": "https://93.184.215.14/", "csrf_token": csrf}
    )
    assert refused.status_code == 403


def test_a_disabled_endpoint_shows_a_banner_on_every_page(
    hub: Hub, admins: Admins, signed_in: Console
) -> None:
    service = make_service(hub)
    created = service.add(admins.org.org_id, "http://127.0.0.1:9/gone", actor=ADMIN)
    with serving(Receiver(respond=lambda got: (410, {}))) as receiver:
        service.update(admins.org.org_id, created.endpoint.id, actor=ADMIN, url=receiver.url)
        admins.org.post(
            "/Users",
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "b@x.io"},
        )
        service.deliverer.run(created.endpoint.id)
    for path in ("/console/overview", "/console/users", "/console/webhooks"):
        page = signed_in.http.get(path).text
        assert "data-webhook-alert" in page, path
        assert "was disabled: the receiver answered 410 Gone" in page
