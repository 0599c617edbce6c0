"""A user PATCH is written at the version it was computed on, and answered from what it
wrote; when another write moves the user on in between, it is applied again on the user
as that write left it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from scimhub.api.services import Hub
from scimhub.directory.events import Events, EventType
from scimhub.directory.locator import Locator
from scimhub.directory.users import Users

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _setup(hub: Hub) -> tuple[str, Locator, dict[str, Any]]:
    org_id = hub.orgs.create(f"patch {uuid.uuid4().hex[:6]}").id
    loc = Locator("https://hub.test", org_id)
    user = hub.users.create(org_id, {"schemas": [USER], "userName": "ada@example.com"}, loc)
    return org_id, loc, user


def _replace(path: str, value: Any) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "path": path, "value": value}]}


def test_the_answer_is_what_was_stored(hub: Hub) -> None:
    org_id, loc, user = _setup(hub)
    patched = hub.users.patch(org_id, user["id"], _replace("title", "Engineer"), loc)
    stored = hub.users.get(org_id, user["id"], loc)
    assert patched == stored
    assert patched["title"] == "Engineer"
    assert patched["meta"]["version"] == 'W/"2"'
    events = Events(hub.db).page(org_id, after=None, limit=10).events
    assert [e.type for e in events] == [EventType.USER_CREATED, EventType.USER_UPDATED]
    assert events[-1].data["title"] == "Engineer"


def test_a_write_in_between_is_not_lost(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    org_id, loc, user = _setup(hub)
    computed = Users._patched
    calls: list[dict[str, Any]] = []

    def racing(self: Users, *args: Any) -> dict[str, Any] | None:
        if not calls:  # the first computation: another client writes before our write
            calls.append({})
            hub.users.patch(org_id, user["id"], _replace("nickName", "Countess"), loc)
        return computed(self, *args)

    monkeypatch.setattr(Users, "_patched", racing)
    patched = hub.users.patch(org_id, user["id"], _replace("title", "Engineer"), loc)
    assert patched["title"] == "Engineer"
    assert patched["nickName"] == "Countess"
    assert patched["meta"]["version"] == 'W/"3"'
    assert hub.users.get(org_id, user["id"], loc) == patched


def test_a_patch_that_changes_nothing_writes_nothing(hub: Hub) -> None:
    org_id, loc, user = _setup(hub)
    hub.users.patch(org_id, user["id"], _replace("title", "Engineer"), loc)
    again = hub.users.patch(org_id, user["id"], _replace("title", "Engineer"), loc)
    assert again["meta"]["version"] == 'W/"2"'
    assert len(Events(hub.db).page(org_id, after=None, limit=10).events) == 2
