"""The served application, wired from the environment: what `scimhub serve` runs, in one
process or in each of several (`--workers N`, or `uvicorn --factory scimhub.asgi:app_from_env`
under any process manager). Wiring only, like the CLI."""

from __future__ import annotations

import logging
from datetime import timedelta

from starlette.applications import Starlette

from . import logs
from .api.services import Hub
from .app import create_app
from .config import Settings
from .sync.work import Retention, SyncWork


def background_work(hub: Hub) -> SyncWork:
    """The hub's background work, for the in-process scheduler and `scimhub worker`."""
    s = hub.settings
    return SyncWork(
        instances=hub.instances,
        pull=hub.pull,
        entra=hub.entra,
        tokens=hub.tokens,
        sessions=hub.sessions,
        requests=hub.requests,
        events=hub.events,
        recycle_bin=hub.recycle_bin,
        brake=hub.brake,
        bursts=hub.bursts,
        ldap=hub.ldap,
        tracking_prefix=s.tracking_prefix,
        retention=Retention(
            request_log=timedelta(days=s.request_log_days),
            token_renewal=timedelta(days=s.token_renew_days),
            events=timedelta(days=s.event_retention_days),
            recycle_bin=timedelta(days=s.recycle_days),
        ),
    )


def app_from_env() -> Starlette:
    settings = Settings.from_env()
    if not logging.getLogger().handlers:  # `scimhub serve` had uvicorn configure it
        logs.configure(settings.log_format)
    logs.lean_records()
    background = []
    if settings.in_process_scheduler:
        from .sync.scheduler import run_forever

        background.append(
            lambda hub: run_forever(
                background_work(hub),
                pull_interval=settings.pull_interval_seconds,
                status_interval=settings.status_interval_seconds,
                deliverer=hub.webhooks.deliverer,
            )
        )
    return create_app(settings, background=background)
