"""What a console administrator may do. Its own module because both the accounts
(`admins.py`) and an organisation's sign-in settings (`signin_settings.py`, which maps
Entra app roles and groups to it) need it."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a console administrator may do; the value is what `admins.role` stores."""

    ADMIN = "admin"  # everything
    READONLY = "readonly"  # sees everything, changes nothing

    @property
    def read_only(self) -> bool:
        return self is not Role.ADMIN
