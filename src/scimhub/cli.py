"""The `scimhub` command: wiring only. Every subcommand reads the same settings, so they act on
the same data directory or database as `scimhub serve`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from .config import ConfigError, Settings
from .emulator.cli import app as emulator_app

if TYPE_CHECKING:
    from .api.services import Hub

app = typer.Typer(
    help="scimhub: SCIM 2.0 identity hub with Microsoft Entra ID integration.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
org_app = typer.Typer(help="Manage organisations.", no_args_is_help=True)
token_app = typer.Typer(help="Manage SCIM bearer tokens.", no_args_is_help=True)
admin_app = typer.Typer(help="Manage console administrators.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(token_app, name="token")
app.add_typer(admin_app, name="admin")
console = Console()

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (SCIMHUB_DATA_DIR; default ./data)."),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL (SCIMHUB_DATABASE_URL; default SQLite)."),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _settings(
    data_dir: Path | None = None, database_url: str | None = None, **flags: str | int | None
) -> Settings:
    """The settings from the environment, where each flag given stands for its variable
    (`port` for SCIMHUB_PORT): a flag is read and checked exactly as the variable is, here
    and in the processes `serve --workers` starts, which get it as that variable."""
    given = {"data_dir": data_dir, "database_url": database_url, **flags}
    env = dict(os.environ)
    env.update({f"SCIMHUB_{k.upper()}": str(v) for k, v in given.items() if v is not None})
    try:
        return Settings.from_env(env)
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


@contextmanager
def _opened(settings: Settings) -> Iterator[Hub]:
    """The hub's services for one command, closed however the command ends."""
    from .api.services import Hub

    hub = Hub.open(settings)
    try:
        yield hub
    finally:
        hub.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    public_url: Annotated[str | None, typer.Option(help="Base URL clients use.")] = None,
    workers: Annotated[
        int,
        typer.Option(help="API processes (several need PostgreSQL: SQLite has one writer).", min=1),
    ] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the HTTP service: SCIM, the integration API, the console."""
    import uvicorn

    settings = _settings(data_dir, database_url, host=host, port=port, public_url=public_url)
    if workers > 1 and not settings.database_url.startswith("postgresql"):
        console.print("[red]--workers > 1 needs SCIMHUB_DATABASE_URL=postgresql://...[/red]")
        raise typer.Exit(2)
    # Every process reads its settings from the environment (scimhub.asgi), flags included.
    for name, value in (
        ("SCIMHUB_DATA_DIR", str(settings.data_dir)),
        ("SCIMHUB_DATABASE_URL", settings.database_url),
        ("SCIMHUB_PUBLIC_URL", settings.public_url),
        ("SCIMHUB_HOST", settings.host),
        ("SCIMHUB_PORT", str(settings.port)),
    ):
        if value:
            os.environ[name] = value
    from .api.services import Hub

    Hub.open(settings).close()  # migrations once, before the workers start
    console.print(
        f"scimhub listening on http://{settings.host}:{settings.port}"
        + (f" ({workers} processes)" if workers > 1 else "")
    )
    uvicorn.run(
        "scimhub.asgi:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )


@app.command()
def worker(
    database_url: DatabaseUrl = None,
    concurrency: Annotated[
        int | None,
        typer.Option(help="Jobs run at once (SCIMHUB_WORKER_CONCURRENCY; default 4).", min=1),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Run background sync work from the PostgreSQL task queue (procrastinate): scheduled
    pull rounds, status checks, token renewal, clean-up. Run as many as you like."""
    import logging

    from .asgi import background_work
    from .sync import tasks
    from .sync import worker as sync_worker

    settings = _settings(None, database_url, worker_concurrency=concurrency)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"
    )
    try:
        tasks.conninfo(settings.effective_database_url)
        schedule = tasks.Schedule(
            settings.pull_interval_seconds,
            settings.status_interval_seconds,
            settings.worker_stalled_seconds,
        )
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    with _opened(settings) as hub:  # applies migrations, the queue's schema included
        sync_worker.run(
            settings.database_url,
            background_work(hub),
            schedule,
            concurrency=settings.worker_concurrency,
            heartbeat_seconds=settings.worker_heartbeat_seconds,
        )


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Option(help="Organisation name.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an organisation."""
    with _opened(_settings(data_dir, database_url)) as hub:
        try:
            org = hub.orgs.create(name)
        except ValueError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    if as_json:
        print(json.dumps({"id": org.id, "name": org.name}))
    else:
        console.print(f"Created organisation [bold]{org.name}[/bold] with id {org.id}")


@org_app.command("list")
def org_list(
    data_dir: DataDir = None, database_url: DatabaseUrl = None, as_json: JsonFlag = False
) -> None:
    """List organisations."""
    with _opened(_settings(data_dir, database_url)) as hub:
        orgs = hub.orgs.list()
    if as_json:
        print(
            json.dumps(
                [{"id": o.id, "name": o.name, "created": o.created.isoformat()} for o in orgs]
            )
        )
        return
    table = Table("id", "name", "created")
    for o in orgs:
        table.add_row(o.id, o.name, o.created.isoformat())
    console.print(table)


@token_app.command("create")
def token_create(
    org: Annotated[str, typer.Option("--org", help="Organisation id.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "SCIM client",
    admin: Annotated[
        bool, typer.Option("--admin", help="A token for the admin/integration API, not SCIM.")
    ] = False,
    expires_days: Annotated[
        int | None, typer.Option(help="Expire after this many days (default: never).", min=1)
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a bearer token for an organisation (the secret is shown once)."""
    from .directory.errors import OrgNotFound
    from .directory.tokens import TokenKind

    with _opened(_settings(data_dir, database_url)) as hub:
        try:
            secret, info = hub.tokens.create(
                org,
                name=name,
                kind=TokenKind.ADMIN if admin else TokenKind.SCIM,
                expires_in=timedelta(days=expires_days) if expires_days else None,
            )
        except OrgNotFound:
            console.print(f"[red]no organisation with id {org}[/red]")
            raise typer.Exit(1) from None
    if as_json:
        print(
            json.dumps(
                {
                    "token": secret,
                    "id": info.id,
                    "org_id": info.org_id,
                    "kind": info.kind,
                    "expires_at": info.expires_at.isoformat() if info.expires_at else None,
                }
            )
        )
    else:
        console.print(f"Token {info.id} for org {org} (shown once, store it now):\n{secret}")


@token_app.command("list")
def token_list(
    org: Annotated[str, typer.Option("--org", help="Organisation id.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """List an organisation's tokens (never their secrets)."""
    with _opened(_settings(data_dir, database_url)) as hub:
        tokens = hub.tokens.list(org)
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "kind": t.kind,
            "prefix": t.prefix,
            "created": t.created.isoformat(),
            "expires_at": t.expires_at.isoformat() if t.expires_at else None,
            "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
        }
        for t in tokens
    ]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table(*rows[0].keys()) if rows else Table("id")
    for row in rows:
        table.add_row(*(str(v or "") for v in row.values()))
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    org: Annotated[str, typer.Option("--org", help="Organisation id.")],
    token_id: Annotated[str, typer.Argument(help="Token id (from `token list`).")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke a token; SCIM clients using it get 401 from then on."""
    from .directory.errors import OrgNotFound

    with _opened(_settings(data_dir, database_url)) as hub:
        try:
            info = hub.tokens.revoke(org, token_id)
        except OrgNotFound as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None
    if as_json:
        print(
            json.dumps(
                {
                    "id": info.id,
                    "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
                }
            )
        )
    else:
        console.print(f"Revoked token {info.id}")


@admin_app.command("create")
def admin_create(
    org: Annotated[str, typer.Option("--org", help="Organisation id.")],
    email: Annotated[str, typer.Option("--email", help="Sign-in email.")],
    role: Annotated[
        str, typer.Option(help="admin (everything) or readonly (no changes).")
    ] = "admin",
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from standard input (otherwise it is prompted for).",
        ),
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a console administrator (the password never goes on the command line)."""
    import sys

    from .directory.admins import AdminError
    from .directory.errors import OrgNotFound

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _opened(_settings(data_dir, database_url)) as hub:
        try:
            info = hub.admins.create(org, email, password, role, name)
        except OrgNotFound:
            console.print(f"[red]no organisation with id {org}[/red]")
            raise typer.Exit(1) from None
        except AdminError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    if as_json:
        print(
            json.dumps(
                {
                    "id": info.id,
                    "org_id": info.org_id,
                    "email": info.email,
                    "role": info.role,
                    "display_name": info.display_name,
                }
            )
        )
    else:
        console.print(f"Created {info.role} {info.email} ({info.id}) in org {org}")


@admin_app.command("list")
def admin_list(
    org: Annotated[str, typer.Option("--org", help="Organisation id.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """List an organisation's console administrators."""
    with _opened(_settings(data_dir, database_url)) as hub:
        admins = hub.admins.list(org)
    rows = [
        {
            "id": a.id,
            "email": a.email,
            "display_name": a.display_name,
            "role": a.role,
            "last_login": a.last_login.isoformat() if a.last_login else None,
        }
        for a in admins
    ]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("id", "email", "display_name", "role", "last_login")
    for row in rows:
        table.add_row(*(str(v or "") for v in row.values()))
    console.print(table)


@app.command()
def doctor(
    org: Annotated[str, typer.Option("--org", help="Organisation id.")],
    tracking_id: Annotated[
        str | None, typer.Option("--tracking-id", help="Explain the request with this tracking id.")
    ] = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="Apply the automatic fixes, then check again.")
    ] = False,
    hub_url: Annotated[
        str | None,
        typer.Option(
            "--hub-url",
            help="The hub's URL Entra pushes to, for fixes that give the "
            "job a new token (default SCIMHUB_PUBLIC_URL, else http://HOST:PORT).",
        ),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Diagnose the Azure AD integration of an organisation; exit 1 while problems remain."""
    from sqlalchemy.exc import SQLAlchemyError

    from . import diagnose
    from .api.services import Hub
    from .diagnose.evidence import Evidence
    from .diagnose.render import render_report
    from .directory.errors import OrgNotFound

    settings = _settings(data_dir, database_url)
    try:
        hub = Hub.open(settings)
    except SQLAlchemyError as exc:  # the database being down is a diagnosis, not a crash
        report = diagnose.report_from(Evidence.unreachable(org, exc))
    else:
        try:
            if fix:
                report = diagnose.repair(
                    hub,
                    org,
                    actor_name="scimhub doctor --fix",
                    hub_url=hub_url
                    or settings.public_url
                    or f"http://{settings.host}:{settings.port}",
                )
            else:
                report = diagnose.diagnose(hub, org)
            if tracking_id:
                report.explanation = diagnose.explain(hub, org, tracking_id)
        except OrgNotFound:
            console.print(f"[red]no organisation with id {org}[/red]")
            raise typer.Exit(2) from None
        finally:
            hub.close()
    if as_json:
        print(json.dumps(report.as_json()))
    else:
        console.print(render_report(report))
    raise typer.Exit(0 if report.healthy else 1)


@app.command()
def demo(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Keep the demo's data here (default: a temporary directory)."
        ),
    ] = None,
    users: Annotated[int, typer.Option(help="Users in the emulated tenant.", min=1)] = 60,
    groups: Annotated[int, typer.Option(help="Groups in the emulated tenant.", min=1)] = 6,
    port: Annotated[int, typer.Option(help="Hub port (default: a free one).")] = 0,
    cycle_seconds: Annotated[
        float, typer.Option(help="Entra provisioning cycle interval (Entra: 2400).", min=0.5)
    ] = 2.0,
    script: Annotated[
        bool,
        typer.Option("--script", help="Run the story without waiting; exit 0 only if it played."),
    ] = False,
) -> None:
    """Tell the seed story end to end with a local Entra ID emulator, then keep the console
    running."""
    from .demo.story import DemoOptions, run

    raise typer.Exit(
        run(console, DemoOptions(data_dir, users, groups, cycle_seconds, port, script))
    )


@app.command()
def sync(
    org: Annotated[str, typer.Option("--org", help="Organization id.")],
    instance: Annotated[
        str | None, typer.Option(help="Instance id (default: every pull-sync instance of the org).")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Pull users and groups from Entra ID now (Graph delta queries), with progress."""
    from dataclasses import asdict

    from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn

    from .directory.instances import Mode
    from .integrations.entra.errors import IntegrationError

    with _opened(_settings(data_dir, database_url)) as hub:
        try:
            targets = [
                i
                for i in hub.instances.list(org)
                if i.mode == Mode.PULL and (instance is None or i.id == instance)
            ]
            if not targets:
                console.print("[red]no pull-sync instance found for this organization[/red]")
                raise typer.Exit(1)
            results: dict[str, dict[str, object]] = {}
            for target in targets:
                with Progress(
                    SpinnerColumn(),
                    TextColumn("{task.description}"),
                    TextColumn("{task.completed:,} objects"),
                    console=console,
                    disable=as_json,
                ) as bar:
                    tasks = {
                        kind: bar.add_task(f"{target.name}: {kind}", total=None)
                        for kind in ("users", "groups")
                    }

                    def advance(
                        kind: str, n: int, bar: Progress = bar, tasks: dict[str, TaskID] = tasks
                    ) -> None:
                        bar.advance(tasks[kind], n)

                    results[target.id] = asdict(hub.pull.run(org, target.id, advance))
        except IntegrationError as err:
            console.print(f"[red]{err.status} {err.code}: {err.description}[/red]")
            raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(results))
    else:
        for iid, counts in results.items():
            console.print(f"{iid}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


app.add_typer(emulator_app, name="emulator", help="The local Entra ID emulator.")
