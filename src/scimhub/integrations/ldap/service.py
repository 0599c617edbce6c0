"""An organisation's LDAP source as the CLI, the admin API and the console use it: add,
change, enable or disable, remove; test; run a round; dry-run one. Every change is
audited; the bind password is sealed on the way in and never shown again.

One source of truth per population: enabling a source while an Azure AD instance feeds
the same organisation is refused (409/701108) unless the source is scoped to userName
domains of its own (`userDomains`), disjoint from the instance's tenant domain."""

from __future__ import annotations

import time
from typing import Any

from ...config import ConfigError
from ...directory.actor import Actor
from ...directory.audit import Audit
from ...directory.deletion_brake import DeletionBrake
from ...directory.instances import Instances
from ...directory.ldap_sources import LdapSource, LdapSources
from ...directory.ldap_sources import SourceExists as StoredExists
from ..pull.forecast import ForecastEngine
from . import config as settings
from .config import LdapConfig
from .errors import (
    InvalidSource,
    LdapError,
    NoSource,
    PopulationConflict,
    SecretUnreadable,
    SourceExists,
)
from .presets import preset_json
from .probe import ProbeReport, probe
from .rounds import Connect, LdapCounts, LdapSync, Progress, Round, Secrets, open_password


class AuditAction:
    ADDED = "LDAP source added"
    CHANGED = "LDAP source changed"
    ENABLED = "LDAP source enabled"
    DISABLED = "LDAP source disabled"
    REMOVED = "LDAP source removed"


class _ReadOnlySources(LdapSources):
    """The sources as a dry run sees them: reads pass, writes are dropped."""

    def __init__(self, inner: LdapSources) -> None:
        super().__init__(inner.db)

    def update(self, source: LdapSource, **values: Any) -> LdapSource:
        return source

    def finish_round(self, source: LdapSource, counts: dict[str, Any]) -> LdapSource:
        return source

    def save_entries(self, source_id: str, entries: Any) -> None:
        return None


class LdapService:
    def __init__(
        self,
        sync: LdapSync,
        *,
        instances: Instances,
        audit: Audit,
        brake: DeletionBrake,
    ) -> None:
        self.sync = sync
        self.sources = sync.sources
        self.secrets: Secrets = sync.secrets
        self.instances = instances
        self.audit = audit
        self.brake = brake

    @property
    def connect(self) -> Connect:
        return self.sync.connect

    # -- reading ------------------------------------------------------------------------

    def get(self, org_id: str) -> LdapSource | None:
        return self.sources.of_org(org_id)

    def config_of(self, source: LdapSource) -> LdapConfig:
        return settings.stored(source.url, source.bind_dn, source.config)

    def view(self, source: LdapSource) -> dict[str, Any]:
        cfg = self.config_of(source)
        state = source.state
        return {
            "id": source.id,
            "name": source.name,
            "enabled": source.enabled,
            **cfg.as_json(),
            "passwordSet": bool(source.password_encrypted),
            "state": {
                "server": state.get("server"),
                "usersMark": state.get("users_mark"),
                "groupsMark": state.get("groups_mark"),
                "idsCompared": state.get("ids_compared"),
            },
            "lastRound": source.last_round,
            "deletionsHeld": self.brake.held_count(source.id),
            "created": source.created.isoformat(),
            "updated": source.updated.isoformat(),
        }

    @staticmethod
    def presets() -> dict[str, Any]:
        return preset_json()

    # -- changing -----------------------------------------------------------------------

    def add(
        self,
        org_id: str,
        body: dict[str, Any],
        password: str,
        *,
        actor: Actor,
        name: str | None = None,
        enabled: bool = True,
    ) -> LdapSource:
        cfg = settings.parse(body)
        if not password:
            raise InvalidSource("'password' is required (the bind DN's password)")
        if enabled:
            self._one_source_of_truth(org_id, cfg)
        try:
            source = self.sources.create(
                org_id,
                name=(name or f"LDAP {cfg.host}")[:256],
                url=cfg.url,
                bind_dn=cfg.bind_dn,
                password_encrypted=self._seal(password),
                config=cfg.as_document(),
                enabled=enabled,
            )
        except StoredExists:
            raise SourceExists("Change or remove it (scimhub ldap remove).") from None
        self._audit(source, AuditAction.ADDED, actor, {"url": cfg.url, "preset": cfg.preset.value})
        return source

    def update(
        self,
        org_id: str,
        body: dict[str, Any],
        *,
        actor: Actor,
        password: str | None = None,
    ) -> LdapSource:
        source = self._source(org_id)
        body = dict(body)
        name = body.pop("name", None)
        enabled = body.pop("enabled", None)
        cfg = settings.parse(body, self.config_of(source)) if body else self.config_of(source)
        turning_on = enabled is True or (enabled is None and source.enabled)
        if turning_on:
            self._one_source_of_truth(org_id, cfg)
        values: dict[str, Any] = {
            "url": cfg.url,
            "bind_dn": cfg.bind_dn,
            "config": cfg.as_document(),
        }
        if isinstance(name, str) and name.strip():
            values["name"] = name.strip()[:256]
        if isinstance(enabled, bool):
            values["enabled"] = enabled
        if password:
            values["password_encrypted"] = self._seal(password)
        updated = self.sources.update(source, **values)
        changed = sorted(k for k in (*body, *(["password"] if password else [])))
        if changed or "name" in values:
            self._audit(updated, AuditAction.CHANGED, actor, {"changed": changed})
        if isinstance(enabled, bool) and enabled != source.enabled:
            self._audit(
                updated, AuditAction.ENABLED if enabled else AuditAction.DISABLED, actor, {}
            )
        return updated

    def set_enabled(self, org_id: str, enabled: bool, *, actor: Actor) -> LdapSource:
        return self.update(org_id, {"enabled": enabled}, actor=actor)

    def remove(self, org_id: str, *, actor: Actor) -> None:
        source = self._source(org_id)
        self.sources.delete(source)
        self._audit(source, AuditAction.REMOVED, actor, {})

    def _seal(self, password: str) -> str:
        try:
            return self.secrets.encrypt(password)
        except ConfigError as exc:  # PostgreSQL without SCIMHUB_SECRET_KEY
            raise SecretUnreadable(str(exc)) from None

    def _one_source_of_truth(self, org_id: str, cfg: LdapConfig) -> None:
        """Refuse to feed users an Azure AD instance of the org provisions too."""
        instances = self.instances.list(org_id)
        if not instances:
            return
        names = ", ".join(f"{i.name} ({i.tenant_domain or i.tenant_id})" for i in instances)
        if not cfg.user_domains:
            raise PopulationConflict(
                f"Azure AD instance {names} provisions this organization. One source of truth "
                "per user population: scope this LDAP source to userName domains the Azure AD "
                "instance does not provision (userDomains, `--user-domains`), or disconnect "
                "the instance first."
            )
        shared = [i for i in instances if (i.tenant_domain or "").lower() in cfg.user_domains]
        if shared:
            raise PopulationConflict(
                f"userDomains includes {shared[0].tenant_domain}, the domain of Azure AD "
                f"instance {shared[0].name}: the two would provision the same users."
            )

    def _source(self, org_id: str) -> LdapSource:
        source = self.sources.of_org(org_id)
        if source is None:
            raise NoSource("Add one first (scimhub ldap add).")
        return source

    def _audit(self, source: LdapSource, action: str, actor: Actor, detail: dict[str, Any]) -> None:
        self.audit.record(
            source.org_id,
            actor.name,
            action,
            target=source.name,
            detail={"source_id": source.id, **detail},
            tracking_id=actor.tracking_id,
        )

    # -- talking to the directory ---------------------------------------------------------

    def test(
        self,
        org_id: str,
        body: dict[str, Any] | None = None,
        password: str | None = None,
    ) -> ProbeReport:
        """The saved source tried (or, with `body`, the settings about to be saved, with
        `password` or the saved one)."""
        source = self.sources.of_org(org_id)
        if body is None and source is None:
            raise NoSource("Add one first (scimhub ldap add).")
        base = self.config_of(source) if source else None
        cfg = settings.parse(body, base) if body else base
        assert cfg is not None
        secret = password or (open_password(self.secrets, source) if source else "")
        if not secret:
            raise InvalidSource("'password' is required")
        return probe(cfg, secret, self.connect)

    def run(
        self,
        org_id: str,
        progress: Progress | None = None,
        *,
        tracking_id: str | None = None,
        full: bool = False,
    ) -> LdapCounts:
        return self.sync.run(org_id, progress, tracking_id=tracking_id, full=full)

    def dry_run(self, org_id: str, *, full: bool = False) -> dict[str, Any]:
        """What the next round (`full`: a full one) would change, written nowhere."""
        source = self._source(org_id)
        engine = ForecastEngine(self.sync.engine)
        dry = LdapSync(
            engine,
            sources=_ReadOnlySources(self.sources),
            attributes=self.sync.attributes,
            secrets=self.secrets,
            connect=self.connect,
            base_url=self.sync.base_url,
        )
        started = time.monotonic()
        counts = Round(dry, source, None, None).run(full)
        removals = engine.removals
        return {
            "sourceId": source.id,
            "round": "full" if counts.full else "incremental",
            "examined": {"users": counts.users_seen, "pages": counts.pages},
            "users": engine.users_tally.as_json(),
            "groups": engine.groups_tally.as_json(),
            "removals": removals,
            "threshold": self.brake.would_hold(source, removals).as_json(),
            "idsCompared": counts.ids_compared,
            "unmatched": counts.unmatched,
            "seconds": round(time.monotonic() - started, 3),
        }

    def record_failure(
        self,
        org_id: str,
        source_id: str | None,
        error: LdapError,
        *,
        operation: str,
        tracking_id: str,
    ) -> None:
        """Keep a failure for the troubleshooter, as integration failures are kept."""
        detail = error.detail
        if error.certificate is not None:
            c = error.certificate
            detail += (
                f" [certificate {c.subject}, issued by {c.issuer}, expires {c.not_after:%Y-%m-%d}]"
            )
        self.instances.record_failure(
            org_id,
            source_id,
            tracking_id=tracking_id,
            operation=operation,
            status=error.status,
            code=error.code,
            upstream_code=error.upstream_code,
            upstream_message=detail,
            correlation_id=None,
            client_request_id=None,
            description=error.description,
        )
