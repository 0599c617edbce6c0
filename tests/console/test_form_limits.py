"""Console forms: bytes limited while they stream in, fields counted while they parse, on
every form route, whoever reads the form first (the CSRF check or the handler)."""

from __future__ import annotations

from urllib.parse import urlencode

from scimhub.api.body_limit import FORM_MAX_BYTES, FORM_MAX_FIELDS
from scimhub.api.services import Hub
from tests.api.test_body_limits import CHUNK, FORM, MB, form_chunks, upload
from tests.console.conftest import Admins, Console


def _session(console: Console) -> dict[str, str]:
    return {"cookie": f"scimhub_session={console.http.cookies['scimhub_session']}"}


def test_a_50_mb_form_to_a_signed_in_route_is_refused_by_the_csrf_check(signed_in: Console) -> None:
    r = upload(
        signed_in.http.app,
        "/console/settings/admins",
        form_chunks(50 * MB),
        headers={**FORM, **_session(signed_in)},
    )
    assert r.status == 413, r.body
    assert r.pulled <= FORM_MAX_BYTES + CHUNK


def test_a_50_mb_form_behind_a_csrf_header_is_refused_by_the_handler(signed_in: Console) -> None:
    """With the token in the header the handler is the first to read the form."""
    r = upload(
        signed_in.http.app,
        "/console/troubleshooting/fix",
        form_chunks(50 * MB),
        headers={**FORM, **_session(signed_in), "x-csrf-token": signed_in.csrf()},
    )
    assert r.status == 413, r.body
    assert r.pulled <= FORM_MAX_BYTES + CHUNK


def test_a_signed_out_post_is_answered_without_reading_its_body(console: Console) -> None:
    r = upload(
        console.http.app,
        "/console/settings/admins",
        form_chunks(50 * MB),
        headers={**FORM, "content-length": str(50 * MB)},
    )
    assert r.status == 401 and r.pulled == 0


def _too_many_fields(csrf_token: str) -> dict[str, str]:
    fields = {f"extra{i}": "x" for i in range(FORM_MAX_FIELDS)}
    return {"csrf_token": csrf_token, "email": "new@example.com", **fields}


def test_too_many_fields_are_refused(signed_in: Console, admins: Admins, hub: Hub) -> None:
    r = signed_in.http.post(
        "/console/settings/admins",
        content=urlencode(_too_many_fields(signed_in.csrf())),
        headers=FORM,
    )
    assert r.status_code == 400 and "Too many fields" in r.text
    assert "new@example.com" not in [a.email for a in hub.admins.list(admins.org.org_id)]


def test_too_many_fields_on_the_sign_in_form_are_refused(console: Console) -> None:
    r = console.http.post("/console/login", content=urlencode(_too_many_fields("t")), headers=FORM)
    assert r.status_code == 400 and "Too many fields" in r.text


def test_a_file_part_is_refused(signed_in: Console) -> None:
    r = signed_in.http.post(
        "/console/settings/admins",
        data={"csrf_token": signed_in.csrf()},
        files={"upload": ("a.txt", b"hello")},
    )
    assert r.status_code == 400 and "Too many files" in r.text
