"""Sync rounds of an LDAP source, run by the shared pull engine.

- **Full** (the first round, after a change of what is read — bases, filters, mapping —
  or when the server answering is not the one the high-water mark came from): every user,
  then every group, with the Simple Paged Results control; linked objects the round did
  not see leave through the deletion brake (users deactivated, groups deleted).
- **Incremental**: only what changed since the high-water mark — AD's `uSNChanged`
  (against the root DSE's `highestCommittedUSN`, read before the round, from the same
  domain controller) or OpenLDAP's `entryCSN`/`modifyTimestamp` (the largest value seen).
  Deleted objects: AD's tombstones (`isDeleted=TRUE`, Show Deleted control) where the
  account may read them, and, every `deletionCheckMinutes`, a comparison of every stable
  id (`objectGUID`/`entryUUID`), which also sees entries moved out of the bases or
  filters. Groups that hold users created by the round are read again for their members.
- Members from `member` (DNs, resolved through where each entry is); with
  `nestedGroups`, each group's members are every user reachable through its member groups
  (the groups are then read whole whenever any changed).

Disabled AD accounts (`userAccountControl` bit 2) are users with `active=false`: an
update, not a removal. A round's writes name the source (`Source` LDAP); a finished round
records `sync.completed`, as Entra's pull rounds do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from ...directory.custom_attributes import CustomAttributes
from ...directory.events import Source, SourceKind, caused_by
from ...directory.ldap_sources import LdapSource, LdapSources
from ...directory.locator import Locator
from ...scim.schemas import ResourceType
from ...store.engine import as_utc, utcnow
from ..pull.engine import Incoming, PullCounts, PullEngine
from . import config as settings
from .client import SHOW_DELETED, Entry, LdapClient
from .config import LdapConfig
from .entries import (
    flattened,
    group_attributes,
    incoming_group,
    incoming_user,
    members,
    removed,
    user_attributes,
)
from .errors import LdapError, NoSource, RoundRunning, SecretUnreadable, SourceDisabled

log = logging.getLogger("scimhub.ldap")
Progress = Callable[[str, int], None]
MEMBER_FILTER_CHUNK = 50  # DNs per (|(member=...)...) filter


class Secrets(Protocol):
    """Seals the bind password (the hub's SecretBox: Fernet with SCIMHUB_SECRET_KEY)."""

    def encrypt(self, plain: str) -> str: ...
    def decrypt(self, token: str) -> str: ...


Connect = Callable[[LdapConfig, str], LdapClient]


@dataclass
class LdapCounts(PullCounts):
    full: bool = False  # a full round (else incremental)
    ids_compared: bool = False  # every stable id compared (deletions, moves out of scope)
    tombstones: int = 0  # AD tombstones of linked objects
    users_seen: int = 0
    # mapping sources no entry of a full round had a value for
    unmatched: list[str] = field(default_factory=list)


def open_password(secrets: Secrets, source: LdapSource) -> str:
    try:
        return secrets.decrypt(source.password_encrypted)
    except Exception as exc:  # the box's own error names the key problem
        raise SecretUnreadable(str(exc)) from None


class LdapSync:
    def __init__(
        self,
        engine: PullEngine,
        *,
        sources: LdapSources,
        attributes: CustomAttributes,
        secrets: Secrets,
        connect: Connect = LdapClient,
        base_url: str = "",
    ) -> None:
        self.engine = engine
        self.sources = sources
        self.attributes = attributes
        self.secrets = secrets
        self.connect = connect
        self.base_url = base_url

    def source(self, org_id: str) -> LdapSource:
        found = self.sources.of_org(org_id)
        if found is None:
            raise NoSource("Add one first (scimhub ldap add).")
        return found

    def run(
        self,
        org_id: str,
        progress: Progress | None = None,
        *,
        tracking_id: str | None = None,
        full: bool = False,
    ) -> LdapCounts:
        """One round (`full`: read everything even if an incremental one would do)."""
        source = self.source(org_id)
        if not source.enabled:
            raise SourceDisabled("Enable it first (scimhub ldap enable).")
        with self.engine.locked(source.id) as mine:
            if not mine:
                raise RoundRunning("Try again when it ends.")
            return Round(self, self.source(org_id), progress, tracking_id).run(full)


@dataclass
class Round:
    """One round's reading and writing (state kept between its phases)."""

    sync: LdapSync
    source: LdapSource
    progress: Progress | None
    tracking_id: str | None
    counts: LdapCounts = field(default_factory=LdapCounts)
    created_dns: list[str] = field(default_factory=list)
    matched: dict[str, int] = field(default_factory=dict)

    def run(self, full: bool) -> LdapCounts:
        src = self.source
        cfg = settings.stored(src.url, src.bind_dn, src.config)
        password = open_password(self.sync.secrets, src)
        started = time.monotonic()
        loc = Locator(self.sync.base_url, src.org_id)
        rt = self.sync.attributes.types(src.org_id).of("User")
        source = Source(SourceKind.LDAP, src.name, src.id, self.tracking_id)
        with self.sync.connect(cfg, password) as client, caused_by(source):
            dse = client.root_dse()
            server = dse.first("dsServiceName") or dse.first("dnsHostName") or cfg.url
            state = src.state
            now = utcnow()
            incremental = (
                not full
                and state.get("server") == server
                and state.get("reading") == cfg.reading_digest()
                and state.get("users_mark") is not None
            )
            self.counts.full = not incremental
            start_usn = dse.first("highestCommittedUSN")
            users_mark = state.get("users_mark") if incremental else None
            groups_mark = state.get("groups_mark") if incremental else None
            seen_users: set[str] | None = None if incremental else set()
            seen_groups: set[str] | None = None if incremental else set()
            new_users_mark = self._users(client, cfg, rt, users_mark, seen_users, loc)
            new_groups_mark = self._groups(client, cfg, groups_mark, seen_groups, loc)
            compared = False
            if incremental:
                if cfg.tombstones:
                    self._tombstones(client, cfg, dse, users_mark)
                if _due(state.get("ids_compared"), cfg.deletion_check_minutes, now):
                    seen_users, seen_groups = self._ids(client, cfg, rt)
                    compared = True
            if seen_users is not None and seen_groups is not None:
                self.sync.engine.unseen(src, "User", seen_users)
                self.sync.engine.unseen(src, "Group", seen_groups)
                compared = True
            if not incremental:
                self.counts.unmatched = [
                    m["source"]
                    for m in cfg.mapping
                    if self.counts.users_seen and not self.matched.get(m["source"])
                ]
            self.sync.engine.settle(src, loc, self.counts, started)
            self.counts.ids_compared = compared
            fresh = {
                "server": server,
                "reading": cfg.reading_digest(),
                "users_mark": _mark(cfg, start_usn, new_users_mark),
                "groups_mark": _mark(cfg, start_usn, new_groups_mark),
                "ids_compared": now.isoformat() if compared else state.get("ids_compared"),
            }
            self.source = self.sync.sources.update(src, state=fresh)
            self.sync.sources.finish_round(
                self.source, {**asdict(self.counts), "finished": utcnow().isoformat()}
            )
        return self.counts

    # -- users ----------------------------------------------------------------------------

    def _users(
        self,
        client: LdapClient,
        cfg: LdapConfig,
        rt: ResourceType,
        mark: str | None,
        seen: set[str] | None,
        loc: Locator,
    ) -> str | None:
        src, engine = self.source, self.sync.engine
        highest = mark
        search = _changed(cfg.user_filter, cfg, mark)
        for entries in client.pages(
            cfg.user_base, search, user_attributes(cfg), page_size=cfg.page_size
        ):
            page: list[Incoming] = []
            dns: dict[str, Entry] = {}
            for entry in entries:
                highest = _higher(highest, entry.first(cfg.change_attribute))
                item = incoming_user(entry, cfg, rt)
                if item is None:
                    continue
                self.counts.users_seen += 1
                for m in cfg.mapping:
                    if m["source"].lower() in entry.attributes:
                        self.matched[m["source"]] = self.matched.get(m["source"], 0) + 1
                page.append(item)
                dns[item.object_id] = entry
                if seen is not None:
                    seen.add(item.object_id)
            created_before = self.counts.users_created
            done = engine.users(src, page, self.counts, loc)
            written = set(done.written) if seen is None else set(dns)  # full: every entry
            self.sync.sources.save_entries(
                src.id, [(oid, dns[oid].dn, "User") for oid in written if oid in dns]
            )
            if seen is None and self.counts.users_created > created_before:
                self.created_dns += [dns[oid].dn.lower() for oid in done.written if oid in dns]
            self.counts.pages += 1
            if self.progress:
                self.progress("users", len(entries))
        return highest

    # -- groups ---------------------------------------------------------------------------

    def _groups(
        self,
        client: LdapClient,
        cfg: LdapConfig,
        mark: str | None,
        seen: set[str] | None,
        loc: Locator,
    ) -> str | None:
        highest = mark
        read: dict[str, Entry] = {}  # object id -> entry, every group this round read
        searches = [_changed(cfg.group_filter, cfg, mark)]
        # Users this round created may be members of groups that did not change.
        for i in range(0, len(self.created_dns), MEMBER_FILTER_CHUNK):
            chunk = self.created_dns[i : i + MEMBER_FILTER_CHUNK]
            either = "".join(f"({cfg.member_attribute}={_escape(dn)})" for dn in chunk)
            searches.append(f"(&{cfg.group_filter}(|{either}))")
        for search in searches:
            for entries in client.pages(
                cfg.group_base, search, group_attributes(cfg), page_size=cfg.page_size
            ):
                for entry in entries:
                    highest = _higher(highest, entry.first(cfg.change_attribute))
                    oid = entry.first(cfg.id_attribute)
                    if oid:
                        read[oid] = entry
                self.counts.pages += 1
                if self.progress:
                    self.progress("groups", len(entries))
        if cfg.nested_groups and read and seen is None:
            # A changed group changes every group it is nested in: read them all.
            read = {}
            for entries in client.pages(
                cfg.group_base, cfg.group_filter, group_attributes(cfg), page_size=cfg.page_size
            ):
                for entry in entries:
                    oid = entry.first(cfg.id_attribute)
                    if oid:
                        read[oid] = entry
        if seen is not None:
            seen.update(read)
        self._apply_groups(cfg, read, loc)
        return highest

    def _apply_groups(self, cfg: LdapConfig, read: dict[str, Entry], loc: Locator) -> None:
        src, engine = self.source, self.sync.engine
        direct = {e.dn.lower(): members(e, cfg) for e in read.values()}
        listed = flattened(direct) if cfg.nested_groups else direct
        entries = list(read.values())
        ids: dict[str, str] = {}
        for i in range(0, len(entries), cfg.page_size):
            chunk = entries[i : i + cfg.page_size]
            page = [
                item
                for e in chunk
                if (item := incoming_group(e, cfg, listed[e.dn.lower()])) is not None
            ]
            done = engine.groups_page(src, page, self.counts, loc)
            ids.update(done.ids)
            self.sync.sources.save_entries(
                src.id,
                [
                    (e.first(cfg.id_attribute) or "", e.dn, "Group")
                    for e in chunk
                    if e.first(cfg.id_attribute)
                ],
            )
        # Members by DN → where each entry is → the links: the engine sets each group's.
        known = self.sync.sources.ids_of(src.id, {dn for dns in listed.values() for dn in dns})
        lists: dict[str, list[str]] = {}
        for e in entries:
            oid = e.first(cfg.id_attribute)
            gid = ids.get(oid or "")
            if gid is None:
                continue
            lists[gid] = [known[dn][0] for dn in listed[e.dn.lower()] if dn in known]
        engine.member_lists(src, lists)

    # -- deletions ------------------------------------------------------------------------

    def _tombstones(
        self, client: LdapClient, cfg: LdapConfig, dse: Entry, mark: str | None
    ) -> None:
        """AD's deleted objects since the mark (Show Deleted control, not critical); an
        account that may not read them finds none, and the comparison of ids still runs."""
        root = dse.first("defaultNamingContext") or _domain(cfg.user_base)
        after = f"(uSNChanged>={int(mark) + 1})" if mark and mark.isdigit() else ""
        users: list[Incoming] = []
        groups: list[Incoming] = []
        try:
            for entries in client.pages(
                root,
                f"(&(isDeleted=TRUE){after})",
                [cfg.id_attribute, "objectClass"],
                page_size=cfg.page_size,
                controls=[(SHOW_DELETED, False, None)],
            ):
                for entry in entries:
                    oid = entry.first(cfg.id_attribute)
                    classes = {c.lower() for c in entry.values("objectClass")}
                    if oid:
                        (groups if "group" in classes else users).append(removed(oid))
        except LdapError as exc:
            log.info("tombstones of %s not readable: %s", self.source.name, exc.detail)
            return
        loc = Locator(self.sync.base_url, self.source.org_id)
        before = len(users) + len(groups)
        self.sync.engine.users(self.source, users, self.counts, loc)
        self.sync.engine.groups_page(self.source, groups, self.counts, loc)
        self.counts.tombstones += before

    def _ids(
        self, client: LdapClient, cfg: LdapConfig, rt: ResourceType
    ) -> tuple[set[str], set[str]]:
        """Every stable id in scope (what a comparison with the links needs, nothing more;
        with a population, the userName too)."""
        user_name = next(m["source"] for m in cfg.mapping if m["target"] == "userName")
        wanted = [cfg.id_attribute] + ([user_name] if cfg.user_domains else [])
        users: set[str] = set()
        for entries in client.pages(
            cfg.user_base, cfg.user_filter, wanted, page_size=cfg.page_size
        ):
            for entry in entries:
                oid = entry.first(cfg.id_attribute)
                name = entry.first(user_name) or ""
                if oid and (not cfg.user_domains or cfg.user_in_population(name)):
                    users.add(oid)
        groups: set[str] = set()
        for entries in client.pages(
            cfg.group_base, cfg.group_filter, [cfg.id_attribute], page_size=cfg.page_size
        ):
            groups.update(oid for e in entries if (oid := e.first(cfg.id_attribute)))
        return users, groups


def _changed(search: str, cfg: LdapConfig, mark: str | None) -> str:
    """The scope filter, narrowed to what changed after the mark."""
    if mark is None:
        return search
    if cfg.change_attribute == "uSNChanged":
        return f"(&{search}(uSNChanged>={int(mark) + 1}))"
    return f"(&{search}({cfg.change_attribute}>={_escape(mark)}))"


def _higher(a: str | None, b: str | None) -> str | None:
    if b is None:
        return a
    if a is None:
        return b
    if a.isdigit() and b.isdigit():
        return a if int(a) >= int(b) else b
    return max(a, b)  # generalized time and CSNs sort as text


def _mark(cfg: LdapConfig, start_usn: str | None, seen: str | None) -> str | None:
    """AD: the DC's highestCommittedUSN before the round (so nothing committed during it
    is missed), else the largest value the round saw."""
    if cfg.change_attribute == "uSNChanged" and start_usn and start_usn.isdigit():
        return _higher(start_usn, seen)
    return seen


def _due(last: Any, minutes: int, now: datetime) -> bool:
    if not isinstance(last, str):
        return True
    try:
        return now - as_utc(datetime.fromisoformat(last)) >= timedelta(minutes=minutes)
    except ValueError:
        return True


def _domain(dn: str) -> str:
    parts = [p for p in dn.split(",") if p.strip().lower().startswith("dc=")]
    return ",".join(parts) or dn


def _escape(value: str) -> str:
    """RFC 4515 escaping of a filter value."""
    out = []
    for ch in value:
        out.append(f"\\{ord(ch):02x}" if ch in "*()\\\0" else ch)
    return "".join(out)
