"""Where an organisation's resources live on the web: the base of `meta.location`/`$ref`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Locator:
    base_url: str  # e.g. https://hub.example.com (no trailing slash)
    org_id: str

    @property
    def scim_base(self) -> str:
        return f"{self.base_url}/identity/scim/{self.org_id}/v2"

    def location(self, resource_type: str, resource_id: str) -> str:
        endpoint = "Users" if resource_type == "User" else "Groups"
        return f"{self.scim_base}/{endpoint}/{resource_id}"
