"""The `scimhub` command: wiring only. Every subcommand reads the same settings, so they act on
the same data directory or database as `scimhub serve`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Column, Table

from .config import ConfigError, Settings
from .emulator.cli import app as emulator_app

if TYPE_CHECKING:
    from .api.services import Hub
    from .directory.sync_source import SyncSource
    from .directory.tokens import TokenInfo

app = typer.Typer(
    help="scimhub: SCIM 2.0 identity hub with Microsoft Entra ID integration.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
org_app = typer.Typer(help="Manage organisations.", no_args_is_help=True)
token_app = typer.Typer(
    help="Manage bearer tokens: SCIM, admin API, operator.", no_args_is_help=True
)
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

    try:
        hub = Hub.open(settings)
    except ConfigError as exc:  # e.g. stored webhook secrets and no key to read them
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        yield hub
    finally:
        hub.close()


LogFormat = Annotated[
    str | None,
    typer.Option(help="Log lines as json (the default) or text (SCIMHUB_LOG_FORMAT)."),
]


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
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
    log_format: LogFormat = None,
) -> None:
    """Run the HTTP service: SCIM, the integration API, the console."""
    settings = _settings(
        data_dir, database_url, host=host, port=port, public_url=public_url, log_format=log_format
    )
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
        ("SCIMHUB_LOG_FORMAT", settings.log_format),
    ):
        if value:
            os.environ[name] = value
    with _metrics_dir(settings, workers):
        _serve(settings, workers, log_level)


@contextmanager
def _metrics_dir(settings: Settings, workers: int) -> Iterator[None]:
    """Several API processes with metrics and no PROMETHEUS_MULTIPROC_DIR: a temporary one
    for them to share, made before any of them imports prometheus-client (they inherit the
    environment) and removed when they have stopped, so a restart counts from zero."""
    if workers == 1 or not settings.metrics_token or settings.metrics_dir:
        yield
        return
    import shutil
    import tempfile

    from .metrics import MULTIPROC_DIR

    path = tempfile.mkdtemp(prefix="scimhub-metrics-")
    os.environ[MULTIPROC_DIR] = path
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_DIR, None)
        shutil.rmtree(path, ignore_errors=True)


def _serve(settings: Settings, workers: int, log_level: str) -> None:
    import uvicorn

    from . import logs
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
        # every process's log lines in the hub's format; the access log is the hub's own
        log_config=logs.dict_config(settings.log_format, log_level),
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
    log_format: LogFormat = None,
) -> None:
    """Run background sync work from the PostgreSQL task queue (procrastinate): scheduled
    pull rounds, status checks, token renewal, clean-up. Run as many as you like."""
    from . import logs, metrics
    from .asgi import background_work
    from .sync import tasks
    from .sync import worker as sync_worker

    settings = _settings(None, database_url, worker_concurrency=concurrency, log_format=log_format)
    logs.configure(settings.log_format, log_level)
    if settings.metrics_token and settings.metrics_dir:  # read by the API processes' /metrics
        metrics.install(per_org=settings.metrics_per_org)
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
            deliverer=hub.webhooks.deliverer,
        )


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Option(help="Organisation name.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an organisation (audited in the hub's own trail)."""
    from .directory.actor import Actor

    with _opened(_settings(data_dir, database_url)) as hub:
        try:
            org = hub.orgs.create(name, actor=Actor("cli"))
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


def _token_json(info: TokenInfo) -> dict[str, str | None]:
    return {
        "id": info.id,
        "org_id": info.org_id,
        "name": info.name,
        "kind": info.kind,
        "scope": info.scope,
        "prefix": info.prefix,
        "created": info.created.isoformat(),
        "expires_at": info.expires_at.isoformat() if info.expires_at else None,
        "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
    }


TokenOwner = Annotated[str | None, typer.Option("--org", help="Organisation id (or --operator).")]
OperatorFlag = Annotated[
    bool,
    typer.Option(
        "--operator",
        help="The platform operator's tokens (/api/v1/orgs: create, delete, export "
        "organisations and their credentials), which belong to no organisation.",
    ),
]


def _org_or_operator(org: str | None, operator: bool) -> str | None:
    """The organisation a token command acts on; None: the operator's tokens."""
    if operator == (org is not None):
        console.print("[red]give either --org ORG_ID or --operator[/red]")
        raise typer.Exit(2)
    return org


@org_app.command("export")
def org_export(
    org: Annotated[str, typer.Option("--org", help="Organisation id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    base_url: Annotated[
        str, typer.Option(help="The hub's URL for the documents' meta.location.")
    ] = "http://127.0.0.1:8000",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write all of an organisation's data as one JSON document (as GET
    /api/v1/orgs/{id}/export answers it; audited)."""
    from .directory.actor import Actor
    from .directory.errors import OrgNotFound
    from .directory.locator import Locator

    with _opened(_settings(data_dir, database_url)) as hub:
        try:
            hub.orgs.get(org)
        except OrgNotFound:
            console.print(f"[red]no organisation with id {org}[/red]")
            raise typer.Exit(1) from None
        hub.requests.flush()
        for trail in (None, org):
            hub.audit.record(trail, Actor("cli").name, "org.exported", target=org)
        settings_url = hub.settings.public_url or base_url.rstrip("/")
        with output.open("wb") as out:
            for piece in hub.export.pieces(org, Locator(settings_url, org)):
                out.write(piece)
    console.print(f"Wrote organisation {org} to {output}")


@org_app.command("delete")
def org_delete(
    org: Annotated[str, typer.Option("--org", help="Organisation id.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: everything of it is removed, for good.")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Delete an organisation and all of its data (users, groups, logs, events, saved
    instances, tokens, admins); audited in the hub's own trail. Export it first."""
    from .directory.actor import Actor
    from .directory.errors import OrgNotFound

    if not yes:
        console.print("[red]this removes everything of the organisation: add --yes[/red]")
        raise typer.Exit(2)
    with _opened(_settings(data_dir, database_url)) as hub:
        hub.requests.flush()
        try:
            removed = hub.removal.remove(org, actor=Actor("cli"))
        except OrgNotFound:
            console.print(f"[red]no organisation with id {org}[/red]")
            raise typer.Exit(1) from None
    if as_json:
        print(json.dumps({"id": org, "removed": removed}))
    else:
        console.print(
            f"Deleted organisation {org}: " + ", ".join(f"{n} {t}" for t, n in removed.items())
        )


@token_app.command("create")
def token_create(
    org: TokenOwner = None,
    operator: OperatorFlag = False,
    name: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="A token for the admin/integration API, not SCIM.")
    ] = False,
    expires_days: Annotated[
        int | None, typer.Option(help="Expire after this many days (default: never).", min=1)
    ] = None,
    scope: Annotated[
        Literal["write", "read"],
        typer.Option(
            help="write: read and change; read: GET and searches only, any change is 403 "
            "(apps that read the directory and follow its events)."
        ),
    ] = "write",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a bearer token for an organisation, or the operator's (the secret is shown
    once; only its hash is stored)."""
    from .directory.actor import Actor
    from .directory.errors import OrgNotFound
    from .directory.tokens import TokenKind, TokenScope

    org_id = _org_or_operator(org, operator)
    if operator and admin:
        console.print("[red]--admin is for an organisation's tokens[/red]")
        raise typer.Exit(2)
    expires_in = timedelta(days=expires_days) if expires_days else None
    with _opened(_settings(data_dir, database_url)) as hub:
        try:
            if org_id is None:
                secret, info = hub.tokens.create_operator(
                    name=name or "operator",
                    expires_in=expires_in,
                    scope=TokenScope(scope),
                    actor=Actor("cli"),
                )
            else:
                secret, info = hub.tokens.create(
                    org_id,
                    name=name or "SCIM client",
                    kind=TokenKind.ADMIN if admin else TokenKind.SCIM,
                    expires_in=expires_in,
                    scope=TokenScope(scope),
                    actor=Actor("cli"),
                )
        except OrgNotFound:
            console.print(f"[red]no organisation with id {org}[/red]")
            raise typer.Exit(1) from None
    if as_json:
        print(json.dumps({"token": secret, **_token_json(info)}))
    else:
        owner = f"org {org_id}" if org_id else "the operator"
        console.print(
            f"Token {info.id} ({info.kind}, scope {info.scope}) for {owner} "
            f"(shown once, store it now):\n{secret}"
        )


@token_app.command("list")
def token_list(
    org: TokenOwner = None,
    operator: OperatorFlag = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """List an organisation's tokens, or the operator's (never their secrets)."""
    org_id = _org_or_operator(org, operator)
    with _opened(_settings(data_dir, database_url)) as hub:
        tokens = hub.tokens.list(org_id) if org_id else hub.tokens.list_operator()
    rows = [{k: v for k, v in _token_json(t).items() if k != "org_id"} for t in tokens]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table(*rows[0].keys()) if rows else Table("id")
    for row in rows:
        table.add_row(*(str(v or "") for v in row.values()))
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="Token id (from `token list`).")],
    org: TokenOwner = None,
    operator: OperatorFlag = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke a token; clients using it get 401 from then on."""
    from .directory.actor import Actor
    from .directory.errors import OrgNotFound

    org_id = _org_or_operator(org, operator)
    with _opened(_settings(data_dir, database_url)) as hub:
        try:
            if org_id is None:
                info = hub.tokens.revoke_operator(token_id, actor=Actor("cli"))
            else:
                info = hub.tokens.revoke(org_id, token_id, actor=Actor("cli"))
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
            "signs_in_with": "entra" if a.signs_in_with_entra else "password",
            "last_login": a.last_login.isoformat() if a.last_login else None,
        }
        for a in admins
    ]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("id", "email", "display_name", "role", "signs_in_with", "last_login")
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
            ldap = hub.ldap.get(org)  # an LDAP source syncs like a pull instance
            ldap = ldap if ldap and ldap.enabled and instance in (None, ldap.id) else None
            if not targets and ldap is None:
                console.print("[red]no pull-sync instance found for this organization[/red]")
                raise typer.Exit(1)
            results: dict[str, dict[str, object]] = {}
            if ldap is not None:
                results[ldap.id] = _ldap_round(hub, org, as_json)
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


# -- webhooks ---------------------------------------------------------------------------

webhook_app = typer.Typer(
    help="Manage webhook endpoints: the organisation's events posted to apps.",
    no_args_is_help=True,
)
app.add_typer(webhook_app, name="webhook")
OrgOption = Annotated[str, typer.Option("--org", help="Organisation id.")]
EndpointArg = Annotated[str, typer.Argument(help="Endpoint id (from `webhook list`).")]
_CLI_ACTOR = "scimhub webhook (command line)"


@contextmanager
def _webhook_errors() -> Iterator[None]:
    """The webhook service's refusals as messages and exit codes (1: not found, 2: bad
    input or configuration)."""
    from .delivery.endpoints import InvalidWebhook
    from .directory.errors import OrgNotFound
    from .directory.webhooks import EndpointNotFound

    try:
        yield
    except (OrgNotFound, EndpointNotFound) as exc:
        what = "organisation" if isinstance(exc, OrgNotFound) else "webhook endpoint"
        console.print(f"[red]no {what} with id {exc}[/red]")
        raise typer.Exit(1) from None
    except (InvalidWebhook, ConfigError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def _endpoint_table(rows: list[dict[str, object]]) -> Table:
    table = Table("id", "url", "event types", "status", "failing since", "disabled reason")
    for r in rows:
        types = r["eventTypes"]
        table.add_row(
            str(r["id"]),
            str(r["url"]),
            ", ".join(map(str, types)) if isinstance(types, list) and types else "all",
            str(r["status"]),
            str(r["failingSince"] or ""),
            str(r["disabledReason"] or ""),
        )
    return table


@webhook_app.command("add")
def webhook_add(
    org: OrgOption,
    url: Annotated[str, typer.Option("--url", help="The receiver: an https:// URL.")],
    event_types: Annotated[
        str,
        typer.Option("--event-types", help="Comma-separated event types (default: all)."),
    ] = "",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Add an endpoint; its signing secret is shown once. It receives the events from
    now on (`webhook replay` sends older ones)."""
    from .directory.actor import Actor

    with _opened(_settings(data_dir, database_url)) as hub, _webhook_errors():
        created = hub.webhooks.add(org, url, event_types.split(","), actor=Actor(_CLI_ACTOR))
    ep = created.endpoint
    if as_json:
        print(
            json.dumps(
                {
                    "id": ep.id,
                    "secret": created.secret,
                    "url": ep.url,
                    "eventTypes": list(ep.event_types),
                }
            )
        )
    else:
        console.print(
            f"Webhook endpoint {ep.id} for {ep.url}\nsigning secret (shown once, store it "
            f"now): {created.secret}"
        )


@webhook_app.command("list")
def webhook_list(
    org: OrgOption,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """List an organisation's endpoints and their state (never their secrets)."""
    with _opened(_settings(data_dir, database_url)) as hub:
        rows = [e.as_json() for e in hub.webhooks.endpoints(org)]
    if as_json:
        print(json.dumps(rows))
    else:
        console.print(_endpoint_table(rows))


@webhook_app.command("remove")
def webhook_remove(
    org: OrgOption,
    endpoint_id: EndpointArg,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Remove an endpoint and its delivery record."""
    from .directory.actor import Actor

    with _opened(_settings(data_dir, database_url)) as hub, _webhook_errors():
        hub.webhooks.remove(org, endpoint_id, actor=Actor(_CLI_ACTOR))
    if as_json:
        print(json.dumps({"id": endpoint_id, "removed": True}))
    else:
        console.print(f"Removed webhook endpoint {endpoint_id}")


@webhook_app.command("rotate-secret")
def webhook_rotate_secret(
    org: OrgOption,
    endpoint_id: EndpointArg,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Give an endpoint a new secret (shown once); the old one keeps signing beside it
    for 24 hours, so the receiver can switch without losing a message."""
    from .directory.actor import Actor

    with _opened(_settings(data_dir, database_url)) as hub, _webhook_errors():
        rotated = hub.webhooks.rotate_secret(org, endpoint_id, actor=Actor(_CLI_ACTOR))
    until = rotated.endpoint.as_json()["previousSecretValidUntil"]
    if as_json:
        print(
            json.dumps(
                {"id": endpoint_id, "secret": rotated.secret, "previousSecretValidUntil": until}
            )
        )
    else:
        console.print(
            f"New signing secret (shown once): {rotated.secret}\n"
            f"The previous secret signs too until {until}."
        )


@webhook_app.command("test")
def webhook_test(
    org: OrgOption,
    endpoint_id: EndpointArg,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Send a signed `webhook.test` message now; exit 1 unless the receiver answers 2xx."""
    from .directory.actor import Actor

    with _opened(_settings(data_dir, database_url)) as hub, _webhook_errors():
        sent = hub.webhooks.test(org, endpoint_id, actor=Actor(_CLI_ACTOR))
    ok = sent.status_code is not None and 200 <= sent.status_code < 300
    if as_json:
        print(json.dumps(sent.as_json()))
    elif ok:
        console.print(f"The receiver answered {sent.status_code} in {sent.latency_ms} ms")
    else:
        console.print(f"[red]test message failed: {sent.error}[/red]")
    raise typer.Exit(0 if ok else 1)


@webhook_app.command("replay")
def webhook_replay(
    org: OrgOption,
    endpoint_id: EndpointArg,
    since: Annotated[
        str,
        typer.Option(
            "--since", help="ISO time (2026-12-01T08:00:00Z) or a span back (30m, 6h, 3d)."
        ),
    ],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Deliver again, in order, every event since TIME (given-up ones included; receivers
    recognise repeats by `webhook-id`). Also resumes an endpoint waiting to retry."""
    from .delivery.endpoints import parse_since
    from .directory.actor import Actor
    from .store.engine import event_time

    with _opened(_settings(data_dir, database_url)) as hub, _webhook_errors():
        start = parse_since(since, event_time())
        ep = hub.webhooks.replay(org, endpoint_id, start, actor=Actor(_CLI_ACTOR))
    if as_json:
        print(json.dumps(ep.as_json()))
    else:
        console.print(
            f"Replaying from {start.isoformat()} (cursor {ep.cursor})"
            + ("" if ep.enabled else "; the endpoint is disabled: `webhook enable` it")
        )


def _switch(org: str, endpoint_id: str, enabled: bool, settings: Settings, as_json: bool) -> None:
    from .directory.actor import Actor

    with _opened(settings) as hub, _webhook_errors():
        ep = hub.webhooks.set_enabled(org, endpoint_id, enabled, actor=Actor(_CLI_ACTOR))
    if as_json:
        print(json.dumps(ep.as_json()))
    else:
        console.print(f"Webhook endpoint {ep.id} {'enabled' if ep.enabled else 'disabled'}")


@webhook_app.command("enable")
def webhook_enable(
    org: OrgOption,
    endpoint_id: EndpointArg,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Switch an endpoint on again; delivery resumes where it stopped, at once."""
    _switch(org, endpoint_id, True, _settings(data_dir, database_url), as_json)


@webhook_app.command("disable")
def webhook_disable(
    org: OrgOption,
    endpoint_id: EndpointArg,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Switch an endpoint off; its events wait (as long as events are kept)."""
    _switch(org, endpoint_id, False, _settings(data_dir, database_url), as_json)


@webhook_app.command("deliveries")
def webhook_deliveries(
    org: OrgOption,
    endpoint_id: EndpointArg,
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1, max=500)] = 20,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """An endpoint's latest delivery attempts: status code, latency, outcome."""
    with _opened(_settings(data_dir, database_url)) as hub, _webhook_errors():
        rows = [d.as_json() for d in hub.webhooks.deliveries(org, endpoint_id, limit=limit)]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("time", "event", "attempt", "status", "latency ms", "outcome", "error")
    for r in rows:
        table.add_row(
            *(str(r[k] or "") for k in ("time", "eventId", "attempt", "statusCode")),
            str(r["latencyMs"] if r["latencyMs"] is not None else ""),
            str(r["outcome"]),
            str(r["error"] or ""),
        )
    console.print(table)


app.add_typer(emulator_app, name="emulator", help="The local Entra ID emulator.")


# -- the recycle bin ----------------------------------------------------------------------

user_app = typer.Typer(help="Deleted users: list the recycle bin, restore.", no_args_is_help=True)
group_app = typer.Typer(help="Deleted groups: list the recycle bin, restore.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(group_app, name="group")
_BIN_ACTOR = "scimhub (command line)"


def _deleted(kind: Literal["User", "Group"], org: str, settings: Settings, as_json: bool) -> None:
    with _opened(settings) as hub:
        found, total = hub.recycle_bin.entries(org, kind, limit=500)
    rows = [d.as_json() for d in found]
    if as_json:
        print(json.dumps(rows))
        return
    # The id whole, never folded: it is what `restore` takes.
    table = Table(Column("id", no_wrap=True), "name", "external id", "deleted at", "deleted by")
    for r in rows:
        by = r["deletedBy"]
        table.add_row(r["id"], r["name"], r["externalId"] or "", r["deletedAt"], by.get("name", ""))
    console.print(table)
    if total > len(rows):
        console.print(f"... and {total - len(rows)} more")


def _restore(
    kind: Literal["User", "Group"], org: str, resource_id: str, settings: Settings, as_json: bool
) -> None:
    """Restore, printing the resource (--json) or a line; a refusal is exit 1 with why."""
    from .directory.actor import Actor
    from .directory.locator import Locator
    from .scim.errors import ScimError
    from .tracking_ids import new_tracking_id

    actor = Actor(_BIN_ACTOR, new_tracking_id(settings.tracking_prefix))
    loc = Locator(settings.public_url, org)
    with _opened(settings) as hub:
        bin_ = hub.recycle_bin
        run = bin_.restore_user if kind == "User" else bin_.restore_group
        try:
            restored = run(org, resource_id, loc, actor=actor)
        except ScimError as exc:  # not in the bin (404), its name taken meanwhile (409)
            console.print(f"[red]{exc.detail}[/red]")
            raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(restored.resource))
        return
    doc = restored.resource
    name = doc.get("userName") or doc.get("displayName")
    skipped = restored.memberships_skipped
    console.print(
        f"Restored {kind.lower()} {doc['id']} ({name}) with {restored.memberships_restored} "
        f"membership(s)" + (f"; {skipped} skipped (gone meanwhile)" if skipped else "")
    )


ResourceArg = Annotated[str, typer.Argument(help="The deleted resource's id (from `deleted`).")]


@user_app.command("deleted")
def user_deleted(
    org: OrgOption,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """List the organisation's deleted users, most recent first (kept SCIMHUB_RECYCLE_DAYS)."""
    _deleted("User", org, _settings(data_dir, database_url), as_json)


@user_app.command("restore")
def user_restore(
    org: OrgOption,
    user_id: ResourceArg,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Restore a deleted user: same id and attributes, back in the groups that still exist."""
    _restore("User", org, user_id, _settings(data_dir, database_url), as_json)


@group_app.command("deleted")
def group_deleted(
    org: OrgOption,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """List the organisation's deleted groups, most recent first (kept SCIMHUB_RECYCLE_DAYS)."""
    _deleted("Group", org, _settings(data_dir, database_url), as_json)


@group_app.command("restore")
def group_restore(
    org: OrgOption,
    group_id: ResourceArg,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Restore a deleted group: same id and attributes, its members and parent groups that
    still exist."""
    _restore("Group", org, group_id, _settings(data_dir, database_url), as_json)


# -- custom attributes --------------------------------------------------------------------

attribute_app = typer.Typer(
    help="An organisation's own attributes (SCIM schema extensions).", no_args_is_help=True
)
app.add_typer(attribute_app, name="attribute")
ResourceOption = Annotated[
    str, typer.Option("--resource", help="User or Group.", case_sensitive=False)
]
_ATTRIBUTE_ACTOR = "scimhub attribute (command line)"


@contextmanager
def _attribute_refusals() -> Iterator[None]:
    """Refusals as a message: 1 when it exists, is held or is not found; 2 for a bad
    definition."""
    from .scim.errors import InvalidValue, ScimError

    try:
        yield
    except InvalidValue as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(2) from None
    except ScimError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from None


def _resource(value: str) -> str:
    if value.lower() not in ("user", "group"):
        console.print("[red]--resource must be User or Group[/red]")
        raise typer.Exit(2)
    return value.capitalize()


@attribute_app.command("add")
def attribute_add(
    org: OrgOption,
    schema: Annotated[str, typer.Option("--schema", help="The extension's URN.")],
    name: Annotated[str, typer.Option("--name", help="The attribute's name.")],
    resource: ResourceOption = "User",
    type_: Annotated[
        str,
        typer.Option("--type", help="string, boolean, integer, decimal, dateTime or reference."),
    ] = "string",
    multi_valued: Annotated[bool, typer.Option("--multi-valued")] = False,
    case_exact: Annotated[bool, typer.Option("--case-exact")] = False,
    unique: Annotated[bool, typer.Option("--unique", help="Uniqueness server.")] = False,
    description: Annotated[str, typer.Option("--description")] = "",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Define an attribute: SCIM clients may send it at once, filter and sort by it."""
    from .directory.actor import Actor
    from .scim.custom import definition_from_json
    from .tracking_ids import new_tracking_id

    settings = _settings(data_dir, database_url)
    actor = Actor(_ATTRIBUTE_ACTOR, new_tracking_id(settings.tracking_prefix))
    body = {
        "resource": _resource(resource),
        "schema": schema,
        "name": name,
        "type": type_,
        "multiValued": multi_valued,
        "caseExact": case_exact,
        "uniqueness": "server" if unique else "none",
        "description": description,
    }
    with _opened(settings) as hub, _attribute_refusals():
        defined = hub.attributes.add(org, definition_from_json(body), actor=actor)
    if as_json:
        print(json.dumps(defined.as_json()))
    else:
        console.print(f"Defined {defined.definition.path} ({defined.id})")


@attribute_app.command("list")
def attribute_list(
    org: OrgOption,
    resource: Annotated[
        str | None, typer.Option("--resource", help="User or Group (default: both).")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """The organisation's attributes, oldest first."""
    kind = _resource(resource) if resource else None
    with _opened(_settings(data_dir, database_url)) as hub:
        rows = [d.as_json() for d in hub.attributes.definitions(org, kind)]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table(Column("id", no_wrap=True), "resource", "path", "type", "multi", "unique")
    for r in rows:
        table.add_row(
            r["id"],
            r["resource"],
            r["path"],
            r["type"],
            "yes" if r["multiValued"] else "",
            "yes" if r["uniqueness"] == "server" else "",
        )
    console.print(table)


@attribute_app.command("remove")
def attribute_remove(
    org: OrgOption,
    attribute_id: Annotated[str, typer.Argument(help="The attribute's id (from `list`).")],
    purge: Annotated[
        bool, typer.Option("--purge", help="Clear it from every user or group holding it first.")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Remove an attribute; refused while resources hold values of it, unless --purge."""
    from .directory.actor import Actor
    from .directory.attribute_removal import remove_attribute
    from .directory.locator import Locator
    from .tracking_ids import new_tracking_id

    settings = _settings(data_dir, database_url)
    actor = Actor(_ATTRIBUTE_ACTOR, new_tracking_id(settings.tracking_prefix))
    with _opened(settings) as hub, _attribute_refusals():
        defined, cleared = remove_attribute(
            hub.attributes,
            hub.users,
            hub.groups,
            org,
            attribute_id,
            Locator(settings.public_url, org),
            purge=purge,
            actor=actor,
        )
    if as_json:
        print(json.dumps({"removed": defined.as_json(), "cleared": cleared}))
    else:
        console.print(f"Removed {defined.definition.path}; cleared from {cleared} resource(s)")


@attribute_app.command("undeclared")
def attribute_undeclared(
    org: OrgOption,
    choice: Annotated[
        str | None,
        typer.Argument(help="refuse (the default) or keep; leave out to show the setting."),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Extension attributes the organisation has not defined: refused with 400
    invalidValue, or kept (stored and returned, not filterable)."""
    from .directory.actor import Actor
    from .tracking_ids import new_tracking_id

    if choice is not None and choice not in ("refuse", "keep"):
        console.print("[red]the setting is refuse or keep[/red]")
        raise typer.Exit(2)
    settings = _settings(data_dir, database_url)
    with _opened(settings) as hub:
        if choice is not None:
            actor = Actor(_ATTRIBUTE_ACTOR, new_tracking_id(settings.tracking_prefix))
            hub.attributes.keep_undeclared(org, choice == "keep", actor=actor)
        keep = hub.attributes.keeps_undeclared(org)
    setting = "keep" if keep else "refuse"
    if as_json:
        print(json.dumps({"undeclared": setting}))
    else:
        console.print(f"Undeclared extension attributes: {setting}")


# -- the deletion brake -------------------------------------------------------------------

deletions_app = typer.Typer(
    help="Pull sync's brake on mass removal: held removals and thresholds.",
    no_args_is_help=True,
)
app.add_typer(deletions_app, name="deletions")
InstanceOption = Annotated[str, typer.Option("--instance", help="Pull-sync instance id.")]
_BRAKE_ACTOR = "scimhub deletions (command line)"


@contextmanager
def _brake_refusals() -> Iterator[None]:
    """Refusals as a message and exit 1 (not found, a round running) or 2 (bad threshold)."""
    from .directory.deletion_brake import InvalidThreshold
    from .scim.errors import ScimError

    try:
        yield
    except ScimError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from None
    except InvalidThreshold as exc:
        console.print(f"[red]deletion threshold: {exc}[/red]")
        raise typer.Exit(2) from None


def _pull_instance(hub: Hub, org: str, instance_id: str) -> SyncSource:
    found: SyncSource | None = hub.instances.get(org, instance_id)
    ldap = hub.ldap.get(org)
    if found is None and ldap is not None and ldap.id == instance_id:
        found = ldap  # an LDAP source's removals pass the same brake
    if found is None:
        console.print(f"[red]instance {instance_id} not found in this organisation[/red]")
        raise typer.Exit(1)
    return found


@deletions_app.command("held")
def deletions_held(
    org: OrgOption,
    instance: InstanceOption,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """The instance's held removals (the first 500), oldest first."""
    with _opened(_settings(data_dir, database_url)) as hub, _brake_refusals():
        found, total = hub.brake.held(org, _pull_instance(hub, org, instance).id, limit=500)
    rows = [r.as_json() for r in found]
    if as_json:
        print(json.dumps({"total": total, "removals": rows}))
        return
    table = Table("name", "action", "resource", Column("resource id", no_wrap=True), "noted")
    for r in rows:
        table.add_row(r["name"], r["action"], r["resourceType"], r["resourceId"], r["noted"])
    console.print(table)
    console.print(f"{total} removal(s) held")


def _decide(org: str, instance: str, settings: Settings, *, approve: bool) -> int:
    from .directory.actor import Actor
    from .directory.locator import Locator
    from .tracking_ids import new_tracking_id

    actor = Actor(_BRAKE_ACTOR, new_tracking_id(settings.tracking_prefix))
    with _opened(settings) as hub, _brake_refusals():
        iid = _pull_instance(hub, org, instance).id
        if approve:
            return hub.brake.approve(org, iid, Locator(settings.public_url, org), actor=actor)
        return hub.brake.discard(org, iid, actor=actor)


@deletions_app.command("approve")
def deletions_approve(
    org: OrgOption,
    instance: InstanceOption,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Apply every held removal (users deactivated or deleted, groups deleted)."""
    done = _decide(org, instance, _settings(data_dir, database_url), approve=True)
    if as_json:
        print(json.dumps({"approved": done}))
    else:
        console.print(f"{done} removal(s) applied")


@deletions_app.command("discard")
def deletions_discard(
    org: OrgOption,
    instance: InstanceOption,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Drop every held removal: the hub keeps those users and groups."""
    done = _decide(org, instance, _settings(data_dir, database_url), approve=False)
    if as_json:
        print(json.dumps({"discarded": done}))
    else:
        console.print(f"{done} removal(s) discarded")


@deletions_app.command("threshold")
def deletions_threshold(
    org: OrgOption,
    instance: Annotated[
        str | None, typer.Option("--instance", help="One instance (default: the org's).")
    ] = None,
    count: Annotated[int | None, typer.Option(help="Removals per window.")] = None,
    percent: Annotated[
        int | None, typer.Option(help="Share of active users per window (0: no share rule).")
    ] = None,
    window: Annotated[int | None, typer.Option(help="Window, in minutes.")] = None,
    off: Annotated[bool, typer.Option("--off", help="No brake.")] = False,
    inherit: Annotated[
        bool, typer.Option("--inherit", help="The instance follows the org's again.")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Show or set the threshold (default 500 removals per hour, or 20% of active users)."""
    from .directory.actor import Actor
    from .directory.deletion_brake import Threshold
    from .tracking_ids import new_tracking_id

    settings = _settings(data_dir, database_url)
    changes = count is not None or percent is not None or window is not None or off or inherit
    with _opened(settings) as hub, _brake_refusals():
        target = _pull_instance(hub, org, instance) if instance else None
        current = hub.brake.threshold(target) if target else hub.brake.org_threshold(org)
        if changes:
            new: Threshold | None = None
            if not inherit:
                new = Threshold.parse(
                    {
                        **current.as_json(),
                        **({"count": count} if count is not None else {}),
                        **({"percent": percent or None} if percent is not None else {}),
                        **({"windowMinutes": window} if window is not None else {}),
                        "enabled": not off,
                    }
                )
            actor = Actor(_BRAKE_ACTOR, new_tracking_id(settings.tracking_prefix))
            hub.brake.set_threshold(org, new, instance=target, actor=actor)
            current = new or hub.brake.org_threshold(org)
    if as_json:
        print(json.dumps(current.as_json()))
        return
    state = "off" if not current.enabled else f"{current.count} per {current.window_minutes} min"
    share = f", or {current.percent}% of active users" if current.percent else ""
    console.print(f"deletion threshold: {state}{share if current.enabled else ''}")


BurstArg = Annotated[str, typer.Argument(help="The burst's id (from `deletions bursts`).")]


@deletions_app.command("bursts")
def deletions_bursts(
    org: OrgOption,
    state: Annotated[
        str | None, typer.Option(help="open, restored or dismissed (default: all).")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Bursts of removals Entra's push job made past the deletion threshold, newest first."""
    from .directory.removal_bursts import BurstState

    try:
        wanted = BurstState(state) if state else None
    except ValueError:
        console.print("[red]--state must be open, restored or dismissed[/red]")
        raise typer.Exit(2) from None
    with _opened(_settings(data_dir, database_url)) as hub:
        rows = [b.as_json() for b in hub.bursts.listed(org, wanted)]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table(Column("id", no_wrap=True), "source", "users", "started", "ended", "state")
    for b in rows:
        table.add_row(
            b["id"],
            b["source"].get("name", ""),
            str(b["removals"]),
            b["started"],
            b["ended"],
            b["state"],
        )
    console.print(table)


@deletions_app.command("restore-burst")
def deletions_restore_burst(
    org: OrgOption,
    burst_id: BurstArg,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Undo a burst: its deleted users back from the recycle bin, its deactivated ones active."""
    from .directory.actor import Actor
    from .directory.locator import Locator
    from .tracking_ids import new_tracking_id

    settings = _settings(data_dir, database_url)
    actor = Actor(_BRAKE_ACTOR, new_tracking_id(settings.tracking_prefix))
    with _opened(settings) as hub, _brake_refusals():
        done = hub.bursts.restore(org, burst_id, Locator(settings.public_url, org), actor=actor)
    if as_json:
        print(json.dumps(done.as_json()))
        return
    console.print(
        f"{done.users_restored} user(s) restored, {done.users_reactivated} made active again, "
        f"{done.skipped} left as they are"
    )


@deletions_app.command("dismiss-burst")
def deletions_dismiss_burst(
    org: OrgOption,
    burst_id: BurstArg,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The burst's removals were meant: acknowledge it (its alert goes)."""
    from .directory.actor import Actor
    from .tracking_ids import new_tracking_id

    settings = _settings(data_dir, database_url)
    with _opened(settings) as hub, _brake_refusals():
        actor = Actor(_BRAKE_ACTOR, new_tracking_id(settings.tracking_prefix))
        hub.bursts.dismiss(org, burst_id, actor=actor)
    console.print("dismissed")


# -- sign-in with Microsoft -----------------------------------------------------------------

signin_app = typer.Typer(
    help="Sign in with Microsoft and local passwords, per organisation.", no_args_is_help=True
)
app.add_typer(signin_app, name="signin")
_SIGNIN_ACTOR = "scimhub signin (command line)"
Values = Annotated[list[str] | None, typer.Option(help="Repeatable.")]


def _print_signin(settings: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(settings))
        return
    for key, value in settings.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        console.print(f"{key}: {shown}")


@signin_app.command("configure")
def signin_configure(
    org: OrgOption,
    enable: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Offer Sign in with Microsoft.")
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option(help="The Entra tenant id (default: the org's only connected tenant)."),
    ] = None,
    roles_from: Annotated[
        str | None, typer.Option("--roles-from", help="app-roles or groups.")
    ] = None,
    admin_role: Values = None,
    readonly_role: Values = None,
    admin_group: Values = None,
    readonly_group: Values = None,
    local_passwords: Annotated[
        str | None,
        typer.Option("--local-passwords", help="on or off (on: the break-glass way back in)."),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Change what is given, keep the rest (audited). Switching local passwords off ends the
    org's password sessions; `--local-passwords on` always works, whatever else is set."""
    from .directory.actor import Actor
    from .directory.errors import OrgNotFound
    from .directory.signin_settings import SignInSettingsError
    from .tracking_ids import new_tracking_id

    if local_passwords not in (None, "on", "off"):
        console.print("[red]--local-passwords is on or off[/red]")
        raise typer.Exit(2)
    changes: dict[str, object] = {
        key: value
        for key, value in (
            ("enabled", enable),
            ("tenant_id", tenant),
            ("roles_from", roles_from),
            ("admin_roles", admin_role),
            ("readonly_roles", readonly_role),
            ("admin_groups", admin_group),
            ("readonly_groups", readonly_group),
            ("local_passwords", None if local_passwords is None else local_passwords == "on"),
        )
        if value is not None
    }
    settings = _settings(data_dir, database_url)
    with _opened(settings) as hub:
        try:
            current = hub.signin.get(org)
            if enable and not tenant and not current.tenant_id:
                connected = {i.tenant_id for i in hub.instances.list(org)}
                if len(connected) != 1:
                    console.print(
                        "[red]give --tenant: the org has no single connected tenant[/red]"
                    )
                    raise typer.Exit(2)
                changes["tenant_id"] = connected.pop()
            actor = Actor(_SIGNIN_ACTOR, new_tracking_id(settings.tracking_prefix))
            done = hub.signin.configure(org, actor, **changes)
        except OrgNotFound:
            console.print(f"[red]no organisation with id {org}[/red]")
            raise typer.Exit(1) from None
        except SignInSettingsError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    _print_signin(done.as_json(), as_json)


@signin_app.command("show")
def signin_show(
    org: OrgOption,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """The organisation's sign-in settings."""
    from .directory.errors import OrgNotFound

    with _opened(_settings(data_dir, database_url)) as hub:
        try:
            current = hub.signin.get(org)
        except OrgNotFound:
            console.print(f"[red]no organisation with id {org}[/red]")
            raise typer.Exit(1) from None
    _print_signin(current.as_json(), as_json)


# -- directory sync from AD / LDAP (docs/ldap.md) -----------------------------------------

ldap_app = typer.Typer(
    help="The organisation's AD / LDAP source: add, test, dry run, change, remove.",
    no_args_is_help=True,
)
app.add_typer(ldap_app, name="ldap")
_LDAP_ACTOR = "scimhub ldap (command line)"


@contextmanager
def _ldap_refusals(hub: Hub | None = None, org: str = "", operation: str = "") -> Iterator[None]:
    """An LDAP failure as its title and detail, exit 1 (2 for bad settings); with `hub`,
    also kept for the troubleshooter under `operation`."""
    from .integrations.ldap.errors import InvalidSource, LdapError
    from .tracking_ids import new_tracking_id

    try:
        yield
    except LdapError as err:
        if hub is not None and operation:
            source = hub.ldap.get(org)
            tid = new_tracking_id(hub.settings.tracking_prefix)
            hub.ldap.record_failure(
                org, source.id if source else None, err, operation=operation, tracking_id=tid
            )
        console.print(f"[red]{err.status} {err.code}: {err.description}[/red]")
        meaning = err.as_json().get("meaning")
        if meaning:
            console.print(f"[red]AD data code {err.upstream_code}: {meaning}[/red]")
        raise typer.Exit(2 if isinstance(err, InvalidSource) else 1) from None


def _ldap_round(hub: Hub, org: str, as_json: bool) -> dict[str, object]:
    from dataclasses import asdict

    from rich.progress import Progress, SpinnerColumn, TextColumn

    with (
        _ldap_refusals(hub, org, "ldap round"),
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:,} entries"),
            console=console,
            disable=as_json,
        ) as bar,
    ):
        tasks = {k: bar.add_task(f"LDAP: {k}", total=None) for k in ("users", "groups")}
        counts = hub.ldap.run(org, lambda kind, n: bar.advance(tasks[kind], n))
    return asdict(counts)


def _ldap_settings(**given: object) -> dict[str, object]:
    """The API's names for the flags given (None: not given)."""
    return {k: v for k, v in given.items() if v is not None}


def _read_password(password_stdin: bool) -> str | None:
    if not password_stdin:
        return None
    import sys

    return sys.stdin.readline().rstrip("\r\n")


def _ca(ca_file: Path | None) -> str | None:
    return ca_file.read_text() if ca_file is not None else None


def _mapping(mapping_file: Path | None) -> object:
    return json.loads(mapping_file.read_text()) if mapping_file is not None else None


LdapUrl = Annotated[
    str, typer.Option("--url", help="ldaps://host[:636] or ldap://host (StartTLS).")
]
CaFile = Annotated[Path | None, typer.Option("--ca-file", help="PEM CA certificates to trust.")]
MappingFile = Annotated[
    Path | None,
    typer.Option("--mapping-file", help="JSON list of {source, target} (a preset's by default)."),
]
UserDomains = Annotated[
    str | None,
    typer.Option("--user-domains", help="userName domains this source owns, comma-separated."),
]


@ldap_app.command("add")
def ldap_add(
    org: OrgOption,
    url: LdapUrl,
    bind_dn: Annotated[str, typer.Option("--bind-dn", help="The DN the hub binds as.")],
    user_base: Annotated[str, typer.Option("--user-base", help="Base DN of the users.")],
    group_base: Annotated[str, typer.Option("--group-base", help="Base DN of the groups.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the bind password from stdin.")
    ] = False,
    preset: Annotated[str, typer.Option("--preset", help="ad or openldap.")] = "openldap",
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    user_filter: Annotated[str | None, typer.Option("--user-filter")] = None,
    group_filter: Annotated[str | None, typer.Option("--group-filter")] = None,
    page_size: Annotated[int | None, typer.Option("--page-size")] = None,
    nested_groups: Annotated[bool, typer.Option("--nested-groups")] = False,
    user_domains: UserDomains = None,
    ca_file: CaFile = None,
    mapping_file: MappingFile = None,
    no_starttls: Annotated[
        bool, typer.Option("--no-starttls", help="ldap:// in the clear (loopback only).")
    ] = False,
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it switched off.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Add the organisation's LDAP source; the password is stored encrypted, never shown."""
    from .directory.actor import Actor

    body = _ldap_settings(
        url=url,
        bindDn=bind_dn,
        userBase=user_base,
        groupBase=group_base,
        preset=preset,
        userFilter=user_filter,
        groupFilter=group_filter,
        pageSize=page_size,
        nestedGroups=nested_groups or None,
        userDomains=user_domains,
        caPem=_ca(ca_file),
        mapping=_mapping(mapping_file),
        startTls=False if no_starttls else None,
    )
    password = _read_password(password_stdin) or ""
    with _opened(_settings(data_dir, database_url)) as hub, _ldap_refusals():
        source = hub.ldap.add(
            org, body, password, actor=Actor(_LDAP_ACTOR), name=name, enabled=not disabled
        )
        view = hub.ldap.view(source)
    if as_json:
        print(json.dumps(view))
    else:
        console.print(
            f"LDAP source {source.id} ({source.name}) added; try it: scimhub ldap test --org {org}"
        )


@ldap_app.command("set")
def ldap_set(
    org: OrgOption,
    url: Annotated[str | None, typer.Option("--url")] = None,
    bind_dn: Annotated[str | None, typer.Option("--bind-dn")] = None,
    user_base: Annotated[str | None, typer.Option("--user-base")] = None,
    group_base: Annotated[str | None, typer.Option("--group-base")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    preset: Annotated[str | None, typer.Option("--preset")] = None,
    user_filter: Annotated[str | None, typer.Option("--user-filter")] = None,
    group_filter: Annotated[str | None, typer.Option("--group-filter")] = None,
    page_size: Annotated[int | None, typer.Option("--page-size")] = None,
    nested_groups: Annotated[bool | None, typer.Option("--nested-groups/--direct-groups")] = None,
    user_domains: UserDomains = None,
    ca_file: CaFile = None,
    mapping_file: MappingFile = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Change settings of the LDAP source (what a round reads changing: the next is full)."""
    from .directory.actor import Actor

    body = _ldap_settings(
        url=url,
        bindDn=bind_dn,
        userBase=user_base,
        groupBase=group_base,
        preset=preset,
        userFilter=user_filter,
        groupFilter=group_filter,
        pageSize=page_size,
        nestedGroups=nested_groups,
        userDomains=user_domains,
        caPem=_ca(ca_file),
        mapping=_mapping(mapping_file),
    )
    with _opened(_settings(data_dir, database_url)) as hub, _ldap_refusals():
        source = hub.ldap.update(
            org, body, actor=Actor(_LDAP_ACTOR), password=_read_password(password_stdin)
        )
        view = hub.ldap.view(source)
    print(json.dumps(view)) if as_json else console.print(f"LDAP source {source.id} changed")


@ldap_app.command("show")
def ldap_show(
    org: OrgOption,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """The source's settings (never the password), state and last round."""
    from .integrations.ldap.errors import NoSource

    with _opened(_settings(data_dir, database_url)) as hub, _ldap_refusals():
        source = hub.ldap.get(org)
        if source is None:
            raise NoSource("Add one first (scimhub ldap add).")
        view = hub.ldap.view(source)
    if as_json:
        print(json.dumps(view))
        return
    for key in ("id", "name", "enabled", "url", "bindDn", "preset", "userBase", "groupBase"):
        console.print(f"{key}: {view[key]}")
    console.print(f"last round: {view['lastRound']}")


@ldap_app.command("test")
def ldap_test(
    org: OrgOption,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Connect, TLS, bind, the base DNs, a sample through the mapping; exit 1 on failure."""
    from .tracking_ids import new_tracking_id

    with _opened(_settings(data_dir, database_url)) as hub, _ldap_refusals():
        report = hub.ldap.test(org)
        if report.error is not None:
            source = hub.ldap.get(org)
            hub.ldap.record_failure(
                org,
                source.id if source else None,
                report.error,
                operation="ldap test",
                tracking_id=new_tracking_id(hub.settings.tracking_prefix),
            )
    if as_json:
        print(json.dumps(report.as_json()))
    else:
        for step in report.steps:
            mark = "[green]ok[/green]" if step["ok"] else "[red]failed[/red]"
            console.print(f"{mark} {step['step']}: {step['detail']}")
        meaning = report.error.as_json().get("meaning") if report.error else None
        if meaning:
            console.print(f"[red]AD data code {report.error.upstream_code}: {meaning}[/red]")  # type: ignore[union-attr]
    raise typer.Exit(0 if report.ok else 1)


@ldap_app.command("dry-run")
def ldap_dry_run(
    org: OrgOption,
    full: Annotated[bool, typer.Option("--full", help="A full round, not the next one.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """What the next round would change, written nowhere."""
    with (
        _opened(_settings(data_dir, database_url)) as hub,
        _ldap_refusals(hub, org, "ldap dry run"),
    ):
        seen = hub.ldap.dry_run(org, full=full)
    if as_json:
        print(json.dumps(seen))
        return
    console.print(f"{seen['round']} round, {seen['examined']['users']} users examined")
    for kind in ("users", "groups"):
        counts = seen[kind]
        console.print(
            f"{kind}: "
            + ", ".join(
                f"{k} {counts[k]}"
                for k in ("create", "update", "unchanged", "deactivate", "delete", "error")
            )
        )
    if seen["threshold"]["crosses"]:
        console.print(
            f"[yellow]{seen['removals']} removals would be held by the deletion brake[/yellow]"
        )


def _ldap_switch(org: str, enabled: bool, settings: Settings) -> None:
    from .directory.actor import Actor

    with _opened(settings) as hub, _ldap_refusals():
        hub.ldap.set_enabled(org, enabled, actor=Actor(_LDAP_ACTOR))
    console.print(f"LDAP source {'enabled' if enabled else 'disabled'}")


@ldap_app.command("enable")
def ldap_enable(org: OrgOption, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Switch the source on (refused while an Azure AD instance feeds the same users)."""
    _ldap_switch(org, True, _settings(data_dir, database_url))


@ldap_app.command("disable")
def ldap_disable(
    org: OrgOption, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Switch the source off: no rounds, the users stay."""
    _ldap_switch(org, False, _settings(data_dir, database_url))


@ldap_app.command("remove")
def ldap_remove(org: OrgOption, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Forget the source (and its links); the users and groups it brought stay."""
    from .directory.actor import Actor

    with _opened(_settings(data_dir, database_url)) as hub, _ldap_refusals():
        hub.ldap.remove(org, actor=Actor(_LDAP_ACTOR))
    console.print("LDAP source removed")
