"""The hub's Prometheus metrics (prometheus-client): what each process counts, and the text
a scrape of `/metrics` answers (names, labels and types: docs/operations.md, "Metrics").

Nothing is counted until a composition root `install`s them (the app and `scimhub worker`,
when SCIMHUB_METRICS_TOKEN is set): before that every recorder is one `None` check.

Several processes share their counts through prometheus-client's multiprocess mode: with
PROMETHEUS_MULTIPROC_DIR set before a process imports prometheus-client (`scimhub serve
--workers N` makes a temporary one; several processes started otherwise are given the same
one), each writes its values to files there, one per pid, and a scrape of any of them sums
them all. Counters and histograms of a process that ended stay in the sums, so totals never
go back; nothing needs removing when one ends (`mark_process_dead` only clears live gauges,
and the only gauges, queue and workers, are read from the database at scrape time). One
process and no directory: the values live in this process's memory.

No label holds a user, a path with ids or anything else a client chooses; the organisation
is a label only when SCIMHUB_METRICS_PER_ORG is on, and then only for requests that proved
it (`org` is None otherwise).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Seconds. A GET by id takes about a millisecond; Bulk and searches up to seconds.
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_ROUNDS = (0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
# From an event's commit to its delivery: milliseconds when the receiver is up, up to the
# retry schedule's day when it is not.
_LAG = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR))


class _Children:
    """A metric's children by label values: `labels()` checks the values and takes a lock
    on every call, a dict lookup does not."""

    __slots__ = ("children", "metric")

    def __init__(self, metric: Counter | Histogram) -> None:
        self.metric = metric
        self.children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self.children.get(values)
        if child is None:
            child = self.children[values] = self.metric.labels(*values)
        return child


class Metrics:
    """The metric families of one process, and a recorder for each thing counted."""

    def __init__(self, *, per_org: bool) -> None:
        self.per_org = per_org
        self.registry = CollectorRegistry(auto_describe=True)
        org = ("org",) if per_org else ()
        r = self.registry
        self.http_requests = Counter(
            "scimhub_http_requests",
            "HTTP requests answered, by route family, method and status.",
            ("family", "method", "status", *org),
            registry=r,
        )
        self.http_seconds = Histogram(
            "scimhub_http_request_duration_seconds",
            "Time from a request's arrival to its response's start, by route family.",
            ("family", "method", *org),
            buckets=_LATENCY,
            registry=r,
        )
        self.scim_operations = Counter(
            "scimhub_scim_operations",
            "SCIM operations, by resource type, operation and status.",
            ("resource", "operation", "status", *org),
            registry=r,
        )
        self.sync_rounds = Counter(
            "scimhub_sync_rounds",
            "Pull-sync rounds, by outcome (ok, failed, busy: another process ran it).",
            ("outcome", *org),
            registry=r,
        )
        self.sync_seconds = Histogram(
            "scimhub_sync_round_duration_seconds",
            "Duration of pull-sync rounds that ran.",
            ("outcome", *org),
            buckets=_ROUNDS,
            registry=r,
        )
        self.tasks = Counter(
            "scimhub_background_tasks",
            "Background task runs, by task and outcome (ok, failed).",
            ("task", "outcome"),
            registry=r,
        )
        self.task_seconds = Histogram(
            "scimhub_background_task_duration_seconds",
            "Duration of background task runs.",
            ("task",),
            buckets=_ROUNDS,
            registry=r,
        )
        self.deliveries = Counter(
            "scimhub_webhook_deliveries",
            "Webhook delivery attempts, by outcome (delivered, failed, gave_up, disabled).",
            ("outcome", *org),
            registry=r,
        )
        self.delivery_lag = Histogram(
            "scimhub_webhook_delivery_lag_seconds",
            "From an event's commit to its delivery to an endpoint.",
            org,
            buckets=_LAG,
            registry=r,
        )
        self.integration_errors = Counter(
            "scimhub_integration_errors",
            "Entra integration errors, by the integration API's error code.",
            ("code", *org),
            registry=r,
        )
        # on the path of every request
        self._requests = _Children(self.http_requests)
        self._seconds = _Children(self.http_seconds)
        self._scim = _Children(self.scim_operations)

    def _org(self, org: str | None) -> tuple[str, ...]:
        return (org or "",) if self.per_org else ()

    def http(self, family: str, method: str, status: int, seconds: float, org: str | None) -> None:
        m = method if method in _METHODS else "other"
        o = self._org(org)
        self._requests(family, m, str(status), *o).inc()
        self._seconds(family, m, *o).observe(seconds)

    def scim(self, resource: str, operation: str, status: int, org: str | None) -> None:
        self._scim(resource, operation, str(status), *self._org(org)).inc()

    def sync_round(self, outcome: str, seconds: float | None, org: str | None) -> None:
        self.sync_rounds.labels(outcome, *self._org(org)).inc()
        if seconds is not None:
            self.sync_seconds.labels(outcome, *self._org(org)).observe(seconds)

    def task(self, task: str, outcome: str, seconds: float) -> None:
        self.tasks.labels(task, outcome).inc()
        self.task_seconds.labels(task).observe(seconds)

    def delivery(self, outcome: str, lag_seconds: float | None, org: str | None) -> None:
        self.deliveries.labels(outcome, *self._org(org)).inc()
        if lag_seconds is not None:
            lag = self.delivery_lag.labels(org or "") if self.per_org else self.delivery_lag
            lag.observe(max(lag_seconds, 0.0))

    def integration_error(self, code: str, org: str | None) -> None:
        self.integration_errors.labels(code, *self._org(org)).inc()


_current: Metrics | None = None


def install(*, per_org: bool) -> Metrics:
    """This process's metrics, made on the first call. A process keeps one set: a later
    call with another `per_org` makes a new set only in memory (the tests' apps); with a
    multiprocess directory the files would mix two label sets, so it is refused."""
    global _current
    if _current is not None and _current.per_org == per_org:
        return _current
    if _current is not None and multiprocess():
        raise RuntimeError("metrics were installed with another SCIMHUB_METRICS_PER_ORG")
    _current = Metrics(per_org=per_org)
    return _current


def current() -> Metrics | None:
    """The installed metrics; None when this process counts nothing."""
    return _current


class _Scrape:
    """What one scrape reports: every process's counts (the multiprocess files) or this
    process's, then the gauges read for the scrape."""

    def __init__(self, counted: Collector, extra: Sequence[Collector]) -> None:
        self.parts = (counted, *extra)

    def collect(self) -> Iterable[Metric]:
        for part in self.parts:
            yield from part.collect()


def exposition(extra: Sequence[Collector] = ()) -> bytes:
    """The text format of a scrape (`extra`: collectors read for it, e.g. from the
    database)."""
    counted: Collector
    if multiprocess():
        counted = CollectorRegistry()
        # registers itself in `counted`; reads every process's files at each collect
        MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
    elif _current is not None:
        counted = _current.registry
    else:
        counted = CollectorRegistry()
    return generate_latest(_Scrape(counted, extra))
