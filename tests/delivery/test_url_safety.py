"""Where the hub may post (SSRF): https only, public addresses only — every address the
name resolves to is checked, at add time and before each delivery run — and the
connection goes to the address that was checked, with the name kept for Host, SNI and the
certificate."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from scimhub.api.services import Hub
from scimhub.delivery.endpoints import InvalidWebhook
from scimhub.delivery.url_safety import UnsafeUrl, refusal, resolve
from scimhub.directory.webhooks import Outcome
from tests.delivery.conftest import ADMIN, Hooks, make_service
from tests.delivery.receiver import Receiver, serving

PUBLIC = "93.184.215.14"


def resolver_to(*addresses: str) -> Any:
    """A getaddrinfo that answers every name with `addresses` (and counts its calls)."""

    def getaddrinfo(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        getaddrinfo.calls.append(host)  # type: ignore[attr-defined]
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port),
            )
            for a in addresses
        ]

    getaddrinfo.calls = []  # type: ignore[attr-defined]
    return getaddrinfo


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://127.8.9.10/hook",
        "https://10.1.2.3/hook",
        "https://172.16.0.1/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://100.64.0.1/hook",  # shared address space (carrier NAT)
        "https://0.0.0.0/hook",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00:ec2::254]/hook",  # AWS metadata over IPv6
        "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
        "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "https://localhost/hook",  # a name that resolves to loopback
        "https://localhost:8443/hook",
    ],
)
def test_private_addresses_are_refused(hub: Hub, url: str) -> None:
    service = make_service(hub, allow_private=False)
    with pytest.raises(InvalidWebhook, match="address; webhooks go to public addresses"):
        service.check_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.com/hook", "https://"),
        ("ftp://example.com/hook", "https://"),
        ("https://user:secret@example.com/hook", "user name or password"),
        ("https:///hook", "no host"),
        ("https://example.com:99999/", "not a valid URL"),
        ("https://example.com/#x", "fragment"),
        ("https://" + "a" * 2050, "longer than"),
    ],
)
def test_urls_of_the_wrong_form_are_refused(url: str, message: str) -> None:
    with pytest.raises(UnsafeUrl, match=message):
        resolve(url, allow_private=False, resolver=resolver_to(PUBLIC))


def test_every_address_of_a_name_is_checked() -> None:
    mixed = resolver_to(PUBLIC, "10.0.0.7")
    with pytest.raises(UnsafeUrl, match=r"hooks\.example resolves to 10\.0\.0\.7"):
        resolve("https://hooks.example/x", allow_private=False, resolver=mixed)
    target = resolve("https://hooks.example/x", allow_private=False, resolver=resolver_to(PUBLIC))
    assert (target.host, target.port, target.address) == ("hooks.example", 443, PUBLIC)
    assert refusal(ipaddress.ip_address("2001:4860:4860::8888")) is None


def test_an_unresolvable_name_is_refused() -> None:
    def nowhere(*_: Any, **__: Any) -> list[tuple[Any, ...]]:
        raise socket.gaierror("no such name")

    with pytest.raises(UnsafeUrl, match="does not resolve"):
        resolve("https://nowhere.invalid/", allow_private=False, resolver=nowhere)


def test_allow_private_lets_loopback_and_http_through() -> None:
    target = resolve("http://127.0.0.1:9/x", allow_private=True)
    assert (target.scheme, target.address) == ("http", "127.0.0.1")


def test_a_name_that_turns_private_after_it_was_added_is_not_delivered_to(
    hooks: Hooks, receiver: Receiver
) -> None:
    """DNS rebinding: public when the endpoint was added, loopback at delivery time."""
    service = make_service(hooks.hub, allow_private=False, clock=hooks.clock)
    service.resolver = service.deliverer.resolver = resolver_to(PUBLIC)
    created = service.add(hooks.org_id, f"https://hooks.example:{receiver.port}/hook", actor=ADMIN)
    service.deliverer.resolver = resolver_to("127.0.0.1")
    hooks.emit(1)
    result = service.deliverer.run(created.endpoint.id)
    assert result.failed and not receiver.requests
    (attempt,) = service.deliveries(hooks.org_id, created.endpoint.id)
    assert attempt.outcome == Outcome.FAILED and attempt.status_code is None
    assert attempt.error == (
        "hooks.example resolves to 127.0.0.1, which is a loopback address; webhooks go to "
        "public addresses"
    )
    waiting = service.get(hooks.org_id, created.endpoint.id)
    assert waiting.next_attempt_at is not None and waiting.attempts == 1


# -- the connection goes to the checked address ---------------------------------------


def _tls(tmp_path: Path, name: str) -> tuple[Path, ssl.SSLContext, list[str]]:
    """A CA, a server certificate for `name`, and a server context recording the SNI
    names clients send."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "c.pem", tmp_path / "k.pem"
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    names: list[str] = []
    server.sni_callback = lambda sock, sni, ctx: names.append(sni or "")
    return ca_file, server, names


def test_https_goes_to_the_checked_address_with_the_name_for_host_sni_and_certificate(
    hooks: Hooks, tmp_path: Path
) -> None:
    ca_file, server_tls, sni = _tls(tmp_path, "hooks.test")
    with serving(Receiver(), tls=server_tls) as receiver:
        service = make_service(hooks.hub, ca_file=str(ca_file))
        # hooks.test is in no DNS: only the pinned address can reach the receiver
        service.resolver = service.deliverer.resolver = resolver_to("127.0.0.1")
        url = f"https://hooks.test:{receiver.port}{receiver.path}"
        created = service.add(hooks.org_id, url, actor=ADMIN)
        receiver.secrets = [created.secret]
        hooks.emit(2)
        service.deliverer.run(created.endpoint.id)
        assert receiver.acknowledged == hooks.emitted
        assert {r.headers["host"] for r in receiver.requests} == {f"hooks.test:{receiver.port}"}
        assert set(sni) == {"hooks.test"}
        # looked up when added, then once for the run (not per event, not at connect time)
        assert service.deliverer.resolver.calls == ["hooks.test"] * 2  # type: ignore[attr-defined]


def test_a_certificate_for_another_name_is_refused(hooks: Hooks, tmp_path: Path) -> None:
    ca_file, server_tls, _ = _tls(tmp_path, "other.test")
    with serving(Receiver(), tls=server_tls) as receiver:
        service = make_service(hooks.hub, ca_file=str(ca_file))
        service.resolver = service.deliverer.resolver = resolver_to("127.0.0.1")
        created = service.add(
            hooks.org_id, f"https://hooks.test:{receiver.port}{receiver.path}", actor=ADMIN
        )
        hooks.emit(1)
        service.deliverer.run(created.endpoint.id)
        assert not receiver.acknowledged
        (attempt,) = service.deliveries(hooks.org_id, created.endpoint.id)
        assert attempt.error == "TLS certificate not valid for the host"
