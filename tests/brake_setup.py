"""Entra instances for the deletion brake's tests: a push instance with its job's SCIM
token, a pull instance, each with a count-only threshold so a handful of removals cross it."""

from __future__ import annotations

import uuid

from scimhub.api.services import Hub
from scimhub.directory.deletion_brake import Threshold
from scimhub.directory.instances import Instance, Mode

JOB_TOKEN_NAME = "Entra provisioning (contoso)"


def _threshold(limit: int | None) -> dict[str, object] | None:
    return Threshold(count=limit, percent=None).as_json() if limit is not None else None


def push_instance(hub: Hub, org_id: str, *, limit: int | None = None) -> tuple[Instance, str]:
    """A push instance and the secret of the SCIM token its job writes with."""
    secret, token = hub.tokens.create(org_id, name=JOB_TOKEN_NAME)
    instance = hub.instances.create(
        org_id,
        str(uuid.uuid4()),
        name="Contoso",
        mode=Mode.PUSH,
        scope="assigned",
        mappings=[],
        auto_sync=True,
        scim_token_id=token.id,
        deletion_threshold=_threshold(limit),
    )
    return instance, secret


def pull_instance(
    hub: Hub, org_id: str, *, limit: int | None = None, name: str = "Fabrikam"
) -> Instance:
    return hub.instances.create(
        org_id,
        str(uuid.uuid4()),
        name=name,
        mode=Mode.PULL,
        scope="all",
        mappings=[],
        auto_sync=False,
        deletion_threshold=_threshold(limit),
    )
