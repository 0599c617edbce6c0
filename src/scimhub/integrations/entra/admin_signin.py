"""Sign in with Microsoft: an organisation's administrators sign in to the console with
their Entra account, through the console app (`console_signin.py`).

The organisation is chosen before Entra is asked (the login page names it), and so is its
tenant: the one its sign-in settings name. The flow is kept server-side, bound to the
browser that began it (`directory.signin_flows`); on the way back the verified ID token
must be that tenant's, then the org's role mapping turns its `roles` or `groups` claim into
a console role (none: refused), and the account linked to the token's (tid, oid) is made on
the first sign-in or brought up to date. Every refusal is a `SignInRefused` naming why, and
is recorded in the audit trail (the org's when it is known).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ...directory.admins import AdminInfo, Admins, EntraUser
from ...directory.audit import Audit
from ...directory.errors import OrgNotFound
from ...directory.signin_flows import OtherBrowser, PendingSignIn, SignInFlows
from ...directory.signin_settings import EntraSignIn, RolesFrom, SignInSettings
from .connection import EntraConnection
from .errors import Upstream
from .oidc import EntraRefused, EntraUnreachable, OidcFailure, OtherTenant, refusal


class SignInFailure(StrEnum):
    """Why a sign-in with Microsoft was refused; the console explains each."""

    NOT_OFFERED = "not_offered"  # the org (or the hub) has no sign-in with Microsoft
    EXPIRED = "expired"  # the state is unknown, used or past its ten minutes
    OTHER_BROWSER = "other_browser"  # the state came back in another browser
    ENTRA_REFUSED = "entra_refused"  # Entra's error (redirect or token endpoint): AADSTS
    NOT_PROVEN = "not_proven"  # the answer or its ID token fails a check
    WRONG_TENANT = "wrong_tenant"  # an ID token of another tenant than the org's
    NO_ROLE = "no_role"  # neither its app roles nor its groups map to a console role
    TOO_MANY_GROUPS = "too_many_groups"  # the token has no `groups` (overage)
    UNAVAILABLE = "unavailable"  # Entra could not be reached


class SignInRefused(Exception):
    def __init__(
        self,
        failure: SignInFailure,
        detail: str = "",
        *,
        upstream: Upstream | None = None,
        user: str | None = None,
    ) -> None:
        super().__init__(f"{failure}: {detail}" if detail else str(failure))
        self.failure = failure
        self.detail = detail
        self.upstream = upstream or Upstream()
        self.user = user  # who Entra said signed in, when it got that far
        self.org_id: str | None = None  # the org the sign-in was for, once known


@dataclass(frozen=True, slots=True)
class SignedIn:
    admin: AdminInfo
    created: bool  # this was the account's first sign-in
    next_path: str
    tenant_id: str


def _user(claims: dict[str, Any]) -> EntraUser:
    return EntraUser(
        str(claims["tid"]).lower(),
        str(claims["oid"]).lower(),
        str(claims.get("email") or claims.get("preferred_username") or ""),
        str(claims.get("name") or ""),
    )


class AdminSignIn:
    def __init__(
        self,
        connection: EntraConnection,
        *,
        settings: SignInSettings,
        flows: SignInFlows,
        admins: Admins,
        audit: Audit,
    ) -> None:
        self.client = connection.console_signin
        self.settings = settings
        self.flows = flows
        self.admins = admins
        self.audit = audit

    def offered(self, org_id: str) -> EntraSignIn | None:
        """The org's sign-in settings when it offers sign-in with Microsoft (the hub has
        the console app and the org switched it on); None otherwise, an unknown org too."""
        if not self.client.configured:
            return None
        try:
            settings = self.settings.get(org_id)
        except OrgNotFound:
            return None
        return settings if settings.enabled and settings.tenant_id else None

    def begin(
        self,
        org_id: str,
        *,
        browser: str,
        redirect_uri: str,
        next_path: str,
        other_account: bool = False,
    ) -> str:
        """Where to send the browser: Entra's sign-in page for the org's tenant (with
        `other_account`, Entra asks which account even when one is signed in)."""
        settings = self.offered(org_id)
        if settings is None or settings.tenant_id is None:
            raise SignInRefused(SignInFailure.NOT_OFFERED)
        state = secrets.token_urlsafe(32)
        try:
            flow = self.client.begin(
                settings.tenant_id, redirect_uri, state, other_account=other_account
            )
        except OidcFailure as failure:
            raise SignInRefused(SignInFailure.UNAVAILABLE, str(failure)) from None
        self.flows.begin(
            state,
            org_id=org_id,
            browser=browser,
            tenant_id=settings.tenant_id,
            flow=flow,
            next_path=next_path,
        )
        return str(flow["auth_uri"])

    def finish(self, query: dict[str, str], *, browser: str, tracking_id: str | None) -> SignedIn:
        """Handle Entra's redirect: nothing in the query is believed but the code, which is
        redeemed for an ID token checked against the org's tenant."""
        try:
            pending = self.flows.consume(query.get("state", ""), browser)
        except OtherBrowser:
            self._record(None, "signin.failed", SignInFailure.OTHER_BROWSER, tracking_id)
            raise SignInRefused(SignInFailure.OTHER_BROWSER) from None
        if pending is None:
            raise SignInRefused(SignInFailure.EXPIRED)
        try:
            return self._finish(pending, query, tracking_id)
        except SignInRefused as refused:
            refused.org_id = pending.org_id
            self._record(pending.org_id, "signin.failed", refused.failure, tracking_id, refused)
            raise

    def _finish(
        self, pending: PendingSignIn, query: dict[str, str], tracking_id: str | None
    ) -> SignedIn:
        settings = self.offered(pending.org_id)
        if settings is None or settings.tenant_id != pending.tenant_id:
            raise SignInRefused(SignInFailure.NOT_OFFERED, "the sign-in settings changed")
        if query.get("error"):
            raise SignInRefused(SignInFailure.ENTRA_REFUSED, upstream=refusal(dict(query)))
        claims = self._verified(pending, query)
        user = _user(claims)
        if settings.roles_from is RolesFrom.GROUPS and "groups" in (
            claims.get("_claim_names") or {}
        ):
            raise SignInRefused(SignInFailure.TOO_MANY_GROUPS, user=user.email)
        role = settings.role_for(claims.get("roles") or [], claims.get("groups") or [])
        if role is None:
            raise SignInRefused(SignInFailure.NO_ROLE, user=user.email)
        admin, created = self.admins.sign_in_with_entra(
            pending.org_id, user, role, tracking_id=tracking_id
        )
        return SignedIn(admin, created, pending.next_path, pending.tenant_id)

    def _verified(self, pending: PendingSignIn, query: dict[str, str]) -> dict[str, Any]:
        try:
            claims = self.client.finish(pending.tenant_id, pending.flow, query)
        except OtherTenant as failure:
            raise SignInRefused(SignInFailure.WRONG_TENANT, str(failure)) from None
        except EntraRefused as failure:
            raise SignInRefused(SignInFailure.ENTRA_REFUSED, upstream=failure.upstream) from None
        except EntraUnreachable as failure:
            raise SignInRefused(SignInFailure.UNAVAILABLE, str(failure)) from None
        except OidcFailure as failure:
            raise SignInRefused(SignInFailure.NOT_PROVEN, str(failure)) from None
        if not claims.get("oid"):
            raise SignInRefused(SignInFailure.NOT_PROVEN, "the ID token names no user (oid).")
        return claims

    def logout_url(self, org_id: str, post_logout_redirect_uri: str) -> str | None:
        """Entra's sign-out page for the org's tenant, when the org signs in with it."""
        settings = self.offered(org_id)
        if settings is None or settings.tenant_id is None:
            return None
        return self.client.logout_url(settings.tenant_id, post_logout_redirect_uri)

    def _record(
        self,
        org_id: str | None,
        action: str,
        failure: SignInFailure,
        tracking_id: str | None,
        refused: SignInRefused | None = None,
    ) -> None:
        detail: dict[str, Any] = {"method": "entra", "reason": failure.value}
        if refused is not None:
            if refused.upstream.code:
                detail["aadsts"] = refused.upstream.code
            if refused.detail:
                detail["detail"] = refused.detail[:300]
        actor = (refused.user if refused else None) or "entra"
        self.audit.record(org_id, actor[:256], action, detail=detail, tracking_id=tracking_id)
