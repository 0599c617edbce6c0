"""scimhub: a self-hosted identity hub speaking SCIM 2.0, with Microsoft Entra ID integration."""

__version__ = "0.1.0"
