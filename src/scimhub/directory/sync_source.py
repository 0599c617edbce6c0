"""What the pull machinery needs of a sync source, whichever kind it is: an Entra instance
(`instances.Instance`) or an LDAP source (`ldap_sources.LdapSource`). Links, removals and
the deletion brake are keyed by the source's id; its name is shown in audit records and
events."""

from __future__ import annotations

from typing import Any, Protocol


class SyncSource(Protocol):
    """Read-only members, so the frozen dataclasses of both kinds satisfy it."""

    @property
    def id(self) -> str: ...
    @property
    def org_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def deletion_threshold(self) -> dict[str, Any] | None: ...
