"""Evidence → findings, one failure mode of the catalogue at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from scimhub.diagnose.classify import classify
from scimhub.diagnose.evidence import Evidence, InstanceEvidence
from scimhub.diagnose.report import Finding
from scimhub.diagnose.scope import Reason, ScopeEvidence, SourceUser
from scimhub.directory.request_log import RefusedAttribute
from tests.diagnose.evidence_builders import (
    CLIENT_ID,
    LOGIN,
    NOW,
    TENANT,
    evidence,
    failure,
    healthy_instance,
    instance,
    job,
    problem,
    provisioning_entry,
    removed_sp,
    request,
    token,
)

CONFLICT = "SystemForCrossDomainIdentityManagementConflict"
BAD = "SystemForCrossDomainIdentityManagementBadResponse"


def findings(ev: Evidence) -> dict[str, Finding]:
    found, _ = classify(ev)
    return {f.id: f for f in found}


def problems(ev: Evidence) -> set[str]:
    return {i for i, f in findings(ev).items() if f.severity != "info"}


def test_healthy_instance_has_no_findings_and_says_what_was_checked() -> None:
    found, checks = classify(evidence(healthy_instance()))
    assert found == []
    assert [c.name for c in checks if c.ok] == [
        "Hub database",
        "Graph access to contoso.onmicrosoft.com",
        "Provisioning job",
    ]


def test_sp_deleted_now_refused_gives_consent_url_tracking_ids_and_pushes() -> None:
    ev = evidence(
        InstanceEvidence(instance(), probe_error=problem("AADSTS700016")),
        failures=[failure(ago=timedelta(minutes=10))],
        requests_ok=[
            request(200, ago=timedelta(minutes=2)),
            request(201, ago=timedelta(minutes=3)),
            request(200, ago=timedelta(hours=2)),
        ],
    )
    f = findings(ev)["integration_app_deleted"]
    assert f.severity == "error" and f.fix is None  # consent first: no one-click fix yet
    assert f.tracking_ids == ["ATLAS_497d70df-8811-4b6b-9b6a-ef4f438b57f6_136"]
    assert f.links[0].url == f"{LOGIN}/{TENANT}/adminconsent?client_id={CLIENT_ID}"
    assert f.details["pushesMeanwhile"] == 2  # only those after the first refusal
    assert any("AADSTS700016" in line and "crid-1" in line for line in f.evidence)
    assert any("kept running" in line for line in f.evidence)
    assert f.steps[0].endswith(f.links[0].url)


def test_sp_deleted_no_pushes_says_so() -> None:
    ev = evidence(
        InstanceEvidence(instance(), probe_error=problem("AADSTS700016")), failures=[failure()]
    )
    f = findings(ev)["integration_app_deleted"]
    assert f.details["pushesMeanwhile"] == 0
    assert any(line.startswith("No SCIM requests from Entra") for line in f.evidence)


def test_after_consent_audit_record_and_allow_sync_fix() -> None:
    integration = removed_sp("old-integration-sp", "scimhub Identity Integration")
    provisioning = removed_sp("prov-sp", "scimhub Identity - contoso")
    later = removed_sp("other", "Something deleted later", ago=timedelta(minutes=1))
    ev = evidence(
        healthy_instance(removed_sps=[later, provisioning, integration]),
        failures=[failure(ago=timedelta(minutes=10))],
    )
    f = findings(ev)["integration_app_deleted"]
    assert f.severity == "warning" and f.fix == "allow_sync"
    assert f.details["audit"] == [
        {
            "activity": "Remove service principal",
            "time": integration["activityDateTime"],
            "initiatedBy": "admin@contoso.onmicrosoft.com",
            "target": "scimhub Identity Integration",
            "targetId": "old-integration-sp",
            "result": "success",
            "service": "Core Directory",
        }
    ]
    assert any("by admin@contoso.onmicrosoft.com" in line for line in f.evidence)


@pytest.mark.parametrize(
    ("code", "mode"),
    [
        ("AADSTS65001", "consent_missing"),
        ("AADSTS7000215", "client_secret_invalid"),
        ("AADSTS7000222", "client_secret_expired"),
        ("AADSTS7000112", "integration_app_disabled"),
        ("AADSTS90002", "tenant_not_found"),
        ("AADSTS700011", "integration_app_deleted"),
    ],
)
def test_refused_credentials_by_aadsts_code(code: str, mode: str) -> None:
    ev = evidence(InstanceEvidence(instance(), probe_error=problem(code)))
    assert problems(ev) == {mode}
    assert findings(ev)[mode].instance_id == "inst-1"


def test_unreachable_entra_without_code_is_an_outage() -> None:
    ev = evidence(InstanceEvidence(instance(), probe_error=problem(None, 503, "701030")))
    assert problems(ev) == {"entra_unavailable"}


def test_provisioning_app_deleted_with_its_audit_record() -> None:
    record = removed_sp("prov-sp", "scimhub Identity - contoso")
    ev = evidence(
        InstanceEvidence(
            instance(), provisioning_sp_found=False, removed_sps=[removed_sp("x", "other"), record]
        )
    )
    f = findings(ev)["provisioning_app_deleted"]
    assert f.fix == "restore" and f.details["audit"][0]["targetId"] == "prov-sp"


def test_provisioning_job_deleted() -> None:
    ev = evidence(InstanceEvidence(instance(), provisioning_sp_found=True, job_missing=True))
    assert findings(ev)["provisioning_job_deleted"].fix == "restore"


def _quarantined(
    reason: str, error_code: str, message: str = "HTTP 401 from the target"
) -> InstanceEvidence:
    return InstanceEvidence(
        instance(),
        provisioning_sp_found=True,
        scim_token=token(),
        job=job(
            "Quarantine",
            quarantine={
                "reason": reason,
                "currentBegan": "2026-05-21T22:00:00Z",
                "nextAttempt": "2026-05-22T04:00:00Z",
                "seriesCount": 1,
                "error": {"code": error_code, "message": message},
            },
        ),
    )


def test_quarantine_for_401_is_the_token_with_rotate_fix() -> None:
    ev = evidence(
        _quarantined(
            "EncounteredQuarantineException", "SystemForCrossDomainIdentityManagementUnauthorized"
        ),
        requests_failed=[request(401, tracking_id="T401")],
    )
    f = findings(ev)["scim_token_rejected"]
    assert f.fix == "rotate_scim_token" and f.tracking_ids == ["T401"]
    assert f.details["quarantine"]["nextAttempt"] == "2026-05-22T04:00:00Z"
    assert any("answered 401" in line for line in f.evidence)


def test_other_quarantine_offers_restart() -> None:
    ev = evidence(_quarantined("TooManyDeletes", "QuarantineJob", "612 deletions"))
    assert findings(ev)["job_quarantined"].fix == "restart_job"
    assert "scim_token_rejected" not in findings(ev)


def test_revoked_or_expired_token_before_any_quarantine() -> None:
    revoked = healthy_instance()
    revoked.scim_token = token(revoked_at=NOW - timedelta(minutes=1))
    f = findings(evidence(revoked))["scim_token_rejected"]
    assert f.fix == "rotate_scim_token" and "revoked" in f.evidence[0]
    assert "scimhub_abcdefgh" in f.evidence[0]  # the prefix only: never the secret
    expired = healthy_instance()
    expired.scim_token = token(expires_at=NOW - timedelta(days=1))
    assert "expired" in findings(evidence(expired))["scim_token_rejected"].evidence[0]


def test_object_failures_grouped_by_cause_with_the_objects() -> None:
    ie = healthy_instance(
        provisioning_failures=[
            provisioning_entry("ann.b@contoso", CONFLICT),
            provisioning_entry("ann.c@contoso", CONFLICT),
            provisioning_entry("bob@contoso", BAD),
        ]
    )
    ev = evidence(
        ie,
        requests_failed=[
            request(409, scim_type="uniqueness", tracking_id="T409"),
            request(400, scim_type="invalidValue", tracking_id="T400"),
        ],
    )
    found = findings(ev)
    assert found["duplicate_user_name"].details["objects"] == ["ann.b@contoso", "ann.c@contoso"]
    assert found["duplicate_user_name"].tracking_ids == ["T409"]
    assert found["invalid_attribute_values"].details["objects"] == ["bob@contoso"]
    assert found["invalid_attribute_values"].tracking_ids == ["T400"]


def test_request_log_conflicts_count_only_when_entra_logs_are_unreadable() -> None:
    conflicts = [request(409, scim_type="uniqueness")]
    assert "duplicate_user_name" not in findings(
        evidence(healthy_instance(), requests_failed=conflicts)
    )
    assert "duplicate_user_name" in findings(evidence(requests_failed=conflicts))


def _scope(*users: tuple[str, bool, Reason], scope: str = "assigned") -> InstanceEvidence:
    return healthy_instance(
        scope=ScopeEvidence(
            scope,
            checked=20,
            not_provisioned=[
                (SourceUser(upn, upn, enabled), reason) for upn, enabled, reason in users
            ],
        )
    )


def test_scope_users_grouped_by_reason() -> None:
    ev = evidence(
        _scope(
            ("nested@x", True, "nested"),
            ("lone@x", True, "unassigned"),
            ("off@x", False, "disabled"),
        )
    )
    f = findings(ev)["users_out_of_scope"]
    assert f.severity == "warning" and f.fix is None
    assert f.details == {"unassigned": ["lone@x"], "nested": ["nested@x"], "disabled": ["off@x"]}


def test_only_disabled_users_is_information() -> None:
    ev = evidence(_scope(("off@x", False, "disabled")))
    assert findings(ev)["users_out_of_scope"].severity == "info"
    assert problems(ev) == set()


def test_pending_scope_change_offers_restart_unless_the_user_failed() -> None:
    ev = evidence(_scope(("new@x", True, "pending"), ("dup@x", True, "pending")))
    ev.instances[0].provisioning_failures = [provisioning_entry("dup@x", CONFLICT)]
    f = findings(ev)["scope_change_pending"]
    assert f.fix == "restart_job" and f.details["users"] == ["new@x"]


def test_request_log_401s_matter_only_after_the_last_success() -> None:
    stale = evidence(
        healthy_instance(),
        requests_failed=[request(401, ago=timedelta(minutes=10))],
        requests_ok=[request(200, ago=timedelta(minutes=1))],
    )
    assert problems(stale) == set()
    current = evidence(
        healthy_instance(),
        requests_failed=[request(401)],
        requests_ok=[request(200, ago=timedelta(minutes=10))],
    )
    f = findings(current)["scim_token_rejected"]
    assert f.fix == "rotate_scim_token" and f.instance_id == "inst-1"


def test_hub_errors_are_recent_only() -> None:
    assert problems(evidence(requests_failed=[request(503)])) == {"hub_errors"}
    assert problems(evidence(requests_failed=[request(503, ago=timedelta(hours=3))])) == set()


def test_recorded_throttling_warns_until_graph_answers_again() -> None:
    throttled = [failure(None, status=429, code="701029")]
    alone = findings(evidence(failures=throttled))["graph_throttled"]
    assert alone.severity == "warning" and alone.tracking_ids
    assert (
        findings(evidence(healthy_instance(), failures=throttled))["graph_throttled"].severity
        == "info"
    )
    old = [failure(None, status=503, code="701030", ago=timedelta(hours=2))]
    assert findings(evidence(failures=old)) == {}


def test_recorded_refusals_explain_when_no_instance_answers() -> None:
    # e.g. the setup never finished: no instance to probe, only the recorded failure
    assert problems(evidence(failures=[failure("AADSTS7000222")])) == {"client_secret_expired"}
    # once a live probe works, an old refusal is history
    assert problems(evidence(healthy_instance(), failures=[failure("AADSTS7000222")])) == set()


def test_database_unavailable_is_the_only_finding() -> None:
    ev = Evidence("org-1", NOW, database_error="connection refused")
    found, checks = classify(ev)
    assert [f.id for f in found] == ["hub_database_unavailable"]
    assert not checks[0].ok


def test_not_configured() -> None:
    assert problems(evidence(configured=False)) == {"not_configured"}


def test_same_mode_from_two_sources_is_one_finding() -> None:
    revoked = _quarantined(
        "EncounteredQuarantineException", "SystemForCrossDomainIdentityManagementUnauthorized"
    )
    revoked.scim_token = token(revoked_at=NOW - timedelta(minutes=5))
    found, _ = classify(evidence(revoked))
    rejected = [f for f in found if f.id == "scim_token_rejected"]
    assert len(rejected) == 1
    assert any("quarantine" in e for e in rejected[0].evidence)
    assert any("revoked" in e for e in rejected[0].evidence)


@pytest.mark.parametrize(
    ("days", "expected", "check_ok"),
    [
        (90, set(), True),
        (29, {"client_secret_expiring"}, False),
        (-1, {"client_secret_expired"}, False),
    ],
)
def test_client_secret_expiry_is_warned_30_days_ahead(
    days: int, expected: set[str], check_ok: bool
) -> None:
    ev = evidence(healthy_instance(), client_secret_expires=NOW + timedelta(days=days))
    found, checks = classify(ev)
    assert {f.id for f in found} == expected
    secret = next(c for c in checks if c.name == "Client secret")
    assert secret.ok is check_ok
    if days == 29:
        assert found[0].severity == "warning"
        assert found[0].title == "The hub's client secret expires in 29 days"
    # not configured: nothing said about it
    assert "Client secret" not in {c.name for c in classify(evidence(healthy_instance()))[1]}


URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


def _refused(attribute: str, subjects: int) -> RefusedAttribute:
    entry = replace(
        request(400, scim_type="invalidValue", tracking_id=f"T-{attribute[-4:]}"),
        undefined_attribute=attribute,
        subject="ann@contoso",
    )
    return RefusedAttribute(
        attribute,
        "User",
        subjects,
        2 * subjects,
        NOW - timedelta(hours=2),
        NOW - timedelta(minutes=1),
        [entry],
        ["ann@contoso"],
    )


def test_undefined_attributes_one_finding_each_with_entras_escrows() -> None:
    quoted = provisioning_entry("ann@contoso", BAD)
    quoted["provisioningStatusInfo"]["errorInformation"]["additionalDetails"] = (
        f"attribute '{URN}:costCenter' is not defined for this organisation's Users"
    )
    ie = healthy_instance(provisioning_failures=[quoted, provisioning_entry("bob@contoso", BAD)])
    ev = evidence(
        ie,
        refused_attributes=[_refused(f"{URN}:costCenter", 3), _refused(f"{URN}:badge", 1)],
        requests_failed=[request(400, scim_type="invalidValue", tracking_id="T400")],
    )
    found, _ = classify(ev)
    undefined = {f.details["name"]: f for f in found if f.id == "undefined_attribute"}
    assert undefined["costCenter"].title.startswith("Entra maps 3 users' attribute costCenter")
    assert undefined["badge"].title.startswith("Entra maps 1 user's attribute badge")
    assert undefined["costCenter"].instance_id == "inst-1" and undefined["costCenter"].fix is None
    assert any(
        "ann@contoso" in line and "update" in line for line in undefined["costCenter"].evidence
    )
    # Entra's escrow of ann is explained by the attribute; bob's failure stays generic.
    assert findings(ev)["invalid_attribute_values"].details["objects"] == ["bob@contoso"]


def test_an_attribute_defined_since_is_history() -> None:
    ev = evidence(
        refused_attributes=[_refused(f"{URN}:costCenter", 3)],
        defined_attributes=frozenset({f"User:{URN.lower()}:costcenter"}),
    )
    assert "undefined_attribute" not in findings(ev)


def test_refusals_that_named_no_user_are_still_one_finding() -> None:
    found = findings(evidence(refused_attributes=[_refused(f"{URN}:costCenter", 0)]))
    assert found["undefined_attribute"].title == (
        "Entra sends attribute costCenter, which this organisation has not defined"
    )
