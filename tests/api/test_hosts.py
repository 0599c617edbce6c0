"""The Host header: requests naming an unknown host are refused before any handler runs, and
no link the hub hands out (meta.location, Location, Entra's BaseAddress, the consent
redirect: all `base_url`) ever follows a Host it does not trust."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.testclient import TestClient
from typer.testing import CliRunner

from scimhub.api.scim_endpoint import base_url
from scimhub.api.services import Hub
from scimhub.app import create_app
from scimhub.config import ConfigError, Settings
from tests.api.test_users import new_user
from tests.conftest import OrgClient

EVIL = "evil.example"


@contextmanager
def _client(hub: Hub, settings: Settings, base: str = "https://hub.test") -> Iterator[TestClient]:
    """An app on the shared database whose hub sees `settings` (base_url reads the hub's)."""
    with TestClient(
        create_app(settings, hub=replace(hub, settings=settings)), base_url=base
    ) as client:
        yield client


def _request(host: str | None, scheme: str = "https") -> Request:
    headers = [(b"host", host.encode())] if host is not None else []
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "scheme": scheme,
            "headers": headers,
            "server": ("10.9.9.9", 443),
        }
    )


def test_an_unknown_host_is_refused_before_any_handler(org: OrgClient) -> None:
    name = "forged@example.com"
    r = org.post("/Users", new_user(name), headers={"Host": EVIL})
    assert (r.status_code, r.text) == (400, "Invalid host header")
    assert r.headers["TrackingID"]  # the refusal is traceable like any response
    found = org.get("/Users", params={"filter": f'userName eq "{name}"'})
    assert found.json()["totalResults"] == 0  # the handler never ran
    for path in ("/console/login", "/extIntegration/azureAD/consent/callback", "/healthz"):
        assert org.http.get(path, headers={"Host": f"{EVIL}:443"}).status_code == 400, path


@pytest.mark.parametrize(
    "host", ["hub.test.evil.example", "evil.example@hub.test", "", "hub.test:bad", "[::1"]
)
def test_hosts_that_only_resemble_an_allowed_one_are_refused(org: OrgClient, host: str) -> None:
    assert org.get("/Users", headers={"Host": host}).status_code == 400


def test_the_default_trusts_the_bound_loopback_address(
    hub: Hub, settings: Settings, org: OrgClient
) -> None:
    bound = replace(settings, allowed_hosts=())
    with _client(hub, bound, base="http://127.0.0.1:8123") as client:
        auth = {"Authorization": f"Bearer {org.token}"}
        for n, host in enumerate(("127.0.0.1:8123", "localhost:8123", "[::1]:8123")):
            r = client.post(
                f"{org.base}/Users",
                json=new_user(f"u{n}@example.com"),
                headers={**auth, "Host": host},
            )
            assert r.status_code == 201, r.text
            assert r.headers["Location"].startswith(f"http://{host}{org.base}/Users/")
        for host in (EVIL, "hub.test"):
            assert (
                client.get(f"{org.base}/Users", headers={**auth, "Host": host}).status_code == 400
            )


def test_the_public_url_names_every_link_whatever_the_host(
    hub: Hub, settings: Settings, org: OrgClient
) -> None:
    public = replace(settings, public_url="https://scim.example.com")
    with _client(hub, public) as client:
        auth = {"Authorization": f"Bearer {org.token}"}
        for host in ("hub.test", "localhost", "scim.example.com"):
            r = client.post(
                f"{org.base}/Users",
                json=new_user(f"p-{host}@example.com"),
                headers={**auth, "Host": host},
            )
            assert r.status_code == 201, (host, r.text)
            location = f"https://scim.example.com{org.base}/Users/{r.json()['id']}"
            assert (r.headers["Location"], r.json()["meta"]["location"]) == (location, location)
        assert client.get(f"{org.base}/Users", headers={**auth, "Host": EVIL}).status_code == 400


def test_a_wildcard_allows_subdomains_only(hub: Hub, settings: Settings, org: OrgClient) -> None:
    wild = replace(settings, allowed_hosts=("*.example.com",))
    with _client(hub, wild, base="https://scim.eu.example.com") as client:
        auth = {"Authorization": f"Bearer {org.token}"}
        r = client.post(f"{org.base}/Users", json=new_user("w@example.com"), headers=auth)
        assert r.status_code == 201, r.text
        assert r.json()["meta"]["location"].startswith(f"https://scim.eu.example.com{org.base}")
        for host in ("example.com", "evil-example.com", "example.com.evil.example"):
            assert (
                client.get(f"{org.base}/Users", headers={**auth, "Host": host}).status_code == 400
            ), host


def test_base_url_never_follows_an_untrusted_host(hub: Hub, settings: Settings) -> None:
    """Checked on its own too, so a route outside the middleware could not leak a link."""
    plain = replace(
        hub,
        settings=replace(
            settings, host="hub.internal", port=8443, allowed_hosts=("*.example.com",)
        ),
    )
    assert base_url(_request("a.example.com:8443"), plain) == "https://a.example.com:8443"
    assert base_url(_request("hub.internal"), plain) == "https://hub.internal"
    for forged in (EVIL, "a.example.com.evil.example", "a.example.com@evil.example", None):
        assert base_url(_request(forged), plain) == "https://hub.internal:8443", forged
    v6 = replace(hub, settings=replace(settings, host="::1", port=80))
    assert base_url(_request(EVIL, "http"), v6) == "http://[::1]:80"
    public = replace(hub, settings=replace(settings, public_url="https://scim.example.com"))
    assert base_url(_request("hub.test"), public) == "https://scim.example.com"


def test_trusted_hosts_by_default_and_configured() -> None:
    assert Settings().trusted_hosts == ("127.0.0.1", "localhost", "[::1]")
    assert Settings(host="hub.internal").trusted_hosts == ("hub.internal",)
    assert Settings(host="0.0.0.0", public_url="https://Hub.Example.com:8443").trusted_hosts == (
        "hub.example.com",
        "0.0.0.0",
        "localhost",
        "127.0.0.1",
        "[::1]",
    )
    env = {"SCIMHUB_HOST": "10.0.0.5", "SCIMHUB_ALLOWED_HOSTS": " A.example.com, *.b.test ,"}
    assert Settings.from_env(env).trusted_hosts == ("10.0.0.5", "a.example.com", "*.b.test")


@pytest.mark.parametrize(
    "value", ["hub.test:8000", "https://hub.test", "a.*.test", "*hub", "hub test"]
)
def test_allowed_hosts_must_be_host_patterns(value: str) -> None:
    with pytest.raises(ConfigError, match="SCIMHUB_ALLOWED_HOSTS"):
        Settings.from_env({"SCIMHUB_ALLOWED_HOSTS": value})


def test_serve_hands_its_bind_address_to_the_app_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn's processes build their settings from the environment: without the bound
    host there, `serve --host hub.internal` would refuse the very name it listens on."""
    import uvicorn

    from scimhub.cli import app

    for name in (
        "SCIMHUB_HOST",
        "SCIMHUB_PORT",
        "SCIMHUB_DATA_DIR",
        "SCIMHUB_PUBLIC_URL",
        "SCIMHUB_DATABASE_URL",
    ):
        # setenv first records the variable's state, so the value `serve` exports is
        # undone after the test (a bare delenv of an unset variable records nothing).
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    done = CliRunner().invoke(
        app, ["serve", "--host", "hub.internal", "--port", "8443", "--data-dir", str(tmp_path)]
    )
    assert done.exit_code == 0, done.output
    assert (os.environ["SCIMHUB_HOST"], os.environ["SCIMHUB_PORT"]) == ("hub.internal", "8443")
    assert "hub.internal" in Settings.from_env().trusted_hosts
