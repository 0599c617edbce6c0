"""The hub's background work, each piece one plain call: a pull-sync round, a status check
of an instance, renewal of the SCIM tokens Entra's jobs hold, and clean-up. Two schedulers
run the same calls: the in-process one (`scheduler.py`, one process on SQLite) and
procrastinate workers (`tasks.py`, PostgreSQL).

A failure is recorded with a tracking id, like a failure an admin saw, so the troubleshooter
and the console show what went wrong while nobody was looking.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from ..directory.instances import Instance, Instances
from ..directory.request_log import RequestLog
from ..directory.sessions import Sessions
from ..directory.tokens import Tokens
from ..integrations.entra.errors import ALREADY_RUNNING, IntegrationError
from ..integrations.entra.pull import PullSync
from ..integrations.entra.service import Actor, EntraIntegration
from ..integrations.entra.settings import SECRET_WARNING
from ..store.engine import utcnow
from ..tracking_ids import new_tracking_id

log = logging.getLogger("scimhub.sync")
ACTOR = "scimhub background sync"


@dataclass(frozen=True, slots=True)
class Retention:
    request_log: timedelta = timedelta(days=30)
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


class SyncWork:
    def __init__(self, *, instances: Instances, pull: PullSync, entra: EntraIntegration,
                 tokens: Tokens, sessions: Sessions, requests: RequestLog,
                 tracking_prefix: str, retention: Retention) -> None:
        self.instances = instances
        self.pull_sync = pull
        self.entra = entra
        self.tokens = tokens
        self.sessions = sessions
        self.requests = requests
        self.tracking_prefix = tracking_prefix
        self.retention = retention

    def instances_in_mode(self, mode: str) -> list[Instance]:
        return self.instances.all_in_mode(mode)

    def all_instances(self) -> list[Instance]:
        return self.instances.all_in_mode("push") + self.instances.all_in_mode("pull")

    # -- the work -------------------------------------------------------------------------

    def pull(self, org_id: str, instance_id: str) -> dict[str, Any] | None:
        """One pull round; None when another process is running this instance's round.
        A failure is recorded, then raised, so the task queue marks the job failed."""
        instance = self.instances.get(org_id, instance_id)
        if instance is None or instance.mode != "pull":
            return None  # disconnected or switched since the round was scheduled
        try:
            return asdict(self.pull_sync.run(org_id, instance_id))
        except IntegrationError as err:
            if err.code == ALREADY_RUNNING:
                return None
            self._record(instance, "scheduled pull", err)
            raise

    def check(self, org_id: str, instance_id: str) -> bool:
        """Ask Entra about the instance: a push job's status (saved for the console), for
        pull instances whether the hub still gets a Graph token and an answer. A refusal
        (consent revoked, integration app deleted, secret expired) is recorded."""
        instance = self.instances.get(org_id, instance_id)
        if instance is None:
            return False
        try:
            if instance.mode == "push":
                self.entra.instance_status(instance)
            else:
                self.entra.graph(instance.tenant_id).get("/organization?$select=id")
        except IntegrationError as err:
            self._record(instance, "scheduled status check", err)
            return False
        return True

    def check_expiry(self, now: datetime | None = None) -> Expiry:
        """Renew the jobs' SCIM tokens that are due, and warn (in the log; the
        troubleshooter says it too) while the hub's own client secret nears its expiry."""
        now = now or utcnow()
        renewed = self.renew_tokens(now)
        expires = self.entra.settings.client_secret_expires
        if expires is None:
            return Expiry(renewed, None)
        left = expires - now
        if left < SECRET_WARNING:
            log.warning("the hub's client secret (SCIMHUB_ENTRA_CLIENT_SECRET) %s %s: create "
                        "a new one for the integration app and set it",
                        "expired" if left.total_seconds() <= 0 else "expires", expires)
        return Expiry(renewed, left.days)

    def renew_tokens(self, now: datetime | None = None) -> list[str]:
        """Give every push job whose hub token expires within the renewal window a new
        one (Entra would otherwise be refused with 401 and quarantine the job). Returns
        the renewed instances' ids."""
        now = now or utcnow()
        renewed = []
        for instance in self.instances_in_mode("push"):
            if not instance.scim_token_id:
                continue
            token = self.tokens.get(instance.org_id, instance.scim_token_id)
            expires = token.expires_at if token else None
            if expires is None or expires - now > self.retention.token_renewal:
                continue
            if not instance.hub_url:
                log.warning("cannot renew the SCIM token of %s: its hub URL is unknown; "
                            "run Allow Azure AD sync once", instance.name)
                continue
            tracking_id = self.tracking_id()
            try:
                self.entra.renew_scim_token(instance.org_id, instance.id,
                                            Actor(ACTOR, tracking_id), hub_url=instance.hub_url)
            except IntegrationError as err:
                self._record(instance, "scheduled token renewal", err, tracking_id)
                continue
            log.info("renewed the SCIM token of %s (it expired %s)", instance.name, expires)
            renewed.append(instance.id)
        return renewed

    def clean_up(self, now: datetime | None = None) -> CleanUp:
        now = now or utcnow()
        cutoff = now - self.retention.request_log
        return CleanUp(requests=self.requests.prune(cutoff),
                       failures=self.instances.prune_failures(cutoff),
                       sessions=self.sessions.prune(now),
                       consent_states=self.instances.prune_consent_states(now))

    # -- failures -------------------------------------------------------------------------

    def tracking_id(self) -> str:
        return new_tracking_id(self.tracking_prefix)

    def _record(self, instance: Instance, operation: str, err: IntegrationError,
                tracking_id: str | None = None) -> None:
        tracking_id = tracking_id or self.tracking_id()
        log.warning("%s of %s failed: %s (tracking id %s)", operation, instance.name, err,
                    tracking_id)
        self.instances.record_failure(instance.org_id, instance.id, tracking_id=tracking_id,
                                      operation=operation, **err.failure_fields())
