"""What admins do with webhook endpoints — through the API, the console and the CLI alike:
add one (its URL checked, its secret made, encrypted and shown once), change it, remove it,
rotate its secret, send a test message, replay events, switch it on and off.

A secret leaves this module twice only: in what `add` and `rotate_secret` return, for the
caller to show once. Listings and every later answer carry the endpoint's public view.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..config import ConfigError, Settings
from ..directory.actor import Actor
from ..directory.audit import Audit
from ..directory.events import Events, EventType
from ..directory.webhooks import Delivery, Endpoint, Webhooks
from ..store.engine import Database
from . import signing
from .deliver import Deliverer, DeliveryOptions
from .secrets import NEEDS_KEY, SecretBox
from .url_safety import Resolver, UnsafeUrl, resolve

ROTATION_GRACE = timedelta(hours=24)  # both secrets sign this long after a rotation
EVENT_TYPES = frozenset(str(t) for t in EventType)


class InvalidWebhook(ValueError):
    """A URL or an event type an endpoint cannot have; the message is for the admin."""


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str, now: datetime) -> datetime:
    """A replay's start: an ISO 8601 time (`2026-12-01T08:00:00Z`; without a zone, UTC;
    a date alone is its midnight) or a span back from now (`90s`, `30m`, `6h`, `3d`)."""
    text = value.strip()
    if len(text) > 1 and text[-1].lower() in _UNITS and text[:-1].isdigit():
        return now - timedelta(seconds=int(text[:-1]) * _UNITS[text[-1].lower()])
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidWebhook(
            f"since must be an ISO 8601 time (2026-12-01T08:00:00Z) or a span such as "
            f"30m, 6h, 3d; got {text[:64]!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Created:
    endpoint: Endpoint
    secret: str  # shown once


def event_types(values: Iterable[str]) -> tuple[str, ...]:
    """The filter, checked: known types, each once, in a stable order; () for all."""
    chosen = sorted({v.strip() for v in values if v.strip()})
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        raise InvalidWebhook(
            f"unknown event type {', '.join(unknown)}; known: {', '.join(sorted(EVENT_TYPES))}"
        )
    return tuple(chosen)


class WebhookService:
    def __init__(
        self,
        webhooks: Webhooks,
        box: SecretBox,
        deliverer: Deliverer,
        *,
        allow_private: bool,
        resolver: Resolver = socket.getaddrinfo,
    ) -> None:
        self.webhooks = webhooks
        self.box = box
        self.deliverer = deliverer
        self.allow_private = allow_private
        self.resolver = resolver

    @classmethod
    def open(cls, settings: Settings, db: Database, audit: Audit, events: Events) -> WebhookService:
        """The service and its deliverer, as the hub's settings make them. Refuses to
        start (ConfigError) when the database holds secrets this process cannot read."""
        box = SecretBox.open(settings)
        webhooks = Webhooks(db, audit)
        options = DeliveryOptions(
            allow_private=settings.webhook_allow_private,
            deliveries_kept=timedelta(days=settings.request_log_days),
        )
        deliverer = Deliverer(db, webhooks, events, box, options)
        service = cls(webhooks, box, deliverer, allow_private=settings.webhook_allow_private)
        service.check_startable()
        return service

    def check_startable(self) -> None:
        """At start: a process that could not read the stored secrets refuses to run."""
        if not self.box.configured and self.webhooks.count():
            raise ConfigError(NEEDS_KEY)

    def check_url(self, url: str) -> str:
        url = url.strip()
        try:
            resolve(url, allow_private=self.allow_private, resolver=self.resolver)
        except UnsafeUrl as refused:
            raise InvalidWebhook(str(refused)) from None
        return url

    def add(self, org_id: str, url: str, types: Iterable[str] = (), *, actor: Actor) -> Created:
        url, chosen = self.check_url(url), event_types(types)
        secret = signing.new_secret()
        endpoint = self.webhooks.add(
            org_id,
            url=url,
            event_types=chosen,
            secret_encrypted=self.box.encrypt(secret),
            actor=actor,
        )
        return Created(endpoint, secret)

    def update(
        self,
        org_id: str,
        endpoint_id: str,
        *,
        actor: Actor,
        url: str | None = None,
        types: Iterable[str] | None = None,
        enabled: bool | None = None,
    ) -> Endpoint:
        checked = self.check_url(url) if url is not None else None
        chosen = event_types(types) if types is not None else None
        endpoint = self.webhooks.update(
            org_id, endpoint_id, actor=actor, url=checked, event_types=chosen
        )
        if enabled is not None:
            endpoint = self.webhooks.set_enabled(org_id, endpoint_id, enabled, actor=actor)
        return endpoint

    def rotate_secret(self, org_id: str, endpoint_id: str, *, actor: Actor) -> Created:
        secret = signing.new_secret()
        endpoint = self.webhooks.rotate(
            org_id,
            endpoint_id,
            secret_encrypted=self.box.encrypt(secret),
            previous_valid_until=self.deliverer.clock() + ROTATION_GRACE,
            actor=actor,
        )
        return Created(endpoint, secret)

    def test(self, org_id: str, endpoint_id: str, *, actor: Actor) -> Delivery:
        return self.deliverer.send_test(self.webhooks.get(org_id, endpoint_id), actor.name)

    def replay(self, org_id: str, endpoint_id: str, since: datetime, *, actor: Actor) -> Endpoint:
        return self.webhooks.replay(org_id, endpoint_id, since, actor=actor)

    def retry_now(self, org_id: str, endpoint_id: str) -> Endpoint:
        return self.webhooks.retry_now(org_id, endpoint_id)

    def set_enabled(
        self, org_id: str, endpoint_id: str, enabled: bool, *, actor: Actor
    ) -> Endpoint:
        return self.webhooks.set_enabled(org_id, endpoint_id, enabled, actor=actor)

    def remove(self, org_id: str, endpoint_id: str, *, actor: Actor) -> None:
        self.webhooks.remove(org_id, endpoint_id, actor=actor)

    def get(self, org_id: str, endpoint_id: str) -> Endpoint:
        return self.webhooks.get(org_id, endpoint_id)

    def endpoints(self, org_id: str) -> list[Endpoint]:
        return self.webhooks.endpoints(org_id)

    def deliveries(
        self, org_id: str, endpoint_id: str, *, limit: int = 50, before: int | None = None
    ) -> list[Delivery]:
        self.webhooks.get(org_id, endpoint_id)  # EndpointNotFound for another org's id
        return self.webhooks.deliveries(org_id, endpoint_id, limit=limit, before=before)
