"""The emulator's body limits: its forms and its JSON refused while they stream in, with a
413 in place of whatever the handler would have made of a cut-off body."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from starlette.applications import Starlette

from scimhub.emulator import limits
from scimhub.emulator.app import create_app
from scimhub.emulator.context import build
from tests.api.test_body_limits import CHUNK, FORM, MB, form_chunks, json_chunks, upload

TOKEN = "/common/oauth2/v2.0/token"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Starlette:
    emu = build(tmp_path_factory.mktemp("emulator-limits"), "https://emu.test")
    return create_app(emu, provisioning=False)


def test_a_50_mb_token_form_is_refused_after_one_chunk(app: Starlette) -> None:
    r = upload(app, TOKEN, form_chunks(50 * MB), headers=FORM)
    assert r.status == 413, r.body
    assert r.json()["error"] == "invalid_request"
    assert r.pulled <= limits.FORM_MAX_BYTES + CHUNK
    assert r.headers["connection"] == "close"


def test_a_declared_graph_body_over_the_limit_is_refused_before_any_read(app: Starlette) -> None:
    r = upload(
        app,
        "/v1.0/applicationTemplates/t/instantiate",
        json_chunks(10 * MB),
        headers={"content-type": "application/json", "content-length": str(10 * MB)},
    )
    assert r.status == 413 and r.pulled == 0


def test_a_streamed_admin_body_is_a_413_whatever_the_handler_makes_of_it(app: Starlette) -> None:
    r = upload(
        app, "/_emulator/faults", json_chunks(10 * MB), headers={"content-type": "application/json"}
    )
    assert r.status == 413, r.body
    assert r.pulled <= limits.MAX_BODY_BYTES + CHUNK


def test_bodies_within_the_limits_reach_the_handlers(app: Starlette) -> None:
    r = upload(app, TOKEN, iter([b"grant_type=client_credentials"]), headers=FORM)
    assert r.status == 400 and r.json()["error"] == "invalid_request"  # AADSTS, not ours
    assert "connection" not in r.headers


def test_the_limits_import_nothing_of_the_hub() -> None:
    tree = ast.parse(Path(limits.__file__).read_text())
    imported = [
        (node.level, node.module or "")
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    ]
    assert all(level == 0 and not module.startswith("scimhub") for level, module in imported), (
        imported
    )
