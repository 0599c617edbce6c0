"""The catalogue is complete and documented, the report serialises for the console, and
the terminal rendering shows what an admin needs (and no secret)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from scimhub.diagnose import FIXES, Report, report_from
from scimhub.diagnose.catalogue import MODES, mode_for_failure, mode_for_scim_answer
from scimhub.diagnose.evidence import InstanceEvidence
from scimhub.diagnose.render import render_report
from scimhub.diagnose.scope import SourceUser, _reason
from tests.diagnose.evidence_builders import (
    evidence,
    failure,
    healthy_instance,
    instance,
    problem,
    token,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"


def test_catalogue_covers_the_seven_entries_and_names_real_fixes() -> None:
    assert {m.entry for m in MODES} >= set(range(1, 8))
    assert len({m.id for m in MODES}) == len(MODES)
    for mode in MODES:
        assert mode.remediation and mode.detection
        assert mode.fix is None or mode.fix in FIXES


def test_docs_describe_every_mode_and_fix() -> None:
    text = DOCS.read_text()
    for mode in MODES:
        assert f"`{mode.id}`" in text, mode.id
    for fix in FIXES:
        assert f"`{fix}`" in text, fix


def test_failure_and_answer_mapping() -> None:
    assert mode_for_failure(401, "AADSTS700016") == "integration_app_deleted"
    assert mode_for_failure(429, None) == "graph_throttled"
    assert mode_for_failure(502, None) == "entra_unavailable"
    assert mode_for_failure(404, None) is None
    assert mode_for_scim_answer(409, "uniqueness") == "duplicate_user_name"
    assert mode_for_scim_answer(401, None) == "scim_token_rejected"
    assert mode_for_scim_answer(404, None) is None


def test_scope_reasons() -> None:
    user = SourceUser("u1", "u1@x", True)
    assert _reason(SourceUser("u1", "u1@x", False), "all", set(), set(), set()) == "disabled"
    assert _reason(user, "all", set(), set(), set()) == "pending"
    assert _reason(user, "assigned", set(), {"u1"}, set()) == "pending"
    assert _reason(user, "assigned", set(), set(), {"u1"}) == "nested"
    assert _reason(user, "assigned", {"u1"}, set(), {"u1"}) == "unassigned"
    assert _reason(user, "assigned", set(), set(), set()) == "unassigned"


def _seed_story_report() -> Report:
    return report_from(
        evidence(
            InstanceEvidence(instance(), probe_error=problem("AADSTS700016"), scim_token=token()),
            failures=[failure()],
        )
    )


def test_report_is_json_for_the_console() -> None:
    doc = json.loads(json.dumps(_seed_story_report().as_json()))
    assert doc["healthy"] is False
    f = doc["findings"][0]
    assert f["id"] == "integration_app_deleted" and f["severity"] == "error"
    assert f["links"][0]["label"] == "Grant admin consent"
    assert {
        "title",
        "explanation",
        "evidence",
        "steps",
        "fix",
        "instance_id",
        "tracking_ids",
        "details",
    } <= set(f)


def test_healthy_report() -> None:
    report = report_from(
        evidence(
            healthy_instance(),
            failures=[failure(None, status=429, code="701029", ago=timedelta(minutes=1))],
        )
    )
    assert report.healthy  # resolved throttling is information only
    assert [f.severity for f in report.findings] == ["info"]


def test_terminal_rendering() -> None:
    console = Console(record=True, width=200)
    report = _seed_story_report()
    report.explanation = report.findings[0]
    console.print(render_report(report))
    out = console.export_text()
    assert "1 problem(s) found" in out
    assert "ATLAS_497d70df-8811-4b6b-9b6a-ef4f438b57f6_136" in out
    assert "adminconsent?client_id=" in out and "Tracking ID:" in out
    assert "integration_app_deleted" in out
