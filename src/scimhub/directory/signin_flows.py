"""Sign-ins with Entra under way, between the redirect to Entra and the way back.

The flow (MSAL's: PKCE verifier, nonce, state) stays on the server under the state's
SHA-256, bound to the browser that began it: the hash of a random cookie set with the
redirect. The state in the callback's query only finds the flow; it proves nothing by
itself: from another browser (a link someone was sent, a code an attacker obtained for
their own account) the flow is refused and stays usable for its own browser. A flow is
used once and lives ten minutes (expired ones are swept here and by `Sessions.prune`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from ..store.engine import Database, as_utc, utcnow
from ..store.tables import signin_flows

FLOW_TTL = timedelta(minutes=10)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    org_id: str
    tenant_id: str  # the tenant the org's sign-in named when it began
    flow: dict[str, Any]
    next_path: str


class OtherBrowser(Exception):
    """The state came back in another browser than the one that began the sign-in."""


class SignInFlows:
    def __init__(self, db: Database) -> None:
        self.db = db

    def begin(
        self,
        state: str,
        *,
        org_id: str,
        browser: str,
        tenant_id: str,
        flow: dict[str, Any],
        next_path: str,
    ) -> None:
        """Remember a sign-in until the browser holding the `browser` cookie comes back."""
        now = utcnow()
        with self.db.write() as conn:
            # Swept where they are written, as sessions are: the table stays small.
            conn.execute(delete(signin_flows).where(signin_flows.c.expires_at < now))
            conn.execute(
                signin_flows.insert().values(
                    state_hash=_hash(state),
                    org_id=org_id,
                    browser_hash=_hash(browser),
                    tenant_id=tenant_id,
                    flow=flow,
                    next_path=next_path[:512],
                    created=now,
                    expires_at=now + FLOW_TTL,
                )
            )

    def consume(self, state: str, browser: str) -> PendingSignIn | None:
        """The sign-in this state belongs to, once (None: unknown, used or expired), or
        OtherBrowser, leaving it to the browser that began it."""
        t = signin_flows
        now = utcnow()
        with self.db.write() as conn:
            row = conn.execute(
                select(t).where(t.c.state_hash == _hash(state)).with_for_update()
            ).first()
            if row is None or row.used_at is not None or as_utc(row.expires_at) < now:
                return None
            if not browser or row.browser_hash != _hash(browser):
                raise OtherBrowser
            spent = conn.execute(
                update(t)
                .where(t.c.state_hash == row.state_hash, t.c.used_at.is_(None))
                .values(used_at=now)
            )
            if not spent.rowcount:  # another request spent it first
                return None
        return PendingSignIn(row.org_id, row.tenant_id, dict(row.flow), row.next_path)
