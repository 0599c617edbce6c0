"""The report in the terminal (Rich): a verdict, what was checked, then each finding with
its evidence, the steps and the fix command. Plain enough to paste into a ticket."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .catalogue import FIXES
from .report import Finding, Report

_STYLE = {"error": "red", "warning": "yellow", "info": "blue"}


def render_report(report: Report) -> RenderableType:
    parts: list[RenderableType] = []
    if report.explanation is not None:
        parts.append(_finding(report.explanation, report.org_id, heading="Tracking ID"))
    verdict = (
        "[green]Healthy: no problems found[/green]"
        if report.healthy
        else f"[red]{sum(f.severity != 'info' for f in report.findings)} problem(s) found[/red]"
    )
    parts.append(
        Text.from_markup(
            f"[bold]scimhub doctor[/bold] — org {report.org_id} — "
            f"{report.generated:%Y-%m-%d %H:%M:%S} UTC — {verdict}"
        )
    )
    if report.checks:
        table = Table(show_header=False, box=None, padding=(0, 1))
        for check in report.checks:
            table.add_row(
                "[green]✓[/green]" if check.ok else "[red]✗[/red]",
                check.name,
                f"[dim]{check.detail}[/dim]",
            )
        parts.append(table)
    for line in report.fixes_applied:
        parts.append(Text(f"Fix {line}", style="green" if line.startswith("applied") else "red"))
    parts += [_finding(f, report.org_id) for f in report.findings]
    return Group(*parts)


def _finding(f: Finding, org_id: str, heading: str | None = None) -> Panel:
    body: list[RenderableType] = [Text(f.explanation)]
    if f.evidence:
        body += [Text("Evidence", style="bold"), _items(["•"] * len(f.evidence), f.evidence)]
    if f.steps:
        body += [
            Text("What to do", style="bold"),
            _items([f"{i}." for i in range(1, len(f.steps) + 1)], f.steps),
        ]
    for link in f.links:
        if not any(link.url in step for step in f.steps):
            body.append(Text(f"  {link.label}: {link.url}", style="cyan"))
    if f.fix:
        body.append(
            Text.from_markup(
                f"[bold]Automatic fix:[/bold] {FIXES[f.fix]} — run "
                f"[cyan]scimhub doctor --org {org_id} --fix[/cyan]"
            )
        )
    title = f"{heading + ': ' if heading else ''}[{f.severity}] {f.title}"
    return Panel(
        Group(*body),
        title=Text(title),
        title_align="left",
        subtitle=f.id,
        subtitle_align="right",
        border_style=_STYLE[f.severity],
    )


def _items(marks: list[str], lines: list[str]) -> Table:
    """A list with hanging indents: wrapped lines stay under their text, not the mark."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", width=4)
    grid.add_column(overflow="fold")
    for mark, line in zip(marks, lines, strict=True):
        grid.add_row(mark, line)
    return grid
