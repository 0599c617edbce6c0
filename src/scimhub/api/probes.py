"""What load balancers, orchestrators and Prometheus ask the hub (docs/operations.md):

- `/healthz`: the process is alive and serving; touches nothing else, so a database outage
  does not get healthy processes restarted;
- `/readyz`: it can do its work: the database answers, its migrations are this code's, and
  (when `scimhub worker` processes run the background work) a worker was heard from
  within SCIMHUB_WORKER_STALLED_SECONDS; 503 naming the failed checks otherwise;
- `/metrics`: the Prometheus text format, for scrapers sending SCIMHUB_METRICS_TOKEN as a
  bearer token (compared in constant time); 404 when no token is configured, as if there
  were no such path.

The database is asked from a thread: an unreachable server may take its connect timeout
to say so, and the event loop serves every organisation meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import metrics
from ..directory.health import Health
from ..scim.errors import Unauthorized
from .auth import bearer_secret, tokens_match
from .responses import JsonResponse
from .scim_endpoint import error_response
from .services import Hub
from .tracking import tracking_id

log = logging.getLogger("scimhub.api")


async def healthz(request: Request) -> Response:
    return JsonResponse({"status": "ok"})


def _readiness(health: Health) -> tuple[list[str], dict[str, Any]]:
    """(failed checks, every check's result)."""
    checks: dict[str, Any] = {}
    try:
        checks["database"] = {"ok": True, "elapsed_ms": round(health.database().elapsed_ms, 2)}
        found = health.migrations()
    except Exception as exc:  # whatever the driver raises: the database is not usable
        # The error's type only: a driver's message may hold the server's address.
        checks["database"] = {"ok": False, "error": type(exc).__name__}
        return ["database"], checks
    checks["migrations"] = {"ok": found.at_head, "current": found.current, "head": found.head}
    try:
        alive = health.workers_alive()
    except Exception as exc:
        checks["workers"] = {"ok": False, "error": type(exc).__name__}
    else:
        if alive is not None:
            checks["workers"] = {"ok": alive > 0, "alive": alive}
    return [name for name, check in checks.items() if not check["ok"]], checks


async def readyz(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    failed, checks = await run_in_threadpool(_readiness, hub.health)
    if failed:
        body = {"status": "unavailable", "failed": failed, "checks": checks}
        return JsonResponse(body, status_code=503)
    return JsonResponse({"status": "ready", "checks": checks})


class QueueCollector:
    """The gauges a scrape reads from the database (so any process answers for all):
    `scimhub_workers_alive` and `scimhub_queue_jobs`, when workers run the background
    work. A database that does not answer leaves them out of that scrape."""

    def __init__(self, health: Health) -> None:
        self.health = health

    def collect(self) -> Iterator[Metric]:
        try:
            alive = self.health.workers_alive()
            depth = self.health.queue() if alive is not None else []
        except Exception:
            log.warning("metrics: could not read the task queue", exc_info=True)
            return
        if alive is None:
            return
        yield GaugeMetricFamily(
            "scimhub_workers_alive",
            "scimhub worker processes whose heartbeat is recent.",
            value=alive,
        )
        jobs = GaugeMetricFamily(
            "scimhub_queue_jobs",
            "Jobs in the task queue, by task and status (todo: waiting, doing: running).",
            labels=("task", "status"),
        )
        for task, status, n in depth:
            jobs.add_metric((task, status), n)
        yield jobs


async def metrics_endpoint(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    expected: str = request.app.state.metrics_token
    if not expected:
        raise HTTPException(404)
    if not tokens_match(expected, bearer_secret(request)):
        refused = Unauthorized(
            "send SCIMHUB_METRICS_TOKEN as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": 'Bearer realm="scimhub metrics"'},
        )
        return error_response(refused, tracking_id(request.scope))
    body = await run_in_threadpool(metrics.exposition, [QueueCollector(hub.health)])
    return Response(body, media_type=metrics.CONTENT_TYPE)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics_endpoint, methods=["GET"]),
]
