"""`scimhub emulator`: serve the emulator, or act on its data directory as the Azure
portal's admin would. Subcommands write the shared SQLite file directly, so they work
whether or not the server is running (it re-reads state on every request)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import Connection, Engine, select

from . import audit, extensions, faults, redirect_uris, seed
from .accounts import set_password
from .app_roles import assign_role, set_assignment_required
from .apps import (
    add_client_secret,
    delete_sp,
    find_app,
    grant_consent,
    restore_sp,
    set_sp_enabled,
)
from .constants import INTEGRATION_APP_ID
from .context import DEFAULT_CYCLE_SECONDS, open_data_dir
from .directory import (
    DirectoryError,
    add_group,
    add_member,
    add_user,
    delete_group,
    delete_user,
    remove_member,
    require_tenant,
    restore_group,
    restore_user,
    unassign,
    update_group,
    update_user,
)
from .provisioning import jobs
from .schema import (
    directory_audits,
    groups,
    provisioning_logs,
    service_principals,
    sync_jobs,
    tenants,
    users,
)

app = typer.Typer(help="A local Microsoft Entra ID emulator.", no_args_is_help=False)
sp_app = typer.Typer(help="Enterprise applications (service principals).")
users_app = typer.Typer(help="Users.")
groups_app = typer.Typer(help="Groups and memberships.")
jobs_app = typer.Typer(help="Provisioning jobs.")
faults_app = typer.Typer(help="Fault injection for Graph (429, latency, 5xx).")
apps_app = typer.Typer(help="Application registrations (client secrets, redirect URIs).")
redirect_app = typer.Typer(help="An application's redirect URIs (exact match at sign-in).")
extension_app = typer.Typer(help="An application's directory extension properties.")
for sub, name in (
    (sp_app, "sp"),
    (users_app, "users"),
    (groups_app, "groups"),
    (jobs_app, "jobs"),
    (faults_app, "faults"),
    (apps_app, "apps"),
):
    app.add_typer(sub, name=name)
app.add_typer(apps_app, name="app", hidden=True)  # `app redirect-uri ...` reads naturally
apps_app.add_typer(redirect_app, name="redirect-uri")
apps_app.add_typer(extension_app, name="extension")

DATA_DIR = typer.Option(
    Path(".scimhub-emulator"),
    "--data-dir",
    envvar="SCIMHUB_EMULATOR_DATA_DIR",
    help="Data directory (SQLite database, keys, certificates).",
)
TENANT = typer.Option(
    None, "--tenant", help="Tenant id or domain (default: the first customer tenant)."
)


def _out(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _engine(data_dir: Path) -> Engine:
    engine = open_data_dir(data_dir)
    with engine.begin() as conn:
        seed.ensure_default_tenant(conn)
    return engine


def _tenant(conn: Connection, ref: str | None) -> Any:
    if ref:
        return require_tenant(conn, ref)
    row = conn.execute(
        select(tenants).where(tenants.c.is_publisher.is_(False)).order_by(tenants.c.created_at)
    ).first()
    if row is None:
        raise DirectoryError("No customer tenant: seed one first.")
    return row


def _sp(
    conn: Connection, tenant: Any, app_id: str | None, sp_id: str | None, deleted: bool = False
) -> Any:
    stmt = select(service_principals).where(service_principals.c.tenant_id == tenant.id)
    if sp_id:
        stmt = stmt.where(service_principals.c.id == sp_id)
    elif app_id:
        stmt = stmt.where(service_principals.c.app_id == app_id)
    else:
        raise DirectoryError("Give --app-id or --id.")
    stmt = stmt.where(
        service_principals.c.deleted_at.is_not(None)
        if deleted
        else service_principals.c.deleted_at.is_(None)
    )
    row = conn.execute(stmt.order_by(service_principals.c.deleted_at.desc())).first()
    if row is None:
        raise DirectoryError("Service principal not found.")
    return row


def _run(engine: Engine, fn: Any) -> Any:
    """Run fn(conn) in a transaction; directory errors become a clean CLI error."""
    try:
        with engine.begin() as conn:
            return fn(conn)
    except DirectoryError as err:
        _fail(str(err))


@app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    data_dir: Path = DATA_DIR,
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8443, help="HTTPS port."),
    info_json: Path | None = typer.Option(
        None, "--info-json", help="Write base URL, CA, tenants, client id/secret."
    ),
    cycle_interval: float = typer.Option(
        DEFAULT_CYCLE_SECONDS,
        envvar="SCIMHUB_EMULATOR_CYCLE_SECONDS",
        help="Seconds between incremental provisioning cycles (Entra: 2400).",
    ),
    seed_file: Path | None = typer.Option(None, "--seed", help="YAML/JSON seed document."),
    gen_users: int = typer.Option(0, "--users", help="Generate this many users."),
    gen_groups: int = typer.Option(0, "--groups", help="Generate this many groups."),
    tenant: str | None = TENANT,
    concurrency: int = typer.Option(32, help="SCIM requests in flight per provisioning job."),
    target_ca: str | None = typer.Option(
        None, envvar="SCIMHUB_EMULATOR_TARGET_CA", help="CA bundle to trust for HTTPS SCIM targets."
    ),
    redirect_uri: list[str] = typer.Option(
        [],
        "--redirect-uri",
        help="Register a redirect URI for the integration app "
        "(repeatable), e.g. the hub's consent callback.",
    ),
) -> None:
    """Serve the emulator over HTTPS (when no subcommand is given)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from .app import create_app
    from .certs import ensure_tls
    from .context import build
    from .server import info, uvicorn_config, write_info

    engine = open_data_dir(data_dir)
    with engine.begin() as conn:
        if seed_file:
            seed.seed_document(conn, seed.load_document(seed_file))
        seed.ensure_default_tenant(conn)
        try:
            for uri in redirect_uri:
                redirect_uris.add_uri(conn, INTEGRATION_APP_ID, uri)
        except DirectoryError as err:
            _fail(str(err))
        if gen_users or gen_groups:
            t0 = time.perf_counter()
            seed.generate(
                conn, _tenant(conn, tenant).id, users_count=gen_users, groups_count=gen_groups
            )
            typer.echo(
                f"generated {gen_users} users, {gen_groups} groups in "
                f"{time.perf_counter() - t0:.1f}s"
            )
    engine.dispose()
    tls = ensure_tls(data_dir)
    emu = build(
        data_dir,
        f"https://{host}:{port}",
        cycle_seconds=cycle_interval,
        push_concurrency=concurrency,
        target_ca=target_ca,
    )
    details = info(emu, tls)
    if info_json:
        write_info(info_json, details)
        typer.echo(f"info: {info_json}")
    typer.echo(f"Entra ID emulator on {emu.base_url} (CA certificate: {tls.ca_cert})")
    for t in details["tenants"]:
        typer.echo(
            f"  tenant {t['display_name']}: {t['id']} ({t['domain']}), admin {t['admin_login']}"
        )
    uvicorn.Server(uvicorn_config(create_app(emu), host, port, tls)).run()


@app.command("seed")
def seed_cmd(
    data_dir: Path = DATA_DIR,
    file: Path | None = typer.Option(None, "--file"),
    gen_users: int = typer.Option(0, "--users"),
    gen_groups: int = typer.Option(0, "--groups"),
    tenant: str | None = TENANT,
) -> None:
    """Load a seed document and/or generate users and groups."""
    engine = _engine(data_dir)
    t0 = time.perf_counter()

    def go(conn: Connection) -> None:
        if file:
            seed.seed_document(conn, seed.load_document(file))
        if gen_users or gen_groups:
            seed.generate(
                conn, _tenant(conn, tenant).id, users_count=gen_users, groups_count=gen_groups
            )

    _run(engine, go)
    _out({"seconds": round(time.perf_counter() - t0, 2)})


@app.command("tenants")
def tenants_cmd(data_dir: Path = DATA_DIR) -> None:
    """List tenants."""
    with _engine(data_dir).connect() as conn:
        _out(
            [
                {
                    "id": t.id,
                    "domain": t.domain,
                    "display_name": t.display_name,
                    "admin_login": t.admin_login,
                    "publisher": t.is_publisher,
                }
                for t in conn.execute(select(tenants))
            ]
        )


@app.command("consent")
def consent_cmd(
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    client_id: str = typer.Option(..., "--client-id"),
) -> None:
    """Grant admin consent (same effect and audit records as the consent page)."""
    sp_id = _run(_engine(data_dir), lambda c: grant_consent(c, _tenant(c, tenant), client_id))
    _out({"servicePrincipalId": sp_id})


@sp_app.command("list")
def sp_list(
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    deleted: bool = typer.Option(False, help="Show the recycle bin."),
) -> None:
    with _engine(data_dir).connect() as conn:
        t = _tenant(conn, tenant)
        rows = conn.execute(
            select(service_principals).where(
                service_principals.c.tenant_id == t.id,
                service_principals.c.deleted_at.is_not(None)
                if deleted
                else service_principals.c.deleted_at.is_(None),
            )
        )
        _out(
            [
                {
                    "id": r.id,
                    "appId": r.app_id,
                    "displayName": r.display_name,
                    "accountEnabled": r.account_enabled,
                    "deletedDateTime": r.deleted_at,
                }
                for r in rows
            ]
        )


def _admin_sp_action(
    data_dir: Path, tenant: str | None, app_id: str | None, sp_id: str | None, action: str
) -> None:
    def go(conn: Connection) -> str:
        t = _tenant(conn, tenant)
        sp = _sp(conn, t, app_id, sp_id, deleted=action == "restore")
        initiator = audit.admin_initiator(t)
        if action == "delete":
            delete_sp(conn, t.id, sp.id, initiator)
        elif action == "restore":
            restore_sp(conn, t.id, sp.id, initiator)
        else:
            set_sp_enabled(conn, t.id, sp.id, action == "enable")
        return str(sp.id)

    _out({"servicePrincipalId": _run(_engine(data_dir), go), "action": action})


APP_ID = typer.Option(None, "--app-id")
SP_ID = typer.Option(None, "--id")


@sp_app.command("delete")
def sp_delete(
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    app_id: str | None = APP_ID,
    sp_id: str | None = SP_ID,
) -> None:
    """Delete an enterprise app (to the recycle bin), as an admin in the portal."""
    _admin_sp_action(data_dir, tenant, app_id, sp_id, "delete")


@sp_app.command("restore")
def sp_restore(
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    app_id: str | None = APP_ID,
    sp_id: str | None = SP_ID,
) -> None:
    """Restore a deleted enterprise app from the recycle bin."""
    _admin_sp_action(data_dir, tenant, app_id, sp_id, "restore")


@sp_app.command("disable")
def sp_disable(
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    app_id: str | None = APP_ID,
    sp_id: str | None = SP_ID,
) -> None:
    """Disable sign-in for an enterprise app (tokens then fail with AADSTS7000112)."""
    _admin_sp_action(data_dir, tenant, app_id, sp_id, "disable")


@sp_app.command("enable")
def sp_enable(
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    app_id: str | None = APP_ID,
    sp_id: str | None = SP_ID,
) -> None:
    _admin_sp_action(data_dir, tenant, app_id, sp_id, "enable")


@sp_app.command("require-assignment")
def sp_require_assignment(
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    app_id: str | None = APP_ID,
    sp_id: str | None = SP_ID,
    off: bool = typer.Option(False, "--off", help="Let every user of the tenant sign in."),
) -> None:
    """ "Assignment required?" on the enterprise app: only users assigned to it, directly or
    through a group, may sign in (others get AADSTS50105)."""

    def go(conn: Connection) -> str:
        sp = _sp(conn, _tenant(conn, tenant), app_id, sp_id)
        set_assignment_required(conn, sp.id, not off)
        return str(sp.id)

    _out({"servicePrincipalId": _run(_engine(data_dir), go), "assignmentRequired": not off})


@apps_app.command("add-secret")
def apps_add_secret(
    data_dir: Path = DATA_DIR,
    app_id: str = typer.Option(..., "--app-id"),
    days: float = typer.Option(365, help="Validity; negative: already expired."),
) -> None:
    """Add a client secret; its value is shown once and never stored."""
    key_id, secret = _run(
        _engine(data_dir), lambda c: add_client_secret(c, app_id, days_valid=days)
    )
    _out({"keyId": key_id, "secretText": secret})


APP_ID_REQUIRED = typer.Option(..., "--app-id")
AS_JSON = typer.Option(False, "--json", help="JSON output.")


def _redirect_out(app_id: str, uris: list[str], as_json: bool) -> None:
    if as_json:
        _out({"appId": app_id, "redirectUris": uris})
    else:
        for uri in uris:
            typer.echo(uri)


@redirect_app.command("add")
def redirect_add(
    data_dir: Path = DATA_DIR,
    app_id: str = APP_ID_REQUIRED,
    uri: str = typer.Option(..., "--uri"),
    as_json: bool = AS_JSON,
) -> None:
    """Register a redirect URI (https, or http on localhost/127.0.0.1)."""
    uris = _run(_engine(data_dir), lambda c: redirect_uris.add_uri(c, app_id, uri))
    _redirect_out(app_id, uris, as_json)


@redirect_app.command("list")
def redirect_list(
    data_dir: Path = DATA_DIR, app_id: str = APP_ID_REQUIRED, as_json: bool = AS_JSON
) -> None:
    uris = _run(_engine(data_dir), lambda c: redirect_uris.list_uris(c, app_id))
    _redirect_out(app_id, uris, as_json)


@redirect_app.command("remove")
def redirect_remove(
    data_dir: Path = DATA_DIR,
    app_id: str = APP_ID_REQUIRED,
    uri: str = typer.Option(..., "--uri"),
    as_json: bool = AS_JSON,
) -> None:
    uris = _run(_engine(data_dir), lambda c: redirect_uris.remove_uri(c, app_id, uri))
    _redirect_out(app_id, uris, as_json)


def _app(conn: Connection, app_id: str) -> Any:
    app = find_app(conn, app_id)
    if app is None:
        raise DirectoryError(f"Application '{app_id}' not found.")
    return app


@extension_app.command("add")
def extension_add(
    data_dir: Path = DATA_DIR,
    app_id: str = APP_ID_REQUIRED,
    name: str = typer.Option(..., "--name"),
    data_type: str = typer.Option("String", "--type", help=", ".join(extensions.DATA_TYPES)),
    multi_valued: bool = typer.Option(False, "--multi-valued"),
) -> None:
    """Register a property on users, as the portal's admin (or Graph) does; prints it,
    with the `extension_<appId>_<name>` name users carry it under."""

    def go(conn: Connection) -> dict[str, Any]:
        app = _app(conn, app_id)
        body = {
            "name": name,
            "dataType": data_type,
            "isMultiValued": multi_valued,
            "targetObjects": ["User"],
        }
        return extensions.property_to_graph(
            extensions.add_property(conn, app, body), app.display_name
        )

    _out(_run(_engine(data_dir), go))


@extension_app.command("list")
def extension_list(data_dir: Path = DATA_DIR, app_id: str = APP_ID_REQUIRED) -> None:
    def go(conn: Connection) -> list[dict[str, Any]]:
        app = _app(conn, app_id)
        return [
            extensions.property_to_graph(r, app.display_name)
            for r in extensions.app_properties(conn, app.app_id)
        ]

    _out(_run(_engine(data_dir), go))


@extension_app.command("remove")
def extension_remove(
    data_dir: Path = DATA_DIR,
    app_id: str = APP_ID_REQUIRED,
    property_id: str = typer.Option(..., "--id"),
) -> None:
    _run(
        _engine(data_dir),
        lambda c: extensions.delete_property(c, _app(c, app_id).app_id, property_id),
    )
    _out({"removed": property_id})


EXT = typer.Option(
    None, "--ext", help="extension_<appId>_<name>=VALUE (repeatable; an empty VALUE clears it)."
)


def _ext_attrs(conn: Connection, tenant_id: str, pairs: list[str] | None) -> dict[str, Any]:
    """`--ext` values, typed by their property's dataType."""
    known = extensions.user_property_names(conn, tenant_id)
    out: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, raw = pair.partition("=")
        prop = known.get(name.lower())
        if not sep or prop is None:
            raise DirectoryError(f"--ext {pair}: not NAME=VALUE of a registered property.")
        out[prop.name] = extensions.parse_text(prop, raw) if raw else None
    return out


def _user_attrs(**kw: Any) -> dict[str, Any]:
    names = {
        "upn": "userPrincipalName",
        "display_name": "displayName",
        "given_name": "givenName",
        "surname": "surname",
        "mail": "mail",
        "department": "department",
        "job_title": "jobTitle",
        "employee_id": "employeeId",
        "manager": "manager",
        "enabled": "accountEnabled",
    }
    return {names[k]: v for k, v in kw.items() if v is not None}


@users_app.command("add")
def users_add(
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    upn: str = typer.Option(..., "--upn"),
    display_name: str | None = None,
    given_name: str | None = None,
    surname: str | None = None,
    mail: str | None = None,
    department: str | None = None,
    job_title: str | None = None,
    employee_id: str | None = None,
    manager: str | None = None,
    enabled: bool = typer.Option(True, "--enabled/--disabled"),
    ext: list[str] | None = EXT,
) -> None:
    attrs = _user_attrs(
        upn=upn,
        display_name=display_name,
        given_name=given_name,
        surname=surname,
        mail=mail or upn,
        department=department,
        job_title=job_title,
        employee_id=employee_id,
        manager=manager,
        enabled=enabled,
    )

    def go(conn: Connection) -> str:
        tid = _tenant(conn, tenant).id
        uid = add_user(conn, tid, attrs)
        if ext:
            extensions.update_user_with_extensions(conn, tid, uid, _ext_attrs(conn, tid, ext))
        return uid

    _out({"id": _run(_engine(data_dir), go)})


@users_app.command("update")
def users_update(
    user: str,
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    display_name: str | None = None,
    given_name: str | None = None,
    surname: str | None = None,
    mail: str | None = None,
    department: str | None = None,
    job_title: str | None = None,
    employee_id: str | None = None,
    manager: str | None = None,
    enabled: bool | None = typer.Option(None, "--enabled/--disabled"),
    ext: list[str] | None = EXT,
) -> None:
    attrs = _user_attrs(
        display_name=display_name,
        given_name=given_name,
        surname=surname,
        mail=mail,
        department=department,
        job_title=job_title,
        employee_id=employee_id,
        manager=manager,
        enabled=enabled,
    )

    def go(conn: Connection) -> str:
        tid = _tenant(conn, tenant).id
        changes = {**attrs, **_ext_attrs(conn, tid, ext)}
        return extensions.update_user_with_extensions(conn, tid, user, changes)

    _out({"id": _run(_engine(data_dir), go)})


@users_app.command("set-password")
def users_set_password(
    user: str,
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    password: str = typer.Option(..., "--password", help="The user's new password."),
) -> None:
    """Give a user a password of their own (without one, a user signs in with the
    emulator's default password)."""
    _out(
        {
            "id": _run(
                _engine(data_dir),
                lambda c: set_password(c, _tenant(c, tenant).id, user, password),
            )
        }
    )


@users_app.command("disable")
def users_disable(user: str, data_dir: Path = DATA_DIR, tenant: str | None = TENANT) -> None:
    _out(
        {
            "id": _run(
                _engine(data_dir),
                lambda c: update_user(c, _tenant(c, tenant).id, user, {"accountEnabled": False}),
            )
        }
    )


@users_app.command("delete")
def users_delete(
    user: list[str] = typer.Argument(..., help="Object ids or userPrincipalNames."),
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    hard: bool = typer.Option(False, help="Skip the recycle bin."),
) -> None:
    """Delete users, as an admin's bulk delete in the portal (one transaction):
    `{"id": ...}` for one, `{"ids": [...]}` for several."""

    def go(conn: Connection) -> list[str]:
        tenant_id = _tenant(conn, tenant).id
        return [delete_user(conn, tenant_id, ref, hard=hard) for ref in user]

    ids = _run(_engine(data_dir), go)
    _out({"id": ids[0]} if len(ids) == 1 else {"ids": ids})


@users_app.command("restore")
def users_restore(user: str, data_dir: Path = DATA_DIR, tenant: str | None = TENANT) -> None:
    _out({"id": _run(_engine(data_dir), lambda c: restore_user(c, _tenant(c, tenant).id, user))})


@users_app.command("list")
def users_list(
    data_dir: Path = DATA_DIR, tenant: str | None = TENANT, top: int = typer.Option(50)
) -> None:
    with _engine(data_dir).connect() as conn:
        t = _tenant(conn, tenant)
        rows = conn.execute(
            select(users).where(users.c.tenant_id == t.id, users.c.purged.is_(False)).limit(top)
        )
        _out(
            [
                {
                    "id": r.id,
                    "userPrincipalName": r.user_principal_name,
                    "displayName": r.display_name,
                    "accountEnabled": r.account_enabled,
                    "deletedDateTime": r.deleted_at,
                }
                for r in rows
            ]
        )


@groups_app.command("add")
def groups_add(
    name: str,
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    description: str | None = None,
) -> None:
    attrs = {"displayName": name, **({"description": description} if description else {})}
    _out({"id": _run(_engine(data_dir), lambda c: add_group(c, _tenant(c, tenant).id, attrs))})


@groups_app.command("rename")
def groups_rename(
    group: str, new_name: str, data_dir: Path = DATA_DIR, tenant: str | None = TENANT
) -> None:
    _out(
        {
            "id": _run(
                _engine(data_dir),
                lambda c: update_group(c, _tenant(c, tenant).id, group, {"displayName": new_name}),
            )
        }
    )


@groups_app.command("delete")
def groups_delete(
    group: str,
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    hard: bool = typer.Option(False),
) -> None:
    _out(
        {
            "id": _run(
                _engine(data_dir),
                lambda c: delete_group(c, _tenant(c, tenant).id, group, hard=hard),
            )
        }
    )


@groups_app.command("restore")
def groups_restore(group: str, data_dir: Path = DATA_DIR, tenant: str | None = TENANT) -> None:
    _out({"id": _run(_engine(data_dir), lambda c: restore_group(c, _tenant(c, tenant).id, group))})


@groups_app.command("add-member")
def groups_add_member(
    group: str, member: str, data_dir: Path = DATA_DIR, tenant: str | None = TENANT
) -> None:
    _run(_engine(data_dir), lambda c: add_member(c, _tenant(c, tenant).id, group, member))
    _out({"group": group, "added": member})


@groups_app.command("remove-member")
def groups_remove_member(
    group: str, member: str, data_dir: Path = DATA_DIR, tenant: str | None = TENANT
) -> None:
    _run(_engine(data_dir), lambda c: remove_member(c, _tenant(c, tenant).id, group, member))
    _out({"group": group, "removed": member})


@groups_app.command("list")
def groups_list(
    data_dir: Path = DATA_DIR, tenant: str | None = TENANT, top: int = typer.Option(50)
) -> None:
    with _engine(data_dir).connect() as conn:
        t = _tenant(conn, tenant)
        rows = conn.execute(
            select(groups).where(groups.c.tenant_id == t.id, groups.c.purged.is_(False)).limit(top)
        )
        _out(
            [
                {"id": r.id, "displayName": r.display_name, "deletedDateTime": r.deleted_at}
                for r in rows
            ]
        )


@app.command("assign")
def assign_cmd(
    principal: str,
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    app_id: str | None = APP_ID,
    sp_id: str | None = SP_ID,
    remove: bool = typer.Option(False, "--remove", help="Unassign instead."),
    role: str | None = typer.Option(
        None, "--role", help="An app role of the application, by value (e.g. scimhub.Admin)."
    ),
) -> None:
    """Assign a user or group (id, UPN or group name) to an enterprise app, with an app
    role of its application or Default Access; assigning again changes the role."""

    def go(conn: Connection) -> Any:
        t = _tenant(conn, tenant)
        sp = _sp(conn, t, app_id, sp_id)
        if remove:
            return unassign(conn, t.id, sp.id, principal)
        return assign_role(conn, t.id, sp, principal, role)

    _out({"assignment": _run(_engine(data_dir), go), "removed": remove})


@app.command("audit")
def audit_cmd(
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    activity: str | None = None,
    top: int = typer.Option(20),
) -> None:
    """Show directory audit records, newest first."""
    with _engine(data_dir).connect() as conn:
        stmt = select(directory_audits).where(
            directory_audits.c.tenant_id == _tenant(conn, tenant).id
        )
        if activity:
            stmt = stmt.where(directory_audits.c.activity_display_name == activity)
        rows = conn.execute(stmt.order_by(directory_audits.c.activity_date_time.desc()).limit(top))
        _out([r.body for r in rows])


@app.command("provisioning-log")
def provisioning_log_cmd(
    data_dir: Path = DATA_DIR,
    tenant: str | None = TENANT,
    job: str | None = None,
    top: int = typer.Option(20),
) -> None:
    """Show provisioning log entries, newest first."""
    with _engine(data_dir).connect() as conn:
        stmt = select(provisioning_logs).where(
            provisioning_logs.c.tenant_id == _tenant(conn, tenant).id
        )
        if job:
            stmt = stmt.where(provisioning_logs.c.job_id == job)
        rows = conn.execute(stmt.order_by(provisioning_logs.c.activity_date_time.desc()).limit(top))
        _out([r.body for r in rows])


@jobs_app.command("list")
def jobs_list(data_dir: Path = DATA_DIR, tenant: str | None = TENANT) -> None:
    with _engine(data_dir).connect() as conn:
        rows = conn.execute(
            select(sync_jobs).where(sync_jobs.c.tenant_id == _tenant(conn, tenant).id)
        )
        _out(
            [
                {"servicePrincipalId": r.sp_id, **jobs.job_to_graph(r, DEFAULT_CYCLE_SECONDS)}
                for r in rows
            ]
        )


def _job_action(data_dir: Path, job_id: str, action: str, reset_scope: str | None = None) -> None:
    def go(conn: Connection) -> None:
        row = conn.execute(select(sync_jobs).where(sync_jobs.c.id == job_id)).first()
        if row is None:
            raise DirectoryError(f"Job '{job_id}' not found.")
        tenant = require_tenant(conn, row.tenant_id)
        initiator = audit.admin_initiator(tenant)
        if action == "start":
            jobs.start(conn, row, initiator)
        elif action == "pause":
            jobs.pause(conn, row, initiator)
        else:
            jobs.restart(conn, row, reset_scope, initiator)

    _run(_engine(data_dir), go)
    _out({"job": job_id, "action": action})


@jobs_app.command("start")
def jobs_start(job_id: str, data_dir: Path = DATA_DIR) -> None:
    _job_action(data_dir, job_id, "start")


@jobs_app.command("pause")
def jobs_pause(job_id: str, data_dir: Path = DATA_DIR) -> None:
    _job_action(data_dir, job_id, "pause")


@jobs_app.command("restart")
def jobs_restart(
    job_id: str,
    data_dir: Path = DATA_DIR,
    reset_scope: str = typer.Option("Full", help="e.g. 'Watermark, Escrows'"),
) -> None:
    _job_action(data_dir, job_id, "restart", reset_scope)


@faults_app.command("set")
def faults_set(
    data_dir: Path = DATA_DIR,
    tenant: str | None = typer.Option(
        None, "--tenant", help="Tenant id/domain; default: every tenant."
    ),
    throttle: int = typer.Option(0, help="Answer the next N calls with 429."),
    retry_after: int = typer.Option(1, help="Retry-After seconds for 429."),
    latency_ms: int = typer.Option(0, help="Added latency per call."),
    error_rate: float = typer.Option(0.0, help="Fraction of calls failing (0-1)."),
    errors: int = typer.Option(0, help="Fail the next N calls."),
    error_status: int = typer.Option(503, help="Status for injected errors."),
) -> None:
    def go(conn: Connection) -> Any:
        scope = require_tenant(conn, tenant).id if tenant else faults.GLOBAL
        return faults.set_fault(
            conn,
            scope,
            throttle_remaining=throttle,
            retry_after=retry_after,
            latency_ms=latency_ms,
            error_rate=error_rate,
            error_remaining=errors,
            error_status=error_status,
        )

    _out(_run(_engine(data_dir), go))


@faults_app.command("clear")
def faults_clear(data_dir: Path = DATA_DIR) -> None:
    _run(_engine(data_dir), lambda c: faults.clear(c))
    _out({})


@faults_app.command("show")
def faults_show(data_dir: Path = DATA_DIR) -> None:
    with _engine(data_dir).connect() as conn:
        _out(faults.describe(conn))
