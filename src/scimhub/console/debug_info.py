"""What a page tells its JavaScript about the signed-in admin, for the "Copy Debug Info"
block of error toasts (the seed's Logged-in User ID, View Org ID...).

Only identifiers go here: these attributes end up pasted into support tickets, so never
the session cookie, the CSRF token or any bearer token (the CSRF token has its own meta
tag, read only by the code that sends requests).
"""

from __future__ import annotations

from .. import __version__
from ..directory.sessions import SessionInfo

CUSTOMER_TYPE = "Enterprise"


def page_attributes(session: SessionInfo) -> dict[str, str]:
    """`data-*` attributes of <body> (names without the `data-` prefix)."""
    return {
        "org-id": session.org_id,  # the org being viewed: an admin sees only their own
        "admin-id": session.admin_id,
        "admin-org-id": session.org_id,
        "build": __version__,
        "customer-type": CUSTOMER_TYPE,
    }
