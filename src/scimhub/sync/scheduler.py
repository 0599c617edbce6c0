"""The in-process scheduler: runs a pull-sync round for every pull-mode instance every
`interval` seconds, one round per instance at a time, failures recorded (with a tracking
id) for the troubleshooter like any integration failure."""

from __future__ import annotations

import asyncio
import logging
import uuid

from starlette.concurrency import run_in_threadpool

from ..directory.instances import Instances
from ..integrations.entra.errors import ALREADY_RUNNING, IntegrationError
from ..integrations.entra.pull import PullSync

log = logging.getLogger("scimhub.sync")


async def pull_forever(instances: Instances, pull: PullSync, *, interval: float,
                       tracking_prefix: str) -> None:
    while True:
        await asyncio.sleep(interval)
        for instance in await run_in_threadpool(instances.all_in_mode, "pull"):
            try:
                await run_in_threadpool(pull.run, instance.org_id, instance.id)
            except IntegrationError as err:
                if err.code == ALREADY_RUNNING:  # another process's scheduler has this round
                    continue
                tid = f"{tracking_prefix}_{uuid.uuid4()}_0"
                log.warning("scheduled pull of %s failed: %s (tracking id %s)", instance.name,
                            err, tid)
                await run_in_threadpool(
                    instances.record_failure, instance.org_id, instance.id,
                    tracking_id=tid, operation="scheduled pull", status=err.status,
                    code=err.code, upstream_code=err.upstream.code,
                    upstream_message=err.upstream.message,
                    correlation_id=err.upstream.correlation_id,
                    client_request_id=err.client_request_id)
            except Exception:  # one instance's failure must not stop the others' sync
                log.exception("scheduled pull of %s failed", instance.name)
