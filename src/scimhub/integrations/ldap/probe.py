"""`scimhub ldap test`: what a round needs, tried in order and reported step by step — the
server reached, TLS, the bind, the base DNs, a sample of users through the mapping (which
mapped attributes match nothing) and of groups. Reads only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .client import LdapClient
from .config import LdapConfig
from .entries import group_attributes, user_attributes
from .errors import BaseNotFound, LdapError, MappingMatchesNothing

SAMPLE = 200  # users read for the mapping check


@dataclass
class ProbeReport:
    ok: bool = True
    steps: list[dict[str, Any]] = field(default_factory=list)
    error: LdapError | None = None
    users_sampled: int = 0
    groups_sampled: int = 0
    unmatched: list[str] = field(default_factory=list)  # mapping sources no user had
    server: dict[str, Any] = field(default_factory=dict)

    def step(self, name: str, ok: bool, detail: str) -> None:
        self.steps.append({"step": name, "ok": ok, "detail": detail})
        self.ok = self.ok and ok

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "steps": self.steps,
            "usersSampled": self.users_sampled,
            "groupsSampled": self.groups_sampled,
            "unmatched": self.unmatched,
            "server": self.server,
            "error": self.error.as_json() if self.error else None,
        }


def probe(cfg: LdapConfig, password: str, connect: Any = LdapClient) -> ProbeReport:
    """Never raises an LdapError: the first failure ends the report, as its `error`."""
    report = ProbeReport()
    security = "ldaps" if cfg.use_ssl else "StartTLS" if cfg.start_tls else "no TLS (loopback)"
    try:
        with connect(cfg, password) as client:
            report.step("connect", True, f"{cfg.host}:{cfg.port}, {security}")
            report.step("bind", True, f"bound as {cfg.bind_dn}")
            dse = client.root_dse()
            report.server = {
                k: dse.first(k)
                for k in (
                    "vendorName",
                    "dnsHostName",
                    "highestCommittedUSN",
                    "defaultNamingContext",
                )
                if dse.first(k)
            }
            for name, base in (("user base", cfg.user_base), ("group base", cfg.group_base)):
                if not client.exists(base):
                    raise BaseNotFound(
                        f"{name} {base} does not exist (or the account cannot see it)"
                    )
                report.step(name, True, base)
            matched: dict[str, int] = {}
            for entries in client.pages(
                cfg.user_base,
                cfg.user_filter,
                user_attributes(cfg),
                page_size=min(SAMPLE, cfg.page_size),
            ):
                for entry in entries:
                    report.users_sampled += 1
                    for m in cfg.mapping:
                        if entry.first(m["source"]):
                            matched[m["source"]] = matched.get(m["source"], 0) + 1
                break  # a sample: the first page
            if not report.users_sampled:
                raise MappingMatchesNothing(
                    f"no entry under {cfg.user_base} matches the user filter {cfg.user_filter}"
                )
            report.unmatched = [m["source"] for m in cfg.mapping if not matched.get(m["source"])]
            user_name = next(m["source"] for m in cfg.mapping if m["target"] == "userName")
            if user_name in report.unmatched:
                raise MappingMatchesNothing(
                    f"none of {report.users_sampled} users has {user_name}, the attribute "
                    "mapped to userName"
                )
            report.step(
                "users",
                True,
                f"{report.users_sampled} sampled"
                + (f"; no value for {', '.join(report.unmatched)}" if report.unmatched else ""),
            )
            for entries in client.pages(
                cfg.group_base,
                cfg.group_filter,
                group_attributes(cfg),
                page_size=min(SAMPLE, cfg.page_size),
            ):
                report.groups_sampled += len(entries)
                break
            report.step("groups", True, f"{report.groups_sampled} sampled")
    except LdapError as error:
        report.error = error
        report.step(error.key, False, error.description)
    return report
