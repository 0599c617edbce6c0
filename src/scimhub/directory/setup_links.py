"""Setup links: a single-use URL that lets a customer's IT admin, who has no hub account,
run one organisation's Azure AD setup and see its status, and nothing else.

The operator creates a link (`POST /api/v1/orgs/{id}/setup-links`); its secret is shown
once and only its SHA-256 is kept (as tokens are: 256 random bits need no slow hash). The
link is valid for `LINK_LIFETIME`. Its first use exchanges it, in one conditional update,
for a restricted session (`SESSION_LIFETIME`): a cookie whose SHA-256 is kept on the link's
row with the session's own CSRF token. The link can never be exchanged again, and revoking
it ends that session too. Every use and every refused use is audited in the
organisation's trail.

A restricted session is not a console session (`sessions.py`): nothing that looks up console
sessions can find it, so every console page refuses it without knowing it exists, and only
the routes that ask for it (`api.auth`, the setup wizard's) accept it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select, update

from ..store.engine import Database, as_utc, utcnow
from ..store.tables import setup_links
from .actor import Actor
from .audit import Audit
from .orgs import Orgs

LINK_LIFETIME = timedelta(days=7)
SESSION_LIFETIME = timedelta(hours=4)
MAX_NOTE_LENGTH = 256


class LinkState(StrEnum):
    ACTIVE = "active"  # not used yet, not expired, not revoked
    USED = "used"  # exchanged for its session (which may still be live)
    EXPIRED = "expired"  # never used, and past its 7 days
    REVOKED = "revoked"  # by the operator; its session ended with it


@dataclass(frozen=True, slots=True)
class SetupLink:
    id: str
    org_id: str
    note: str
    created: datetime
    created_by: str
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    session_expires_at: datetime | None

    def state(self, now: datetime) -> LinkState:
        if self.revoked_at is not None:
            return LinkState.REVOKED
        if self.used_at is not None:
            return LinkState.USED
        return LinkState.EXPIRED if self.expires_at <= now else LinkState.ACTIVE

    def as_json(self, now: datetime) -> dict[str, Any]:
        """What the operator API lists: never the secret, nor the session's."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat().replace("+00:00", "Z") if value else None

        return {
            "id": self.id,
            "orgId": self.org_id,
            "note": self.note,
            "state": self.state(now),
            "created": iso(self.created),
            "createdBy": self.created_by,
            "expiresAt": iso(self.expires_at),
            "usedAt": iso(self.used_at),
            "sessionExpiresAt": iso(self.session_expires_at),
            "revokedAt": iso(self.revoked_at),
            "revokedBy": self.revoked_by,
        }


@dataclass(frozen=True, slots=True)
class SetupSession:
    """The restricted session a link was exchanged for: one organisation, the setup
    wizard and the instance status only."""

    link_id: str
    org_id: str
    csrf_token: str
    expires_at: datetime
    id_hash: str  # the cookie's SHA-256, which the consent round trip is bound to

    @property
    def name(self) -> str:
        """Who the audit trail says acted."""
        return f"setup-link:{self.link_id}"


@dataclass(frozen=True, slots=True)
class Visit:
    """Someone with the link in hand (a person has no name here): where from, and the
    request's tracking id, for the audit trail."""

    client: str | None
    tracking_id: str | None

    def actor(self, link: SetupLink) -> Actor:
        return Actor(f"setup-link:{link.id}", self.tracking_id)

    @property
    def detail(self) -> dict[str, Any]:
        return {"client": self.client}


class LinkNotFound(LookupError):
    """No such link in this organisation."""


class LinkRefused(Exception):
    """The link cannot be used: `state` says why (None: no link has this secret)."""

    def __init__(self, state: LinkState | None) -> None:
        super().__init__(f"setup link {state or 'unknown'}")
        self.state = state


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _link(r: Any) -> SetupLink:
    def when(value: datetime | None) -> datetime | None:
        return as_utc(value) if value else None

    return SetupLink(
        r.id,
        r.org_id,
        r.note,
        as_utc(r.created),
        r.created_by,
        as_utc(r.expires_at),
        when(r.used_at),
        when(r.revoked_at),
        r.revoked_by,
        when(r.session_expires_at),
    )


class SetupLinks:
    def __init__(self, db: Database, audit: Audit) -> None:
        self.db = db
        self.audit = audit

    def create(self, org_id: str, *, note: str = "", actor: Actor) -> tuple[str, SetupLink]:
        """A new link (raises OrgNotFound): its secret, shown once, and its info."""
        Orgs(self.db).get(org_id)
        note = note.strip()
        if len(note) > MAX_NOTE_LENGTH:
            raise ValueError(f"note has at most {MAX_NOTE_LENGTH} characters")
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        by = actor.name[:256]
        link = SetupLink(
            str(uuid.uuid4()), org_id, note, now, by, now + LINK_LIFETIME, None, None, None, None
        )
        with self.db.write() as conn:
            conn.execute(
                setup_links.insert().values(
                    id=link.id,
                    org_id=org_id,
                    secret_hash=_hash(secret),
                    note=note,
                    created=now,
                    created_by=by,
                    expires_at=link.expires_at,
                )
            )
            self._audit(conn, link, actor, "setup_link.created", {})
        return secret, link

    def list(self, org_id: str) -> list[SetupLink]:
        """Newest first."""
        t = setup_links
        with self.db.read() as conn:
            rows = conn.execute(
                select(t).where(t.c.org_id == org_id).order_by(t.c.created.desc(), t.c.id)
            ).all()
        return [_link(r) for r in rows]

    def revoke(self, org_id: str, link_id: str, *, actor: Actor) -> SetupLink:
        """Revoke a link, and so end the session it was exchanged for; again: no change."""
        t = setup_links
        with self.db.write() as conn:
            row = conn.execute(select(t).where(t.c.id == link_id, t.c.org_id == org_id)).first()
            if row is None:
                raise LinkNotFound(link_id)
            if row.revoked_at is None:
                conn.execute(
                    update(t)
                    .where(t.c.id == link_id)
                    .values(revoked_at=utcnow(), revoked_by=actor.name[:256])
                )
                self._audit(conn, _link(row), actor, "setup_link.revoked", {})
            revoked = _link(conn.execute(select(t).where(t.c.id == link_id)).one())
        return revoked

    def inspect(self, secret: str, *, visit: Visit) -> SetupLink:
        """The link behind a secret while it can still be used (the landing page, which
        does not use it: mail scanners open links). Raises LinkRefused, audited."""
        with self.db.read() as conn:
            row = conn.execute(
                select(setup_links).where(setup_links.c.secret_hash == _hash(secret))
            ).first()
        if row is None:
            raise LinkRefused(None)
        link = _link(row)
        state = link.state(utcnow())
        if state is not LinkState.ACTIVE:
            self._refused(link, state, visit)
            raise LinkRefused(state)
        return link

    def redeem(self, secret: str, *, visit: Visit) -> tuple[str, SetupSession]:
        """Use the link: exchange it for a restricted session, once. Returns the session
        cookie (shown once) and the session. Raises LinkRefused; each outcome audited."""
        t = setup_links
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = utcnow()
        digest = _hash(secret)
        with self.db.write() as conn:
            # One conditional update: of two uses racing, the second finds it used.
            spent = conn.execute(
                update(t)
                .where(
                    t.c.secret_hash == digest,
                    t.c.used_at.is_(None),
                    t.c.revoked_at.is_(None),
                    t.c.expires_at > now,
                )
                .values(
                    used_at=now,
                    session_hash=_hash(cookie),
                    csrf_token=csrf,
                    session_expires_at=now + SESSION_LIFETIME,
                )
            ).rowcount
            row = conn.execute(select(t).where(t.c.secret_hash == digest)).first()
            if row is None:
                raise LinkRefused(None)
            link = _link(row)
            if spent == 1:
                self._audit(conn, link, visit.actor(link), "setup_link.used", visit.detail)
        if spent != 1:
            state = link.state(now)
            self._refused(link, state, visit)
            raise LinkRefused(state)
        session = SetupSession(link.id, link.org_id, csrf, now + SESSION_LIFETIME, _hash(cookie))
        return cookie, session

    def session(self, cookie: str) -> SetupSession | None:
        """The live restricted session behind a cookie: not expired, its link not revoked
        (and its organisation not deleted, which takes the link with it)."""
        if not cookie:
            return None
        t = setup_links
        digest = _hash(cookie)
        with self.db.read_one() as conn:
            row = conn.execute(select(t).where(t.c.session_hash == digest)).first()
        if row is None or row.revoked_at is not None or row.session_expires_at is None:
            return None
        expires = as_utc(row.session_expires_at)
        if expires <= utcnow():
            return None
        return SetupSession(row.id, row.org_id, row.csrf_token, expires, digest)

    def end(self, cookie: str, *, visit: Visit) -> None:
        """End a restricted session before it expires (the wizard's Finish button)."""
        t = setup_links
        with self.db.write() as conn:
            row = conn.execute(select(t).where(t.c.session_hash == _hash(cookie))).first()
            if row is None or row.session_expires_at is None:
                return
            now = utcnow()
            if as_utc(row.session_expires_at) > now:
                conn.execute(update(t).where(t.c.id == row.id).values(session_expires_at=now))
                link = _link(row)
                self._audit(conn, link, visit.actor(link), "setup_link.session_ended", {})

    def _refused(self, link: SetupLink, state: LinkState, visit: Visit) -> None:
        with self.db.write() as conn:
            detail = {**visit.detail, "reason": state}
            self._audit(conn, link, visit.actor(link), "setup_link.refused", detail)

    def _audit(
        self, conn: Connection, link: SetupLink, actor: Actor, action: str, detail: dict[str, Any]
    ) -> None:
        self.audit.record(
            link.org_id,
            actor.name,
            action,
            target=link.id,
            detail={**detail, **({"note": link.note} if link.note else {})},
            tracking_id=actor.tracking_id,
            conn=conn,
        )
