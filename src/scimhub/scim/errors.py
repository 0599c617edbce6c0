"""SCIM errors as values: one class per `scimType` (RFC 7644 §3.12), each carrying its status.

Routes never build a 4xx body by hand; they raise one of these and a single handler renders it.
"""

from __future__ import annotations

from typing import Self

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    status: int = 400
    scim_type: str | None = None

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}

    def prefixed(self, prefix: str) -> Self:
        """The same error, its detail after `prefix` (which operation of a PATCH failed)."""
        # Not copy.copy: an exception copies by calling its class with `args`, and the
        # subclasses' constructors take other arguments.
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.detail = f"{prefix}{self.detail}"
        Exception.__init__(clone, clone.detail)
        return clone

    def body(self, tracking_id: str | None = None) -> dict[str, object]:
        """The Error message (§3.12). The Error schema has no member for a tracking id and
        strict clients refuse unknown members, so the id ends `detail`, as the seed's
        console messages end with it."""
        doc: dict[str, object] = {"schemas": [ERROR_SCHEMA], "status": str(self.status)}
        if self.scim_type:
            doc["scimType"] = self.scim_type
        doc["detail"] = f"{self.detail} TrackingID: {tracking_id}" if tracking_id else self.detail
        return doc


class InvalidFilter(ScimError):
    scim_type = "invalidFilter"


class TooMany(ScimError):
    scim_type = "tooMany"


class Uniqueness(ScimError):
    status = 409
    scim_type = "uniqueness"


class Mutability(ScimError):
    scim_type = "mutability"


class InvalidSyntax(ScimError):
    scim_type = "invalidSyntax"


class InvalidPath(ScimError):
    scim_type = "invalidPath"


class NoTarget(ScimError):
    scim_type = "noTarget"


class InvalidValue(ScimError):
    scim_type = "invalidValue"


class UndefinedAttribute(InvalidValue, InvalidPath):
    """An extension attribute this organisation has not defined, named in a body or path.

    Answered as invalidValue (the first base): the value is what the client cannot send.
    It is an InvalidPath too, so where an unknown path is ignored (`attributes=`) or is a
    filter's error, this is handled the same way. The detail says where to define it: Entra
    escrows the users whose mappings send such an attribute, and the admin who reads the
    provisioning log needs the fix, not just a "no".
    """

    def __init__(self, resource_type: str, name: str) -> None:
        self.resource_type = resource_type
        self.name = name
        # Whose write it was (userName or displayName, else externalId), once known: the
        # provisioning log keeps it, so the troubleshooter counts the users Entra escrows.
        self.subject: str | None = None
        super().__init__(
            f"attribute '{name}' is not defined for this organisation's {resource_type}s: "
            f"an administrator defines it in the console (Organization Settings > "
            f"{resource_type} attributes) or with `scimhub attribute add`"
        )

    def about(self, subject: str | None) -> UndefinedAttribute:
        """The same error, naming the resource whose write it refused."""
        clone = self.prefixed("")
        clone.subject = subject
        return clone


class NotFilterable(InvalidFilter):
    """An attribute an organisation keeps as sent (it keeps undeclared attributes) but has
    not defined: it has no type to compare by and no index, so it is returned, never
    filtered or sorted on."""

    def __init__(self, resource_type: str, name: str) -> None:
        super().__init__(
            f"attribute '{name}' is kept as sent but not defined for this organisation's "
            f"{resource_type}s, so it cannot be filtered or sorted on: an administrator "
            f"defines it in the console (Organization Settings > {resource_type} attributes) "
            f"or with `scimhub attribute add`"
        )


class InvalidVersion(ScimError):
    scim_type = "invalidVers"


class Sensitive(ScimError):
    status = 403
    scim_type = "sensitive"


class Unauthorized(ScimError):
    status = 401


class Forbidden(ScimError):
    status = 403


class NotFound(ScimError):
    status = 404


class Conflict(ScimError):
    status = 409


class PreconditionFailed(ScimError):
    status = 412


class PayloadTooLarge(ScimError):
    status = 413


class UnsupportedMediaType(ScimError):
    status = 415


class TooManyRequests(ScimError):
    status = 429


class NotImplementedFeature(ScimError):
    status = 501
