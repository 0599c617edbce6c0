"""The failure modes the troubleshooter knows, as data: how each is detected, the evidence
it shows, the remediation, and the automatic fix when there is one. `docs/troubleshooting.md`
describes the same list for people; `classify` turns evidence into findings of these ids.

`entry` numbers follow the catalogue of issue 6, so a finding can be traced to it."""

from __future__ import annotations

from dataclasses import dataclass

# The automatic fixes (`remedies` runs them), by id: what each does, as the report says it.
FIXES: dict[str, str] = {
    "allow_sync": "Allow Azure AD sync: restore every saved instance",
    "restore": "Recreate the provisioning app or job from the saved configuration",
    "rotate_scim_token": "Rotate the hub's SCIM token, give it to the job, restart the job",
    "restart_job": "Restart the provisioning job (new initial cycle, quarantine lifted)",
}


@dataclass(frozen=True, slots=True)
class Mode:
    id: str
    entry: int
    title: str
    detection: str
    evidence: tuple[str, ...]
    remediation: tuple[str, ...]
    fix: str | None = None  # a FIXES key


_CONSENT_THEN_ALLOW = (
    "Open the admin consent URL for this tenant and accept as an Entra admin: this "
    "recreates the integration app's service principal.",
    "Then Organization Settings > Directory Synchronization > Allow Azure AD sync (or "
    "`scimhub doctor --fix`): the saved configuration (provisioning app, job, mappings, "
    "scope, auto sync) is restored.",
)

MODES: tuple[Mode, ...] = (
    Mode(
        "integration_app_deleted",
        1,
        "The integration app's service principal was deleted in Entra",
        "Token requests for the tenant fail with AADSTS700016 (or 700011): the app is not "
        "in the directory. After re-consent, Graph's directoryAudits holds the 'Remove "
        "service principal' record.",
        (
            "tracking ids of the failed console calls and the upstream AADSTS error",
            "who removed the service principal and when (directoryAudits, once readable)",
            "whether Entra kept pushing SCIM meanwhile (the hub's request log)",
        ),
        _CONSENT_THEN_ALLOW,
        "allow_sync",
    ),
    Mode(
        "provisioning_app_deleted",
        2,
        "The provisioning app (scimhub Identity) was deleted in Entra",
        "Graph finds no service principal with the saved provisioning app id.",
        ("saved provisioning app id", "the 'Remove service principal' audit record"),
        (
            "Recreate the provisioning app and its job from the saved configuration "
            "(`scimhub doctor --fix`, or Allow Azure AD sync).",
        ),
        "restore",
    ),
    Mode(
        "provisioning_job_deleted",
        2,
        "The provisioning job was deleted in Entra",
        "Graph answers 404 for the saved job id while the provisioning app exists.",
        ("saved job id",),
        ("Recreate the job from the saved configuration (`scimhub doctor --fix`).",),
        "restore",
    ),
    Mode(
        "consent_missing",
        3,
        "Admin consent was revoked or never granted",
        "Token requests fail with AADSTS65001 (or 65004, 90094).",
        ("upstream AADSTS error", "tracking ids"),
        ("Open the admin consent URL for this tenant and accept as an Entra admin.",),
    ),
    Mode(
        "client_secret_invalid",
        3,
        "The hub's client secret is wrong",
        "Token requests fail with AADSTS7000215 (or 70002).",
        ("upstream AADSTS error",),
        (
            "Create a new client secret for the integration app in its home tenant and set "
            "SCIMHUB_ENTRA_CLIENT_SECRET to its value (not its id); restart scimhub.",
        ),
    ),
    Mode(
        "client_secret_expired",
        3,
        "The hub's client secret has expired",
        "Token requests fail with AADSTS7000222.",
        ("upstream AADSTS error",),
        (
            "Create a new client secret for the integration app and set "
            "SCIMHUB_ENTRA_CLIENT_SECRET to it; restart scimhub.",
        ),
    ),
    Mode(
        "client_secret_expiring",
        3,
        "The hub's client secret expires soon",
        "SCIMHUB_ENTRA_CLIENT_SECRET_EXPIRES is less than 30 days away; from that day "
        "every token request fails with AADSTS7000222 and nothing syncs.",
        ("the configured expiry date",),
        (
            "Create a new client secret for the integration app in its home tenant, set "
            "SCIMHUB_ENTRA_CLIENT_SECRET and SCIMHUB_ENTRA_CLIENT_SECRET_EXPIRES, restart "
            "scimhub; then delete the old secret.",
        ),
    ),
    Mode(
        "integration_app_disabled",
        3,
        "The integration app is disabled in Entra",
        "Token requests fail with AADSTS7000112.",
        ("upstream AADSTS error",),
        (
            "In Entra: Enterprise applications > the integration app > Properties > "
            "'Enabled for users to sign in?' = Yes.",
        ),
    ),
    Mode(
        "tenant_not_found",
        3,
        "The Entra tenant no longer exists (or is in another cloud)",
        "Token requests or the tenant's OpenID metadata fail with AADSTS90002.",
        ("the saved tenant id", "upstream AADSTS error"),
        (
            "Check the tenant id; if the tenant is gone, disconnect this instance and set the "
            "integration up again for the right tenant.",
        ),
    ),
    Mode(
        "scim_token_rejected",
        4,
        "Entra's provisioning job is quarantined: the hub rejects its SCIM token",
        "The job's status is Quarantine with a 401 from the hub, the hub's request log has "
        "401s for Entra's requests, or the token the job uses is revoked or expired.",
        (
            "quarantine reason, since when, next attempt",
            "the hub's 401 answers to Entra (request log)",
            "the token's state",
        ),
        (
            "Rotate the hub's SCIM token, give the job the new one (PUT secrets) and restart "
            "the job (`scimhub doctor --fix`).",
        ),
        "rotate_scim_token",
    ),
    Mode(
        "job_quarantined",
        4,
        "The provisioning job is in quarantine",
        "The job's status is Quarantine (too many deletes, too many failures, ...).",
        ("quarantine reason, since when, next attempt", "the job's last error"),
        (
            "Fix the cause named in the reason, then restart the job (`scimhub doctor --fix`); "
            "a restart clears the quarantine.",
        ),
        "restart_job",
    ),
    Mode(
        "users_out_of_scope",
        5,
        "Some Entra users are not provisioned (scope)",
        "Users in Entra are missing or inactive in the hub: not assigned to the app, "
        "disabled, or only members of nested groups (Entra does not expand nesting); the "
        "provisioning log marks them skipped.",
        ("the users, grouped by reason", "skipped provisioning log entries"),
        (
            "Assign the users (or a group they are direct members of) to the provisioning app "
            "in Entra, or set the scope to all users.",
            "Disabled users are provisioned inactive on purpose; enable them in Entra.",
        ),
    ),
    Mode(
        "scope_change_pending",
        5,
        "A scope change has not been provisioned yet",
        "Users in scope (direct members of an assigned group, or every user with scope "
        "'all') are missing from the hub and the job has not tried them.",
        ("the users in scope but missing",),
        ("Restart the job so a new initial cycle reads the whole scope (`scimhub doctor --fix`).",),
        "restart_job",
    ),
    Mode(
        "duplicate_user_name",
        6,
        "Two Entra users map to the same userName (409)",
        "The hub answered 409 uniqueness; Entra's provisioning log has Conflict failures.",
        ("the affected Entra users", "the hub's 409 answers with their tracking ids"),
        (
            "Make the source attribute mapped to userName unique in Entra (or change the "
            "mapping); the next cycle retries the escrowed users.",
        ),
    ),
    Mode(
        "invalid_attribute_values",
        6,
        "Entra sends attribute values the hub refuses (400)",
        "The hub answered 400 (invalidValue, invalidSyntax, ...); Entra's provisioning log "
        "has BadResponse failures.",
        ("the affected objects grouped by error", "the hub's answers with tracking ids"),
        ("Correct the values in Entra or the attribute mapping; the next cycle retries.",),
    ),
    Mode(
        "undefined_attribute",
        6,
        "Entra maps an attribute this organisation has not defined (400)",
        "The hub refused Entra's writes with 400 invalidValue because they name an extension "
        "attribute the organisation has not defined; Entra escrows those users and retries "
        "them, and past enough failures quarantines the job.",
        (
            "the attribute, how many users' writes were refused for it, since when",
            "the refused requests with tracking ids",
        ),
        (
            "Define the attribute in Organization Settings > User attributes (or with "
            "`scimhub attribute add`), with the type of the values Entra sends.",
            "Then restart provisioning, or let Entra retry the escrowed users in its next cycle.",
        ),
    ),
    Mode(
        "removal_burst",
        6,
        "Entra's provisioning job removed many users at once",
        "Within the deletion threshold's window, the job deleted or disabled more users than "
        "the threshold allows (a group unassigned or a scope changed by mistake). The hub "
        "cannot refuse the job without a quarantine, so it applied them; deleted users are "
        "in the recycle bin.",
        ("the job's token, how many users, between when", "the requests' tracking ids"),
        (
            "If it was a mistake, fix the assignment or scope in Entra first (or the job "
            "removes them again), then Restore all in the console's banner or Removal bursts "
            "page (or `scimhub deletions restore-burst`).",
            "If it was meant, dismiss the burst.",
        ),
    ),
    Mode(
        "removals_held",
        6,
        "Removals from a pull instance are held by the deletion brake",
        "A pull round found more removals than the instance's deletion threshold allows and "
        "held them all; other changes keep syncing.",
        ("the instance, how many removals are held", "the threshold"),
        (
            "Review them in Organization Settings (Deletions held): approve if they were "
            "meant, discard to keep the users (or `scimhub deletions approve|discard`).",
        ),
    ),
    Mode(
        "graph_throttled",
        7,
        "Microsoft Graph is throttling the hub (429)",
        "Graph calls answered 429 beyond the wait the client accepts.",
        ("the throttled calls with Retry-After",),
        ("Wait for the Retry-After period; avoid bulk console refreshes.",),
    ),
    Mode(
        "entra_unavailable",
        7,
        "Microsoft Entra ID or Graph is unavailable (5xx)",
        "Graph or the token endpoint answered 5xx or did not answer after retries.",
        ("the failed calls",),
        ("Check the Microsoft 365 service health page; retry later.",),
    ),
    Mode(
        "hub_errors",
        7,
        "The hub failed Entra's SCIM requests (5xx/429)",
        "The hub's request log has 5xx or 429 answers to Entra.",
        ("the failed requests with tracking ids",),
        ("Check the hub's logs for these tracking ids and its database; Entra retries.",),
    ),
    Mode(
        "hub_database_unavailable",
        7,
        "The hub's database is unavailable",
        "Opening or querying the hub's database fails.",
        ("the database error",),
        ("Check SCIMHUB_DATABASE_URL and that the database server is running and reachable.",),
    ),
    # -- directory sync from AD / LDAP (issue 17; docs/ldap.md) -------------------------
    Mode(
        "ldap_unreachable",
        17,
        "The LDAP server cannot be reached",
        "Connecting to the LDAP source's host and port failed or timed out (DNS, firewall, "
        "the server down), or the server answered busy/unavailable.",
        ("the URL, host and port", "the socket error", "failed rounds with tracking ids"),
        (
            "Check the URL (ldaps:// is port 636, ldap:// 389), that the hub's machine "
            "resolves the name and may reach the port, and that the directory is running.",
            "Then `scimhub ldap test --org ORG`.",
        ),
    ),
    Mode(
        "ldap_tls_failure",
        17,
        "The TLS connection to the LDAP server failed",
        "The TLS handshake (ldaps://, or StartTLS on ldap://) failed: the server's "
        "certificate is not issued by the configured CA, has expired, or names another "
        "host; or the server does not offer StartTLS.",
        ("the certificate's subject, issuer and expiry", "the TLS error"),
        (
            "Give the source the CA that issued the server's certificate (`--ca-file`, or "
            "caPem), renew an expired certificate on the server, or use the name the "
            "certificate was issued for in the URL.",
        ),
    ),
    Mode(
        "ldap_invalid_credentials",
        17,
        "The LDAP server refuses the bind DN and password",
        "The bind failed with LDAP result 49 (invalidCredentials); Active Directory names "
        "why in a data code: 525 no such user, 52e wrong password, 530/531 not at this "
        "time/workstation, 532 password expired, 533 account disabled, 701 account "
        "expired, 773 must reset password, 775 account locked.",
        ("the bind DN", "AD's data code and what it means"),
        (
            "Fix what the data code names on the service account (reset or unlock it, "
            "enable it, set its password never to expire), then give the hub the password: "
            "`scimhub ldap set --org ORG --password-stdin`.",
        ),
    ),
    Mode(
        "ldap_size_limit",
        17,
        "The LDAP server stops the search at its size limit",
        "A search answered sizeLimitExceeded (result 4): the server returns at most so many "
        "entries (for a paged search too, OpenLDAP's size.prtotal), or it does not support "
        "the paged-results control.",
        ("the search and the server's answer",),
        (
            "Raise the limit for the hub's account on the server (OpenLDAP: `limits dn.exact="
            '"<bind DN>" size=unlimited`; AD: MaxPageSize/MaxResultSetSize in the LDAP '
            "policy), or lower the page size (`--page-size`) below the server's limit.",
        ),
    ),
    Mode(
        "ldap_base_not_found",
        17,
        "A base DN of the LDAP source does not exist",
        "A search answered noSuchObject (result 32) for the user or group base: the DN is "
        "misspelt, the OU was renamed, or the hub's account may not see it.",
        ("the base DN the server did not find",),
        (
            "Correct the base DN (`scimhub ldap set --org ORG --user-base ... --group-base "
            "...`) or let the service account read it.",
        ),
    ),
    Mode(
        "ldap_mapping_matches_nothing",
        17,
        "The LDAP source's attribute mapping matches nothing",
        "No entry under the user base matches the user filter, or no entry has a value "
        "for some mapped attribute (the one mapped to userName: nothing can be synced).",
        ("the filter and base, or the attributes no entry has",),
        (
            "Check the filter and base, and the mapping's attribute names against an entry "
            "(`ldapsearch`); the AD and OpenLDAP presets differ (userPrincipalName vs uid).",
        ),
    ),
    Mode(
        "not_configured",
        0,
        "The Azure AD integration is not configured on this hub",
        "SCIMHUB_ENTRA_CLIENT_ID, _CLIENT_SECRET or _APP_TEMPLATE_ID is empty.",
        (),
        (
            "Set SCIMHUB_ENTRA_CLIENT_ID, SCIMHUB_ENTRA_CLIENT_SECRET and "
            "SCIMHUB_ENTRA_APP_TEMPLATE_ID and restart scimhub.",
        ),
    ),
)

BY_ID: dict[str, Mode] = {m.id: m for m in MODES}

# AADSTS codes of refused token requests → the mode they mean (reference facts §2).
AADSTS_MODES: dict[str, str] = {
    "AADSTS700016": "integration_app_deleted",
    "AADSTS700011": "integration_app_deleted",
    "AADSTS65001": "consent_missing",
    "AADSTS65004": "consent_missing",
    "AADSTS90094": "consent_missing",
    "AADSTS7000215": "client_secret_invalid",
    "AADSTS70002": "client_secret_invalid",
    "AADSTS7000222": "client_secret_expired",
    "AADSTS7000112": "integration_app_disabled",
    "AADSTS90002": "tenant_not_found",
    "AADSTS90055": "graph_throttled",
}


def mode_for_failure(status: int, upstream_code: str | None) -> str | None:
    """The mode an integration failure (or a probe's error) belongs to, if any."""
    if upstream_code and upstream_code in AADSTS_MODES:
        return AADSTS_MODES[upstream_code]
    if status == 429:
        return "graph_throttled"
    if status >= 500:
        return "entra_unavailable"
    if status == 412:
        return "not_configured"
    return None


def mode_for_scim_answer(status: int, scim_type: str | None) -> str | None:
    """The mode a hub answer to a SCIM client belongs to, if any."""
    if status == 401:
        return "scim_token_rejected"
    if status == 409 and scim_type == "uniqueness":
        return "duplicate_user_name"
    if status == 400:
        return "invalid_attribute_values"
    if status == 429 or status >= 500:
        return "hub_errors"
    return None
