"""Writing a cycle's results: the connector data store (links), escrows and the
provisioning log, in batches (one transaction per few thousand objects)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, delete, tuple_
from sqlalchemy.dialects.sqlite import insert

from ..db import now_iso
from ..schema import escrows, provisioning_logs, sync_links
from .logs import JobRef
from .scim_client import TargetError
from .snapshot import Link


@dataclass(frozen=True)
class Outcome:
    kind: str  # User | Group
    source_id: str
    action: str
    status: str  # success | failure | skipped
    link: Link | None  # the link after this object's sync (None: unchanged)
    drop_link: bool
    error: TargetError | None
    log: dict[str, Any] | None


def persist(engine: Engine, ref: JobRef, batch: list[Outcome]) -> None:
    links = [o for o in batch if o.link is not None and not o.drop_link and o.status == "success"]
    dropped = [(o.kind, o.source_id) for o in batch if o.drop_link]
    failed = [o for o in batch if o.status == "failure"]
    cleared = [(o.kind, o.source_id) for o in batch if o.status == "success"]
    with engine.begin() as conn:
        if links:
            stmt = insert(sync_links)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["job_id", "object_type", "source_id"],
                    set_={"target_id": stmt.excluded.target_id, "applied": stmt.excluded.applied},
                ),
                [
                    {
                        "job_id": ref.job_id,
                        "object_type": o.kind,
                        "source_id": o.source_id,
                        "target_id": o.link.target_id,
                        "applied": o.link.applied,
                    }
                    for o in links
                    if o.link is not None
                ],
            )
        for table, keys in ((sync_links, dropped), (escrows, cleared)):
            for start in range(0, len(keys), 400):
                conn.execute(
                    delete(table).where(
                        and_(
                            table.c.job_id == ref.job_id,
                            tuple_(table.c.object_type, table.c.source_id).in_(
                                keys[start : start + 400]
                            ),
                        )
                    )
                )
        if failed:
            stmt = insert(escrows)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["job_id", "object_type", "source_id"],
                    set_={
                        "attempts": escrows.c.attempts + 1,
                        "last_error": stmt.excluded.last_error,
                    },
                ),
                [
                    {
                        "job_id": ref.job_id,
                        "object_type": o.kind,
                        "source_id": o.source_id,
                        "attempts": 1,
                        "last_error": o.error.detail if o.error else "",
                        "first_failed": now_iso(),
                    }
                    for o in failed
                ],
            )
        entries = [o.log for o in batch if o.log is not None]
        if entries:
            conn.execute(
                provisioning_logs.insert(),
                [
                    {
                        "id": e["id"],
                        "tenant_id": ref.tenant_id,
                        "job_id": ref.job_id,
                        "service_principal_id": ref.sp_id,
                        "activity_date_time": e["activityDateTime"],
                        "cycle_id": ref.cycle_id,
                        "action": e["provisioningAction"],
                        "status": e["provisioningStatusInfo"]["status"],
                        "source_id": e["sourceIdentity"]["id"],
                        "body": e,
                    }
                    for e in entries
                ],
            )
