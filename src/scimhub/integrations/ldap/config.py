"""An LDAP source's settings, checked once: the URL and how the connection is secured,
the bind DN, the bases and filters that say what is read, the attribute mapping (a preset's,
edited), the page size, nested groups, and the population of users the source owns.

Stored as the `ldap_sources` row's columns and `config` document (camelCase, as the API
shows it); the password is never part of it (sealed by the service)."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import orjson
from ldap3.core.exceptions import LDAPInvalidFilterError
from ldap3.operation.search import parse_filter

from ...scim.errors import ScimError
from ...scim.filter import parse_path
from .errors import InvalidSource
from .presets import CHANGE_ATTRIBUTES, DIALECTS, Preset

MAX_MAPPINGS = 64
MAX_PAGE_SIZE = 1000  # AD's default MaxPageSize
DEFAULT_PAGE_SIZE = 500
_ATTRIBUTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]{0,63}|[0-9]+(?:\.[0-9]+)+)$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_LOOPBACK_NAMES = frozenset({"localhost"})


@dataclass(frozen=True, slots=True)
class LdapConfig:
    url: str
    bind_dn: str
    user_base: str
    group_base: str
    preset: Preset = Preset.OPENLDAP
    start_tls: bool = True  # ldap:// only; ldaps:// is TLS from the first byte
    ca_pem: str = ""  # the CA certificates (PEM) to trust; empty: the system's
    user_filter: str = ""
    group_filter: str = ""
    id_attribute: str = ""
    change_attribute: str = ""
    member_attribute: str = "member"
    group_name_attribute: str = "cn"
    mapping: list[dict[str, str]] = field(default_factory=list)
    page_size: int = DEFAULT_PAGE_SIZE
    nested_groups: bool = False  # members of nested groups become members of each parent
    # userName domains this source owns (`[]`: every user it reads). Set, beside an Azure
    # AD instance of the organization, the two serve disjoint populations.
    user_domains: tuple[str, ...] = ()
    deletion_check_minutes: int = 60  # how often incremental rounds compare every id
    tombstones: bool = False  # ask AD for deleted objects (Show Deleted control)
    disabled_flag: bool = False  # userAccountControl bit 2 → active=false (AD)
    timeout_seconds: int = 10

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (636 if parts.scheme == "ldaps" else 389)

    @property
    def use_ssl(self) -> bool:
        return urlsplit(self.url).scheme == "ldaps"

    @property
    def secured(self) -> bool:
        return self.use_ssl or self.start_tls

    def as_document(self) -> dict[str, Any]:
        """The `config` column (url and bind DN are columns of their own)."""
        return {
            "preset": self.preset.value,
            "startTls": self.start_tls,
            "caPem": self.ca_pem,
            "userBase": self.user_base,
            "groupBase": self.group_base,
            "userFilter": self.user_filter,
            "groupFilter": self.group_filter,
            "idAttribute": self.id_attribute,
            "changeAttribute": self.change_attribute,
            "memberAttribute": self.member_attribute,
            "groupNameAttribute": self.group_name_attribute,
            "mapping": self.mapping,
            "pageSize": self.page_size,
            "nestedGroups": self.nested_groups,
            "userDomains": list(self.user_domains),
            "deletionCheckMinutes": self.deletion_check_minutes,
            "tombstones": self.tombstones,
            "disabledFlag": self.disabled_flag,
            "timeoutSeconds": self.timeout_seconds,
        }

    def as_json(self) -> dict[str, Any]:
        """What the API shows (never the password)."""
        return {"url": self.url, "bindDn": self.bind_dn, **self.as_document()}

    def reading_digest(self) -> str:
        """What decides which entries a round reads and what they become: a change to it
        makes the next round a full one (as a mapping change restarts Entra's cycle)."""
        doc = self.as_document()
        kept = {
            k: doc[k]
            for k in (
                "userBase",
                "groupBase",
                "userFilter",
                "groupFilter",
                "idAttribute",
                "changeAttribute",
                "memberAttribute",
                "groupNameAttribute",
                "mapping",
                "nestedGroups",
                "userDomains",
                "disabledFlag",
            )
        }
        return hashlib.sha256(orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)).hexdigest()

    def user_in_population(self, user_name: str) -> bool:
        if not self.user_domains:
            return True
        domain = user_name.rpartition("@")[2].lower()
        return domain in self.user_domains


# The API's names for the settings, and the dataclass field each sets.
_FIELDS = {
    "url": "url",
    "bindDn": "bind_dn",
    "userBase": "user_base",
    "groupBase": "group_base",
    "preset": "preset",
    "startTls": "start_tls",
    "caPem": "ca_pem",
    "userFilter": "user_filter",
    "groupFilter": "group_filter",
    "idAttribute": "id_attribute",
    "changeAttribute": "change_attribute",
    "memberAttribute": "member_attribute",
    "groupNameAttribute": "group_name_attribute",
    "mapping": "mapping",
    "pageSize": "page_size",
    "nestedGroups": "nested_groups",
    "userDomains": "user_domains",
    "deletionCheckMinutes": "deletion_check_minutes",
    "tombstones": "tombstones",
    "disabledFlag": "disabled_flag",
    "timeoutSeconds": "timeout_seconds",
}
SETTINGS = frozenset(_FIELDS)


def stored(url: str, bind_dn: str, doc: dict[str, Any]) -> LdapConfig:
    """A saved source's settings (checked when they were saved)."""
    return parse({"url": url, "bindDn": bind_dn, **doc})


def parse(body: Any, base: LdapConfig | None = None) -> LdapConfig:
    """Settings from the API's names, over `base` (an update) or the preset's defaults (a
    new source). Raises InvalidSource naming what is wrong."""
    if not isinstance(body, dict):
        raise InvalidSource("the settings must be an object")
    unknown = set(body) - SETTINGS
    if unknown:
        raise InvalidSource(f"unknown setting(s): {', '.join(sorted(unknown))}")
    preset = _preset(body.get("preset", base.preset if base else Preset.OPENLDAP))
    values: dict[str, Any] = {}
    if base is None or ("preset" in body and preset != base.preset):
        dialect = DIALECTS[preset]
        values.update(
            preset=preset,
            user_filter=dialect.user_filter,
            group_filter=dialect.group_filter,
            id_attribute=dialect.id_attribute,
            change_attribute=dialect.change_attribute,
            member_attribute=dialect.member_attribute,
            group_name_attribute=dialect.group_name_attribute,
            mapping=dialect.default_mapping(),
            tombstones=dialect.tombstones,
            disabled_flag=dialect.disabled_flag,
        )
    for name, value in body.items():
        if name != "preset":
            values[_FIELDS[name]] = value
    if base is None:
        for required in ("url", "bind_dn", "user_base", "group_base"):
            if not values.get(required):
                raise InvalidSource(f"'{_api_name(required)}' is required")
        config = LdapConfig(**values)
    else:
        config = replace(base, **values)
    return _checked(config)


def _api_name(attr: str) -> str:
    return next(k for k, v in _FIELDS.items() if v == attr)


def _preset(value: Any) -> Preset:
    try:
        return Preset(value)
    except ValueError:
        raise InvalidSource("'preset' must be ad or openldap") from None


def _checked(c: LdapConfig) -> LdapConfig:
    for name in ("url", "bind_dn", "user_base", "group_base", "ca_pem", "user_filter"):
        if not isinstance(getattr(c, name), str):
            raise InvalidSource(f"'{_api_name(name)}' must be text")
    _url(c)
    for name in ("bind_dn", "user_base", "group_base"):
        value = getattr(c, name)
        if not value.strip() or len(value) > 1024 or "=" not in value:
            raise InvalidSource(f"'{_api_name(name)}' must be a DN such as dc=example,dc=com")
    for name in ("user_filter", "group_filter"):
        _filter(_api_name(name), getattr(c, name))
    for name in ("id_attribute", "member_attribute", "group_name_attribute"):
        _attribute(_api_name(name), getattr(c, name))
    if c.change_attribute not in CHANGE_ATTRIBUTES:
        raise InvalidSource(f"'changeAttribute' must be one of {', '.join(CHANGE_ATTRIBUTES)}")
    for name in ("start_tls", "nested_groups", "tombstones", "disabled_flag"):
        if not isinstance(getattr(c, name), bool):
            raise InvalidSource(f"'{_api_name(name)}' must be true or false")
    _whole("pageSize", c.page_size, 1, MAX_PAGE_SIZE)
    _whole("deletionCheckMinutes", c.deletion_check_minutes, 1, 7 * 24 * 60)
    _whole("timeoutSeconds", c.timeout_seconds, 1, 120)
    if c.ca_pem and "-----BEGIN CERTIFICATE-----" not in c.ca_pem:
        raise InvalidSource("'caPem' must hold PEM certificates (-----BEGIN CERTIFICATE-----)")
    return replace(c, mapping=_mapping(c.mapping), user_domains=_domains(c.user_domains))


def _url(c: LdapConfig) -> None:
    parts = urlsplit(c.url)
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise InvalidSource("'url' must be ldap://host[:port] (StartTLS) or ldaps://host[:port]")
    try:
        _ = parts.port
    except ValueError:
        raise InvalidSource("'url' has an invalid port") from None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidSource("'url' must be only ldap[s]://host[:port]")
    if parts.scheme == "ldap" and not c.start_tls and not _loopback(parts.hostname):
        raise InvalidSource(
            "ldap:// without StartTLS would send the bind password in the clear: allowed "
            "only to a directory on this machine (loopback)"
        )


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _filter(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.startswith("(") or len(value) > 4096:
        raise InvalidSource(f"'{name}' must be an LDAP filter in parentheses")
    try:
        parse_filter(value, None, True, True, None, False)  # type: ignore[no-untyped-call]
    except LDAPInvalidFilterError:
        raise InvalidSource(f"'{name}' is not a valid LDAP filter") from None


def _attribute(name: str, value: Any) -> None:
    if not isinstance(value, str) or not _ATTRIBUTE.match(value):
        raise InvalidSource(f"'{name}' must be an LDAP attribute name")


def _whole(name: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidSource(f"'{name}' must be a whole number from {low} to {high}")


def _mapping(mapping: Any) -> list[dict[str, str]]:
    if not isinstance(mapping, list) or not 1 <= len(mapping) <= MAX_MAPPINGS:
        raise InvalidSource(f"'mapping' must be a list of 1 to {MAX_MAPPINGS} {{source, target}}")
    clean: list[dict[str, str]] = []
    for m in mapping:
        if not (isinstance(m, dict) and set(m) <= {"source", "target"}):
            raise InvalidSource('each mapping is {"source": attribute, "target": SCIM path}')
        source, target = m.get("source"), m.get("target")
        _attribute("mapping source", source)
        if not isinstance(target, str) or not target or len(target) > 330:
            raise InvalidSource("each mapping needs a 'target' SCIM path")
        try:
            parse_path(target)
        except ScimError:
            raise InvalidSource(f"mapping target {target!r} is not a SCIM path") from None
        clean.append({"source": str(source), "target": target})
    targets = [m["target"] for m in clean]
    if targets.count("userName") != 1:
        raise InvalidSource("exactly one mapping must target userName")
    if len(set(targets)) != len(targets):
        raise InvalidSource("each target may be mapped only once")
    return clean


def _domains(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple):
        raise InvalidSource("'userDomains' must be a list of domains")
    out = []
    for d in value:
        domain = str(d).strip().lower().lstrip("@")
        if not _DOMAIN.match(domain):
            raise InvalidSource(f"'userDomains': {d!r} is not a domain name")
        out.append(domain)
    return tuple(dict.fromkeys(out))
