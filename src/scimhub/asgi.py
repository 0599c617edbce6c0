"""The served application, wired from the environment: what `scimhub serve` runs, in one
process or in each of several (`--workers N`, or `uvicorn --factory scimhub.asgi:app_from_env`
under any process manager). Wiring only, like the CLI."""

from __future__ import annotations

from starlette.applications import Starlette

from .api.app import create_app
from .config import Settings


def app_from_env() -> Starlette:
    settings = Settings.from_env()
    background = []
    if settings.pull_interval_seconds:
        from .sync.scheduler import pull_forever

        background.append(lambda hub: pull_forever(
            hub.instances, hub.pull, interval=settings.pull_interval_seconds,
            tracking_prefix=settings.tracking_prefix))
    return create_app(settings, background=background)
