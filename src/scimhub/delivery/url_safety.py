"""Where webhooks may be sent: `https://` URLs whose host resolves only to public
addresses. A receiver URL is chosen by an organisation's admin, and the hub posts to it
from inside the operator's network, so without this check an admin could make the hub
call its loopback services, the private network or a cloud metadata service
(169.254.169.254) — server-side request forgery.

The name is resolved and *every* address checked (a name with one private address among
public ones is refused), and the connection then goes to the address that was checked
(`Target.address`, see `client.py`): a second lookup at connect time could answer
differently (DNS rebinding). The check runs when an endpoint is added and again before
each delivery run, since what a name resolves to changes.

`allow_private` (SCIMHUB_WEBHOOK_ALLOW_PRIVATE, development and tests) lifts the address
rule and allows plain `http://`; the connection is still pinned and redirects are still
never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Sequence[tuple[Any, ...]]]  # socket.getaddrinfo's shape

MAX_URL_LENGTH = 2048
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class UnsafeUrl(ValueError):
    """The URL is not one the hub may post to; the message says why, for the admin."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL and the address to connect to for it."""

    url: str
    scheme: str
    host: str  # as in the URL, without brackets
    port: int
    address: str  # the checked IP the connection goes to


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64): routers turn
    it back into that address, so it must pass the same check."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why the hub must not connect to `ip` (None: a public unicast address)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None:
            return refusal(inner)
    for test, kind in (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local (cloud metadata)"),
        (ip.is_private, "private"),
        (ip.is_multicast, "multicast"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_reserved, "reserved"),
    ):
        if test:
            return kind
    if not ip.is_global:  # shared address space (100.64/10), documentation ranges, ...
        return "non-public"
    return None


def check_url(url: str, *, allow_private: bool) -> tuple[str, str, int]:
    """The URL's scheme, host and port, if its form may be posted to (no lookup yet)."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("not a valid URL") from None
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if allow_private else ("https",)
    if scheme not in allowed:
        raise UnsafeUrl("the URL must start with https://")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("the URL must not carry a user name or password")
    if parts.fragment:
        raise UnsafeUrl("the URL must not have a #fragment")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("the URL has no host")
    if any(c.isspace() for c in url):
        raise UnsafeUrl("the URL must not contain spaces")
    try:
        httpx.URL(url)  # what the client will parse (IDNA, characters urlsplit lets by)
    except (httpx.InvalidURL, UnicodeError):
        raise UnsafeUrl("not a valid URL") from None
    return scheme, host, port or (443 if scheme == "https" else 80)


def resolve(url: str, *, allow_private: bool, resolver: Resolver = socket.getaddrinfo) -> Target:
    """Check the URL, resolve its host and check every address; raises UnsafeUrl."""
    scheme, host, port = check_url(url, allow_private=allow_private)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = resolver(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise UnsafeUrl(f"{host} does not resolve") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(i[4][0]) for i in infos))
        if not addresses:
            raise UnsafeUrl(f"{host} does not resolve")
    if not allow_private:
        for ip in addresses:
            why = refusal(ip)
            if why:
                shown = host if literal is not None else f"{host} resolves to {ip}, which"
                raise UnsafeUrl(f"{shown} is a {why} address; webhooks go to public addresses")
    return Target(url, scheme, host, port, str(addresses[0]))
