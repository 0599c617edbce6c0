"""The emulator's sign-in and consent pages, followed as a browser would with httpx."""

from __future__ import annotations

import re
from html import unescape

import httpx

from scimhub.emulator.constants import DEFAULT_ADMIN_PASSWORD


def hidden(html: str) -> dict[str, str]:
    return {
        k: unescape(v)
        for k, v in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html)
    }


def action(html: str) -> str:
    found = re.search(r'<form method="post" action="([^"]*)"', html)
    assert found, html
    return unescape(found.group(1))


def is_login(page: httpx.Response) -> bool:
    return page.status_code == 200 and 'name="password"' in page.text


def is_consent(page: httpx.Response) -> bool:
    return page.status_code == 200 and "Permissions requested" in page.text


def sign_in(
    c: httpx.Client, page: httpx.Response, login: str, password: str = DEFAULT_ADMIN_PASSWORD
) -> httpx.Response:
    """Submit the login form on `page`; the page the redirect after it lands on."""
    assert is_login(page), page.text
    r = c.post(
        action(page.text), data={**hidden(page.text), "username": login, "password": password}
    )
    assert r.status_code == 303, r.text
    return c.get(r.headers["location"])


def decide(c: httpx.Client, page: httpx.Response, decision: str = "accept") -> httpx.Response:
    assert is_consent(page), page.text
    return c.post(action(page.text), data={**hidden(page.text), "decision": decision})


def run(c: httpx.Client, url: str, login: str, decision: str = "accept") -> httpx.Response:
    """GET `url`, sign in and answer the consent page when they come: the last response
    (a redirect back to the app, or an error page)."""
    page = c.get(url)
    if is_login(page):
        page = sign_in(c, page, login)
    if is_consent(page):
        page = decide(c, page, decision)
    return page
