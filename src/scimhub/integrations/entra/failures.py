"""Recording integration failures for the troubleshooter, in one place: whoever runs an
integration call (the API, the background work) wraps it in `recording_failures`, so no
caller can forget to keep what Entra said under the tracking id the admin sees. Every one
is counted too (`scimhub_integration_errors_total`, by code)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ... import metrics
from ...directory.instances import Instances
from .errors import IntegrationError


@contextmanager
def recording_failures(
    instances: Instances,
    org_id: str,
    instance_id: str | None,
    *,
    tracking_id: str,
    operation: str,
    every_failure: bool = False,
) -> Iterator[None]:
    """Record an `IntegrationError` raised inside, then let it go on.

    By default only what Entra or Graph answered is recorded: the hub's own refusals (a bad
    request, a read-only admin) are answered to the admin who made them. Work nobody
    watches (`every_failure`) records every failure, since no one else will see it."""
    try:
        yield
    except IntegrationError as err:
        counted = metrics.current()
        if counted is not None:
            counted.integration_error(err.code, org_id)
        if every_failure or err.from_upstream:
            instances.record_failure(
                org_id,
                instance_id,
                tracking_id=tracking_id,
                operation=operation,
                description=err.description,  # with it, an `integration.error` event
                **err.failure_fields(),
            )
        raise
