"""The hub's background work, each piece one plain call: a pull-sync round, a status check
of an instance, renewal of the SCIM tokens Entra's jobs hold, and clean-up. Two schedulers
run the same calls: the in-process one (`scheduler.py`, one process on SQLite) and
procrastinate workers (`tasks.py`, PostgreSQL).

A failure is recorded with a tracking id, like a failure an admin saw, so the troubleshooter
and the console show what went wrong while nobody was looking; every run logs one line
under its tracking id (`task_runs.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from ..directory.actor import Actor
from ..directory.deletion_brake import DeletionBrake
from ..directory.events import Events
from ..directory.instances import Instance, Instances, Mode
from ..directory.ldap_sources import LdapSource
from ..directory.recycle_bin import RecycleBin
from ..directory.removal_bursts import RemovalBursts
from ..directory.request_log import RequestLog
from ..directory.sessions import Sessions
from ..directory.tokens import Tokens
from ..integrations.entra.errors import AlreadyRunning, IntegrationError
from ..integrations.entra.failures import recording_failures
from ..integrations.entra.pull import PullSync
from ..integrations.entra.service import EntraIntegration
from ..integrations.entra.settings import SECRET_WARNING
from ..integrations.ldap.errors import LdapError
from ..integrations.ldap.errors import RoundRunning as LdapRoundRunning
from ..integrations.ldap.service import LdapService
from ..store.engine import utcnow
from ..tracking_ids import new_tracking_id
from .task_runs import task_run

log = logging.getLogger("scimhub.sync")
ACTOR = "scimhub background sync"


@dataclass(frozen=True, slots=True)
class Retention:
    request_log: timedelta = timedelta(days=30)
    events: timedelta = timedelta(days=30)  # change events (SCIMHUB_EVENT_RETENTION_DAYS)
    recycle_bin: timedelta = timedelta(days=30)  # deleted resources (SCIMHUB_RECYCLE_DAYS)
    token_renewal: timedelta = timedelta(days=30)  # renew a job's token this long ahead


@dataclass(frozen=True, slots=True)
class Expiry:
    renewed: list[str]  # instances whose job got a new SCIM token
    client_secret_days_left: int | None  # None: its expiry is not configured


@dataclass(frozen=True, slots=True)
class CleanUp:
    requests: int
    failures: int
    sessions: int
    consent_states: int
    events: int
    recycled: int  # deleted users and groups purged from the recycle bin
    removals: int  # the deletion brake's decided removals, past the request log's retention


class SyncWork:
    def __init__(
        self,
        *,
        instances: Instances,
        pull: PullSync,
        entra: EntraIntegration,
        tokens: Tokens,
        sessions: Sessions,
        requests: RequestLog,
        events: Events,
        recycle_bin: RecycleBin,
        brake: DeletionBrake,
        bursts: RemovalBursts,
        tracking_prefix: str,
        retention: Retention,
        ldap: LdapService | None = None,
    ) -> None:
        self.instances = instances
        self.pull_sync = pull
        self.reader = entra.reader
        self.status = entra.status
        self.provisioning = entra.provisioning
        self.tokens = tokens
        self.sessions = sessions
        self.requests = requests
        self.events = events
        self.recycle_bin = recycle_bin
        self.brake = brake
        self.bursts = bursts
        self.tracking_prefix = tracking_prefix
        self.retention = retention
        self.ldap = ldap

    def instances_in_mode(self, mode: Mode) -> list[Instance]:
        return self.instances.all_in_mode(mode)

    def all_instances(self) -> list[Instance]:
        return [i for mode in Mode for i in self.instances.all_in_mode(mode)]

    # -- the work -------------------------------------------------------------------------

    def pull(self, org_id: str, instance_id: str) -> dict[str, Any] | None:
        """One pull round; None when another process is running this instance's round.
        A failure is recorded, then raised, so the task queue marks the job failed."""
        tracking_id = self.tracking_id()  # one id for the round: its failure and its events
        with task_run("pull_round", tracking_id, org_id=org_id, instance_id=instance_id) as run:
            instance = self.instances.get(org_id, instance_id)
            if instance is None or instance.mode != Mode.PULL:
                run.outcome = "skipped"  # disconnected or switched since it was scheduled
                return None
            with self._recorded(instance, "scheduled pull", tracking_id):
                try:
                    counts = asdict(
                        self.pull_sync.run(org_id, instance_id, tracking_id=tracking_id)
                    )
                except AlreadyRunning:
                    run.outcome = "busy"
                    return None
            run.fields["counts"] = counts
            return counts

    def ldap_sources(self) -> list[LdapSource]:
        """The enabled LDAP sources: each gets a round as pull instances do."""
        return self.ldap.sources.enabled() if self.ldap is not None else []

    def ldap_round(self, org_id: str) -> dict[str, Any] | None:
        """One round of the org's LDAP source; None when it is gone, disabled, or running
        in another process. A failure is recorded for the troubleshooter, then raised."""
        if self.ldap is None:
            return None
        source = self.ldap.get(org_id)
        if source is None or not source.enabled:
            return None
        tracking_id = self.tracking_id()
        try:
            return asdict(self.ldap.run(org_id, tracking_id=tracking_id))
        except LdapRoundRunning:
            return None
        except LdapError as err:
            self.ldap.record_failure(
                org_id, source.id, err, operation="scheduled ldap round", tracking_id=tracking_id
            )
            log.warning(
                "scheduled round of %s failed: %s (tracking id %s)",
                source.name,
                err.description,
                tracking_id,
            )
            raise

    def check(self, org_id: str, instance_id: str) -> bool:
        """Ask Entra about the instance: a push job's status (saved for the console), for
        pull instances whether the hub still gets a Graph token and an answer. A refusal
        (consent revoked, integration app deleted, secret expired) is recorded. A push
        instance's removals since the last check are scanned for a burst first."""
        tracking_id = self.tracking_id()
        with task_run("status_check", tracking_id, org_id=org_id, instance_id=instance_id) as run:
            instance = self.instances.get(org_id, instance_id)
            if instance is None:
                run.outcome = "skipped"
                return False
            if instance.mode == Mode.PUSH:  # what the job removed since: a burst to undo?
                self.bursts.scan(instance)
            try:
                with self._recorded(instance, "scheduled status check", tracking_id):
                    if instance.mode == Mode.PUSH:
                        self.status.instance(instance)
                    else:
                        self.reader.tenant(instance.tenant_id).check()
            except IntegrationError:
                run.outcome = "failed"
                return False
            return True

    def check_expiry(self, now: datetime | None = None) -> Expiry:
        """Renew the jobs' SCIM tokens that are due, and warn (in the log; the
        troubleshooter says it too) while the hub's own client secret nears its expiry."""
        with task_run("expiry_check", self.tracking_id()) as run:
            now = now or utcnow()
            renewed = self.renew_tokens(now)
            run.fields["renewed"] = len(renewed)
            expires = self.reader.public_identity().client_secret_expires
            if expires is None:
                return Expiry(renewed, None)
            left = expires - now
            if left < SECRET_WARNING:
                log.warning(
                    "the hub's client secret (SCIMHUB_ENTRA_CLIENT_SECRET) %s %s: create "
                    "a new one for the integration app and set it",
                    "expired" if left.total_seconds() <= 0 else "expires",
                    expires,
                )
            return Expiry(renewed, left.days)

    def renew_tokens(self, now: datetime | None = None) -> list[str]:
        """Give every push job whose hub token expires within the renewal window a new
        one (Entra would otherwise be refused with 401 and quarantine the job). Returns
        the renewed instances' ids."""
        now = now or utcnow()
        renewed = []
        for instance in self.instances_in_mode(Mode.PUSH):
            if not instance.scim_token_id:
                continue
            token = self.tokens.get(instance.org_id, instance.scim_token_id)
            expires = token.expires_at if token else None
            if expires is None or expires - now > self.retention.token_renewal:
                continue
            if not instance.hub_url:
                log.warning(
                    "cannot renew the SCIM token of %s: its hub URL is unknown; "
                    "run Allow Azure AD sync once",
                    instance.name,
                )
                continue
            tracking_id = self.tracking_id()
            try:
                with self._recorded(instance, "scheduled token renewal", tracking_id):
                    self.provisioning.renew_scim_token(
                        instance.org_id,
                        instance.id,
                        Actor(ACTOR, tracking_id),
                        hub_url=instance.hub_url,
                    )
            except IntegrationError:
                continue
            log.info("renewed the SCIM token of %s (it expired %s)", instance.name, expires)
            renewed.append(instance.id)
        return renewed

    def clean_up(self, now: datetime | None = None) -> CleanUp:
        with task_run("clean_up", self.tracking_id()) as run:
            now = now or utcnow()
            cutoff = now - self.retention.request_log
            removed = CleanUp(
                requests=self.requests.prune(cutoff),
                failures=self.instances.prune_failures(cutoff),
                sessions=self.sessions.prune(now),
                consent_states=self.instances.prune_consent_states(now),
                # Each organisation's stream remembers where it was cut: a reader whose
                # cursor was older is told (410), never skipped past what it missed.
                events=self.events.prune(now - self.retention.events),
                recycled=self.recycle_bin.purge(now - self.retention.recycle_bin),
                removals=self.brake.purge(cutoff),
            )
            run.fields["removed"] = asdict(removed)
            return removed

    # -- failures -------------------------------------------------------------------------

    def tracking_id(self) -> str:
        return new_tracking_id(self.tracking_prefix)

    @contextmanager
    def _recorded(
        self, instance: Instance, operation: str, tracking_id: str | None = None
    ) -> Iterator[None]:
        """Record and log any integration failure inside: nobody is watching this work."""
        tracking_id = tracking_id or self.tracking_id()
        try:
            with recording_failures(
                self.instances,
                instance.org_id,
                instance.id,
                tracking_id=tracking_id,
                operation=operation,
                every_failure=True,
            ):
                yield
        except IntegrationError as err:
            log.warning(
                "%s of %s failed: %s (tracking id %s)", operation, instance.name, err, tracking_id
            )
            raise
