"""A browser-less Entra administrator: signs in on the emulator's login page and answers
its consent page, exactly as the HTML forms ask (used by the demo and the tests). Works
for the OpenID Connect sign-in (`/oauth2/v2.0/authorize`) and for `/adminconsent`."""

from __future__ import annotations

import re
from html import unescape

import httpx

from .processes import EmulatorProcess

_MAX_PAGES = 6  # sign-in, consent, and the redirects between them


def _form(html: str) -> tuple[str, dict[str, str]]:
    found = re.search(r'<form[^>]*action="([^"]*)"', html)
    if found is None:
        raise RuntimeError("the page has no form")
    fields = {
        m.group(1): unescape(m.group(2))
        for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)
    }
    return unescape(found.group(1)), fields


def _page_text(html: str) -> str:
    return " ".join(unescape(t) for t in re.findall(r"<(?:h1|p)[^>]*>([^<]*)<", html))


def answer_consent(emu: EmulatorProcess, consent_url: str, *, accept: bool = True) -> str:
    """Sign in as the tenant's admin and Accept (or Cancel) when asked; returns the
    redirect Entra sends the browser to (the hub's callback)."""
    tenant = emu.tenant
    emulator = httpx.URL(emu.base)
    with emu.client() as c:
        response = c.get(consent_url)
        for _ in range(_MAX_PAGES):
            if response.is_redirect:
                location = response.headers["location"]
                target = response.url.join(location)
                if (target.scheme, target.host, target.port) != (
                    emulator.scheme,
                    emulator.host,
                    emulator.port,
                ):
                    return str(location)
                response = c.get(target)
                continue
            if response.status_code != 200 or "<form" not in response.text:
                raise RuntimeError(
                    f"the emulator answered {response.status_code}: {_page_text(response.text)}"
                )
            action, fields = _form(response.text)
            if 'name="password"' in response.text:
                fields.update(username=tenant["admin_login"], password=tenant["admin_password"])
            else:
                fields["decision"] = "accept" if accept else "cancel"
            response = c.post(response.url.join(action), data=fields)
        raise RuntimeError("the sign-in did not come back to the app")
