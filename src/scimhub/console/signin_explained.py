"""What the login page says when a sign-in with Microsoft is refused, in plain words with
what to do: the hub's own refusals, and the AADSTS errors Entra sends back most often (the
page keeps Entra's own text beside it, and the request's tracking id)."""

from __future__ import annotations

from dataclasses import dataclass

from ..integrations.entra.admin_signin import SignInFailure, SignInRefused


@dataclass(frozen=True, slots=True)
class Explanation:
    title: str
    message: str
    status: int  # the login page's HTTP status
    entra_code: str | None = None  # "AADSTS50105"
    entra_text: str | None = None  # Entra's description, without its trace and ids


_CONSENT_OR_APP = (
    "An administrator of your Microsoft Entra tenant must grant consent to the scimhub "
    "Console app once (Enterprise applications, or the admin consent link the hub's "
    "operator has) before anyone can sign in with it."
)

# AADSTS code -> (title, what it means and what to do)
AADSTS: dict[str, tuple[str, str]] = {
    "AADSTS50105": (
        "You are not assigned to scimhub in your organization's Microsoft Entra ID.",
        "Your organization lets only the people it assigned to the scimhub Console app sign "
        "in, and your account is not one of them, directly or through a group. Ask your "
        "Entra administrator to assign you (Enterprise applications > scimhub Console > "
        "Users and groups), with the scimhub.Admin or scimhub.ReadOnly role.",
    ),
    "AADSTS50011": (
        "scimhub's sign-in address is not registered with Microsoft.",
        "Microsoft was asked to send you back to an address that is not one of the scimhub "
        "Console app's redirect URIs. The hub's operator registers {callback} on the app (or "
        "sets SCIMHUB_PUBLIC_URL to the address that is registered).",
    ),
    "AADSTS65001": (
        "Your organization has not approved scimhub's sign-in app.",
        _CONSENT_OR_APP,
    ),
    "AADSTS90094": (
        "Your organization has not approved scimhub's sign-in app.",
        _CONSENT_OR_APP,
    ),
    "AADSTS700016": (
        "Microsoft does not know scimhub's sign-in app in your tenant.",
        "The scimhub Console app was not found in your tenant's directory: it was never "
        "consented to, or its enterprise app was deleted. " + _CONSENT_OR_APP,
    ),
    "AADSTS65004": (
        "Consent was declined.",
        "The permissions the scimhub Console app asks for were declined, so it cannot sign "
        "you in. Try again and accept, or ask your Entra administrator.",
    ),
    "AADSTS50020": (
        "That account belongs to another organization.",
        "You signed in with an account of another Entra tenant than the one this "
        "organization signs in with. Sign in with your account of this organization.",
    ),
    "AADSTS50057": (
        "Your Microsoft account is disabled.",
        "Your Entra administrator disabled your account; ask them to enable it.",
    ),
    "AADSTS7000215": (
        "scimhub's sign-in app is misconfigured.",
        "Microsoft refused the hub's client secret for the scimhub Console app. The hub's "
        "operator sets a valid SCIMHUB_ENTRA_SIGNIN_CLIENT_SECRET.",
    ),
    "AADSTS7000222": (
        "scimhub's sign-in app is misconfigured.",
        "The hub's client secret for the scimhub Console app has expired. The hub's "
        "operator creates a new one and sets SCIMHUB_ENTRA_SIGNIN_CLIENT_SECRET.",
    ),
}

_START_AGAIN = "Sign in again from this page."
FAILURES: dict[SignInFailure, tuple[str, str, int]] = {
    SignInFailure.NOT_OFFERED: (
        "Sign-in with Microsoft is not set up for this organization.",
        "Sign in with your email and password, or ask a full administrator of the "
        "organization to set up sign-in with Microsoft (Organization Settings > Sign-in).",
        400,
    ),
    SignInFailure.EXPIRED: (
        "This sign-in has expired or was already used.",
        "A sign-in with Microsoft must be finished within ten minutes, once. " + _START_AGAIN,
        400,
    ),
    SignInFailure.OTHER_BROWSER: (
        "This sign-in was started in another browser.",
        "Finish a sign-in with Microsoft in the browser that started it. " + _START_AGAIN,
        403,
    ),
    SignInFailure.NOT_PROVEN: (
        "Microsoft's answer could not be verified.",
        "The sign-in did not prove who you are (its signed ID token failed a check), so "
        "nobody was signed in. " + _START_AGAIN,
        403,
    ),
    SignInFailure.WRONG_TENANT: (
        "That account belongs to another organization.",
        "Microsoft signed you in to another Entra tenant than the one this organization "
        "signs in with, so nobody was signed in. Sign in with your account of this "
        "organization.",
        403,
    ),
    SignInFailure.NO_ROLE: (
        "You have no role in this organization's console.",
        "Microsoft signed you in, but neither your app roles nor your groups give you a "
        "console role here. Ask your Entra administrator for the scimhub.Admin or "
        "scimhub.ReadOnly role on the scimhub Console app (or membership of a group the "
        "organization maps to a role).",
        403,
    ),
    SignInFailure.TOO_MANY_GROUPS: (
        "Your account is in too many groups for the sign-in to list them.",
        "Microsoft leaves the groups out of the sign-in of someone in more than 200 groups. "
        "Ask your Entra administrator to map console roles from app roles, or to send only "
        "the groups assigned to the app (Token configuration > Groups assigned to the "
        "application).",
        403,
    ),
    SignInFailure.UNAVAILABLE: (
        "Microsoft could not be reached.",
        "The hub could not talk to Microsoft Entra ID. Try again in a moment.",
        503,
    ),
}


def explain(refused: SignInRefused, *, callback: str) -> Explanation:
    """The login page's words for a refusal; Entra's code decides them when it sent one."""
    code = refused.upstream.code or None
    text = (refused.upstream.message or "").split(" Trace ID:")[0] or None
    if refused.failure is SignInFailure.ENTRA_REFUSED:
        title, message = AADSTS.get(
            code or "",
            (
                "Microsoft refused the sign-in.",
                "Microsoft Entra ID did not sign you in; its message is below. Your Entra "
                "administrator can look the code up in the sign-in logs.",
            ),
        )
        return Explanation(title, message.format(callback=callback), 403, code, text)
    title, message, status = FAILURES[refused.failure]
    return Explanation(title, message, status)
