"""The provisioning service's clock: a background task in the emulator server that runs
each started job's cycles (initial, then incremental every cycle interval), records the
job status Graph reports, and quarantines jobs the way Entra does."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import ssl
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from .. import audit
from ..apps import get_sp
from ..context import DEFAULT_CYCLE_SECONDS, Emulator
from ..db import now_iso
from ..schema import sync_jobs, sync_links
from . import jobs
from .dialects import parse_base
from .engine import Counters, Cycle
from .logs import JobRef
from .scim_client import ScimClient
from .snapshot import Snapshot, load

log = logging.getLogger("scimhub.emulator.provisioning")
TICK_SECONDS = 0.25
DELETE_THRESHOLD = 500
ON_DEMAND_LIMIT, ON_DEMAND_WINDOW = 5, 10.0
_BACKOFF_HOURS = (6, 12, 24)  # then daily; disabled after four weeks
_TARGET_TYPES = {
    "User": "urn:ietf:params:scim:schemas:core:2.0:User",
    "Group": "urn:ietf:params:scim:schemas:core:2.0:Group",
}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Scheduler:
    def __init__(self, emu: Emulator):
        self.emu = emu
        self.running: dict[str, asyncio.Task[list[dict[str, Any]]]] = {}  # job id -> its cycle
        self.on_demand: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._loop_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def scale(self) -> float:
        """Quarantine back-off shrinks with the cycle interval (seconds in tests)."""
        return self.emu.cycle_seconds / DEFAULT_CYCLE_SECONDS

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop())

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self.running.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def idle(self) -> None:
        """Wait for running cycles (tests and benchmarks)."""
        while self.running:
            await asyncio.gather(*self.running.values(), return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                due = await asyncio.to_thread(self._due)
                for job_id in due:
                    if job_id not in self.running:
                        self._start(job_id)
            except Exception:  # a bad job must not stop the service
                log.exception("provisioning scheduler tick failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_SECONDS)

    def _start(self, job_id: str) -> None:
        task = asyncio.create_task(self.run(job_id))
        self.running[job_id] = task
        task.add_done_callback(lambda _task: self.running.pop(job_id, None))

    def _due(self) -> list[str]:
        with self.emu.engine.connect() as conn:
            return list(
                conn.execute(
                    select(sync_jobs.c.id).where(
                        sync_jobs.c.schedule_state == "Active",
                        sync_jobs.c.next_run_at <= time.time(),
                    )
                ).scalars()
            )

    def allow_on_demand(self, job_id: str) -> bool:
        calls, now = self.on_demand[job_id], time.monotonic()
        while calls and calls[0] < now - ON_DEMAND_WINDOW:
            calls.popleft()
        if len(calls) >= ON_DEMAND_LIMIT:
            return False
        calls.append(now)
        return True

    # -- one cycle -------------------------------------------------------------------

    def _client(self, base_url: str, token: str) -> ScimClient:
        context = (
            ssl.create_default_context(cafile=self.emu.target_ca) if self.emu.target_ca else None
        )
        return ScimClient(
            base_url, token, concurrency=self.emu.push_concurrency, ssl_context=context
        )

    async def run(self, job_id: str, only: tuple[str, str] | None = None) -> list[dict[str, Any]]:
        """Run a cycle (or, with `only`, provision one object on demand); returns the
        provisioning log entries it wrote."""
        with self.emu.engine.connect() as conn:
            job = conn.execute(select(sync_jobs).where(sync_jobs.c.id == job_id)).first()
            if job is None or (only is None and job.schedule_state != "Active"):
                return []
            sp = get_sp(conn, job.tenant_id, job.sp_id)
            secrets = jobs.get_secrets(conn, job.sp_id)
        if sp is None:
            return []
        base, dialect = parse_base(secrets.get("BaseAddress", ""))
        sync_all = secrets.get("SyncAll", "").lower() == "true"
        snap = await asyncio.to_thread(self._load, job, sync_all, only)
        ref = JobRef(job.tenant_id, job.id, sp.id, sp.display_name, sp.app_id, str(uuid.uuid4()))
        began = time.time()
        deletes = self._planned_deletes(snap)
        if only is None and deletes > DELETE_THRESHOLD:
            await asyncio.to_thread(
                self._quarantine,
                job,
                began,
                "TooManyDeletes",
                f"{deletes} deletions exceed the threshold of {DELETE_THRESHOLD}.",
                Counters(),
            )
            return []
        client = self._client(base, secrets.get("SecretToken", ""))
        cycle = Cycle(
            self.emu.engine,
            ref,
            client,
            dialect,
            jobs.schema_of(job),
            snap,
            initial=job.watermark is None and only is None,
        )
        cycle.counters.imported = len(snap.users) + len(snap.groups)
        try:
            await cycle.run()
        finally:
            await client.close()
        if only is None:
            await asyncio.to_thread(self._finish, job, snap, cycle, began)
        return cycle.log_entries

    def _load(self, job: Any, sync_all: bool, only: tuple[str, str] | None) -> Snapshot:
        with self.emu.engine.connect() as conn:
            return load(
                conn,
                tenant_id=job.tenant_id,
                sp_id=job.sp_id,
                job_id=job.id,
                watermark=job.watermark,
                sync_all=sync_all,
                only=only,
            )

    @staticmethod
    def _planned_deletes(snap: Snapshot) -> int:
        users = sum(1 for u in snap.users if u.purged and ("User", u.id) in snap.links)
        groups = sum(
            1 for g in snap.groups if (g.purged or g.deleted_at) and ("Group", g.id) in snap.links
        )
        return users + groups

    def _execution(
        self,
        cycle_id: str,
        began: float,
        counters: Counters,
        state: str,
        error: dict[str, Any] | None,
    ) -> dict[str, Any]:
        return {
            "activityIdentifier": cycle_id,
            "countEntitled": counters.attempted,
            "countEntitledForProvisioning": counters.attempted,
            "countEscrowed": counters.escrowed,
            "countEscrowedRaw": counters.escrowed,
            "countExported": counters.exported,
            "countExports": counters.exported,
            "countImported": counters.imported,
            "countImportedDeltas": counters.imported,
            "countImportedReferenceDeltas": 0,
            "error": error,
            "state": state,
            "timeBegan": _iso(began),
            "timeEnded": now_iso(),
        }

    def _finish(self, job: Any, snap: Snapshot, cycle: Cycle, began: float) -> None:
        c = cycle.counters
        if cycle.unauthorized is not None:
            self._quarantine(
                job,
                began,
                "EncounteredQuarantineException",
                "The SCIM endpoint rejected the credentials (HTTP 401). "
                "Verify the Secret Token. " + cycle.unauthorized.detail[:300],
                c,
                code=cycle.unauthorized.code,
                cycle_id=cycle.ref.cycle_id,
            )
            return
        if c.attempted >= 10 and c.escrowed / c.attempted >= 0.5:
            self._quarantine(
                job,
                began,
                "EncounteredEscrowProportionThreshold",
                f"{c.escrowed} of {c.attempted} objects failed in one cycle.",
                c,
                cycle_id=cycle.ref.cycle_id,
                advance_to=snap.version,
            )
            return
        state = "EntryLevelErrors" if c.escrowed else "Succeeded"
        execution = self._execution(cycle.ref.cycle_id, began, c, state, None)
        with self.emu.engine.begin() as conn:
            current = conn.execute(select(sync_jobs).where(sync_jobs.c.id == job.id)).first()
            if current is None:
                return
            status = dict(current.status)
            now = now_iso()
            status.update(
                lastExecution=execution,
                lastSuccessfulExecution=execution,
                countSuccessiveCompleteFailures=0,
                quarantine=None,
                synchronizedEntryCountByType=self._entry_counts(conn, job.id),
            )
            if c.exported:
                status["lastSuccessfulExecutionWithExports"] = execution
            if not c.escrowed:
                if status.get("steadyStateFirstAchievedTime", jobs.NEVER) == jobs.NEVER:
                    status["steadyStateFirstAchievedTime"] = now
                status["steadyStateLastAchievedTime"] = now
            values: dict[str, Any] = {"status": status}
            if current.schedule_state == "Active":
                status["code"] = "Active"
                values["next_run_at"] = time.time() + self.emu.cycle_seconds
            # A schema change or restart during the cycle asked for a new initial cycle.
            if current.watermark == job.watermark:
                values["watermark"] = snap.version
            jobs.update(conn, job.id, **values)

    @staticmethod
    def _entry_counts(conn: Any, job_id: str) -> list[dict[str, Any]]:
        rows = conn.execute(
            select(sync_links.c.object_type, func.count())
            .where(sync_links.c.job_id == job_id)
            .group_by(sync_links.c.object_type)
        ).all()
        return [{"key": _TARGET_TYPES[kind], "value": n} for kind, n in rows]

    def _quarantine(
        self,
        job: Any,
        began: float,
        reason: str,
        message: str,
        counters: Counters,
        *,
        code: str = "QuarantineJob",
        cycle_id: str = "",
        advance_to: int | None = None,
    ) -> None:
        """Quarantine: retry after 6 h, 12 h, 24 h, then daily (scaled with the cycle
        interval); after four weeks the job is disabled."""
        error = {"code": code, "message": message, "tenantActionable": True}
        with self.emu.engine.begin() as conn:
            current = conn.execute(select(sync_jobs).where(sync_jobs.c.id == job.id)).first()
            if current is None:
                return
            status = dict(current.status)
            previous = status.get("quarantine") or {}
            now = time.time()
            count = int(previous.get("seriesCount", 0)) + 1
            series_began = previous.get("seriesBegan") or _iso(now)
            delay = _BACKOFF_HOURS[min(count, len(_BACKOFF_HOURS)) - 1] * 3600 * self.scale
            execution = self._execution(cycle_id, began, counters, "Failed", error)
            status.update(
                code="Quarantine",
                lastExecution=execution,
                countSuccessiveCompleteFailures=status.get("countSuccessiveCompleteFailures", 0)
                + 1,
                quarantine={
                    "currentBegan": _iso(now),
                    "nextAttempt": _iso(now + delay),
                    "reason": reason,
                    "seriesBegan": series_began,
                    "seriesCount": count,
                    "error": error,
                },
            )
            values: dict[str, Any] = {"status": status, "next_run_at": now + delay}
            began_ts = datetime.fromisoformat(series_began.replace("Z", "+00:00")).timestamp()
            if now - began_ts > timedelta(weeks=4).total_seconds() * self.scale:
                values["schedule_state"] = "Disabled"
            if advance_to is not None and current.watermark == job.watermark:
                values["watermark"] = advance_to
            if current.schedule_state == "Active":
                jobs.update(conn, job.id, **values)
            else:
                jobs.update(conn, job.id, status=status)
            audit.record(
                conn,
                job.tenant_id,
                "Quarantine",
                "ProvisioningManagement",
                initiated_by=audit.system_initiator("Azure AD Provisioning Service"),
                service="Account Provisioning",
                result="failure",
                result_reason=message,
                targets=[audit.target(job.sp_id, job.id, "ServicePrincipal")],
                additional={"JobId": job.id, "Reason": reason},
            )
