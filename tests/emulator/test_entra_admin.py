"""The demo's browser-less Entra admin against an emulator process: the OpenID Connect
sign-in with consent (MSAL on both ends) and the old admin-consent URL."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import msal
import pytest
import requests

from scimhub.demo.entra_admin import answer_consent
from scimhub.demo.processes import EmulatorProcess, start_emulator

pytestmark = pytest.mark.filterwarnings(
    "ignore:response_mode='form_post' is recommended:UserWarning"
)

REDIRECT = "http://127.0.0.1:9/extIntegration/azureAD/consent/callback"


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    process = start_emulator(tmp_path_factory.mktemp("emu"), users=0, groups=0, cycle_seconds=3600)
    try:
        process.register_redirect_uri(REDIRECT)
        yield process
    finally:
        process.stop()


def _query(location: str) -> dict[str, str]:
    assert location.startswith(REDIRECT + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_sign_in_with_consent_through_msal(emu: EmulatorProcess) -> None:
    assert emu.info["integration_app"]["redirect_uris"] == []  # registered after start
    http = requests.Session()
    http.trust_env = False
    http.verify = emu.ca
    app = msal.ConfidentialClientApplication(
        emu.info["integration_app"]["client_id"],
        client_credential=emu.info["integration_app"]["client_secret"],
        authority=f"{emu.base}/organizations",
        instance_discovery=False,
        http_client=http,
    )
    try:
        flow = app.initiate_auth_code_flow(
            scopes=["https://graph.microsoft.com/.default"], redirect_uri=REDIRECT, prompt="consent"
        )
        result = app.acquire_token_by_auth_code_flow(
            flow, _query(answer_consent(emu, flow["auth_uri"]))
        )
    finally:
        http.close()
    assert result["id_token_claims"]["tid"] == emu.tenant["id"]
    declined = _query(answer_consent(emu, flow["auth_uri"], accept=False))
    assert declined["error"] == "access_denied"


def test_admin_consent_url(emu: EmulatorProcess) -> None:
    def url(redirect_uri: str) -> str:
        return f"{emu.base}/common/adminconsent?" + urlencode(
            {
                "client_id": emu.info["integration_app"]["client_id"],
                "redirect_uri": redirect_uri,
                "state": "s-1",
            }
        )

    assert _query(answer_consent(emu, url(REDIRECT))) == {
        "admin_consent": "True",
        "tenant": emu.tenant["id"],
        "state": "s-1",
    }
    with pytest.raises(RuntimeError, match="AADSTS50011"):
        answer_consent(emu, url("http://127.0.0.1:10/elsewhere"))
