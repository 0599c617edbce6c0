"""The report in the terminal (Rich): a verdict, what was checked, then each finding with
its evidence, the steps and the fix command. Plain enough to paste into a ticket."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .remedies import FIXES
from .report import Finding, Report

_STYLE = {"error": "red", "warning": "yellow", "info": "blue"}


def render_report(report: Report) -> RenderableType:
    parts: list[RenderableType] = []
    if report.explanation is not None:
        parts.append(_finding(report.explanation, report.org_id, heading="Tracking ID"))
    verdict = ("[green]Healthy: no problems found[/green]" if report.healthy else
               f"[red]{sum(f.severity != 'info' for f in report.findings)} problem(s) "
               "found[/red]")
    parts.append(Text.from_markup(f"[bold]scimhub doctor[/bold] — org {report.org_id} — "
                                  f"{report.generated:%Y-%m-%d %H:%M:%S} UTC — {verdict}"))
    if report.checks:
        table = Table(show_header=False, box=None, padding=(0, 1))
        for check in report.checks:
            table.add_row("[green]✓[/green]" if check.ok else "[red]✗[/red]", check.name,
                          f"[dim]{check.detail}[/dim]")
        parts.append(table)
    for line in report.fixes_applied:
        parts.append(Text(f"Fix {line}", style="green" if line.startswith("applied")
                          else "red"))
    parts += [_finding(f, report.org_id) for f in report.findings]
    return Group(*parts)


def _finding(f: Finding, org_id: str, heading: str | None = None) -> Panel:
    body: list[RenderableType] = [Text(f.explanation)]
    if f.evidence:
        body.append(Text("Evidence", style="bold"))
        body += [Text(f"  • {line}") for line in f.evidence]
    if f.steps:
        body.append(Text("What to do", style="bold"))
        body += [Text(f"  {i}. {step}") for i, step in enumerate(f.steps, 1)]
    for link in f.links:
        body.append(Text(f"  {link.label}: {link.url}", style="cyan"))
    if f.fix:
        body.append(Text.from_markup(f"[bold]Automatic fix:[/bold] {FIXES[f.fix]} — run "
                                     f"[cyan]scimhub doctor --org {org_id} --fix[/cyan]"))
    title = f"{heading + ': ' if heading else ''}[{f.severity}] {f.title}"
    return Panel(Group(*body), title=Text(title), title_align="left",
                 subtitle=f.id, subtitle_align="right", border_style=_STYLE[f.severity])
