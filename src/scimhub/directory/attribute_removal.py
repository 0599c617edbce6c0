"""Removing a custom attribute that resources still hold: each holder is cleared through
the directory's normal write (a PATCH remove of the attribute), so it gets a new version and
its `user.updated` (`group.updated`) event with what it held, then the definition goes.
"""

from __future__ import annotations

from ..scim.errors import NotFound
from .actor import Actor
from .custom_attributes import CustomAttributes, Defined
from .events import Source, SourceKind, caused_by
from .groups import Groups
from .locator import Locator
from .users import Users

_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def remove_attribute(
    attributes: CustomAttributes,
    users: Users,
    groups: Groups,
    org_id: str,
    attribute_id: str,
    loc: Locator,
    *,
    purge: bool,
    actor: Actor,
) -> tuple[Defined, int]:
    """Remove a definition; with `purge`, first clear it from every resource holding a
    value (how many is the second result). Raises NotFound, AttributeInUse (without
    `purge`, while values are held)."""
    cleared = 0
    if purge:
        defined = attributes.get(org_id, attribute_id)
        path = defined.definition.path
        body = {"schemas": [_PATCH], "Operations": [{"op": "remove", "path": path}]}
        patch = users.patch if defined.definition.resource_type == "User" else groups.patch
        source = Source(SourceKind.ADMIN, actor.name, tracking_id=actor.tracking_id)
        with caused_by(source):
            for resource_id in attributes.holders(org_id, attribute_id):
                try:
                    patch(org_id, resource_id, body, loc)
                    cleared += 1
                except NotFound:  # deleted meanwhile: its values went with it
                    continue
    return attributes.remove(org_id, attribute_id, actor=actor), cleared
