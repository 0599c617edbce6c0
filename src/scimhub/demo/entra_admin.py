"""A browser-less Entra administrator: signs in on the emulator's login page and answers
its admin-consent page, exactly as the HTML forms ask (used by the demo and the tests)."""

from __future__ import annotations

import re
from html import unescape

import httpx

from .processes import EmulatorProcess


def _form(html: str) -> tuple[str, dict[str, str]]:
    found = re.search(r'<form[^>]*action="([^"]*)"', html)
    if found is None:
        raise RuntimeError("the page has no form")
    fields = {m.group(1): unescape(m.group(2)) for m in re.finditer(
        r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)}
    return unescape(found.group(1)), fields


def answer_consent(emu: EmulatorProcess, consent_url: str, *, accept: bool = True) -> str:
    """Sign in as the tenant's admin and Accept (or Cancel); returns the redirect Entra
    sends the browser to (the hub's callback)."""
    tenant = emu.tenant
    with emu.client() as c:
        page = c.get(consent_url)
        if 'name="password"' in page.text:
            action, fields = _form(page.text)
            fields.update(username=tenant["admin_login"], password=tenant["admin_password"])
            signed_in = c.post(httpx.URL(consent_url).join(action), data=fields)
            page = c.get(httpx.URL(consent_url).join(signed_in.headers["location"]))
        action, fields = _form(page.text)
        fields["decision"] = "accept" if accept else "cancel"
        answer = c.post(httpx.URL(consent_url).join(action), data=fields)
        if answer.status_code not in (302, 303):
            raise RuntimeError(f"the consent page answered {answer.status_code}")
        return str(answer.headers["location"])
