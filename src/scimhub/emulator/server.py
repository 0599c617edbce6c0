"""Running the emulator: TLS files, the info file clients read, and uvicorn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import select

from .app_roles import roles_of
from .apps import console_secret, integration_secret
from .certs import TlsFiles
from .constants import (
    CONSOLE_APP_ID,
    CONSOLE_APP_NAME,
    DEFAULT_ADMIN_PASSWORD,
    INTEGRATION_APP_ID,
    INTEGRATION_APP_NAME,
    INTEGRATION_APP_ROLES,
    PROVISIONING_APP_NAME,
    PROVISIONING_TEMPLATE_ID,
    PUBLISHER_TENANT_ID,
    SYNC_TEMPLATE_ID,
)
from .context import Emulator
from .passwords import check_password
from .redirect_uris import list_uris
from .schema import app_secrets, tenants


def info(emu: Emulator, tls: TlsFiles) -> dict[str, Any]:
    """What a client needs to talk to this emulator (written by --info-json)."""
    with emu.engine.connect() as conn:
        rows = conn.execute(select(tenants).order_by(tenants.c.created_at)).all()
        uris = list_uris(conn, INTEGRATION_APP_ID)
        console_uris = list_uris(conn, CONSOLE_APP_ID)
        console_roles = {r.value: r.id for r in roles_of(conn, CONSOLE_APP_ID)}
        secret_end = (
            conn.execute(
                select(app_secrets.c.end_date_time)
                .where(app_secrets.c.app_id == INTEGRATION_APP_ID)
                .order_by(app_secrets.c.start_date_time)
            )
            .scalars()
            .first()
        )

    def tenant(t: Any) -> dict[str, Any]:
        out = {
            "id": t.id,
            "domain": t.domain,
            "display_name": t.display_name,
            "admin_login": t.admin_login,
        }
        if check_password(DEFAULT_ADMIN_PASSWORD, t.admin_password_hash):
            out["admin_password"] = DEFAULT_ADMIN_PASSWORD
        return out

    base = emu.base_url
    return {
        "base_url": base,
        "graph_url": f"{base}/v1.0",
        "ca_cert": str(tls.ca_cert.resolve()),
        "data_dir": str(emu.data_dir.resolve()),
        "tenants": [tenant(t) for t in rows if not t.is_publisher],
        "publisher_tenant": next(tenant(t) for t in rows if t.id == PUBLISHER_TENANT_ID),
        "integration_app": {
            "client_id": INTEGRATION_APP_ID,
            "client_secret": integration_secret(emu.data_dir),
            "client_secret_expires": secret_end,
            "display_name": INTEGRATION_APP_NAME,
            "graph_roles": list(INTEGRATION_APP_ROLES),
            "admin_consent_url": f"{base}/common/adminconsent?client_id={INTEGRATION_APP_ID}",
            "redirect_uris": uris,
        },
        "console_app": {
            "client_id": CONSOLE_APP_ID,
            "client_secret": console_secret(emu.data_dir),
            "display_name": CONSOLE_APP_NAME,
            "app_roles": console_roles,
            "admin_consent_url": f"{base}/common/adminconsent?client_id={CONSOLE_APP_ID}",
            "redirect_uris": console_uris,
        },
        "provisioning_app": {
            "application_template_id": PROVISIONING_TEMPLATE_ID,
            "display_name": PROVISIONING_APP_NAME,
            "synchronization_template_id": SYNC_TEMPLATE_ID,
        },
        "fault_endpoint": f"{base}/_emulator/faults",
        "tenant_view": f"{base}/_emulator/tenants",
    }


def write_info(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    path.chmod(0o600)  # it holds the integration app's client secret


def uvicorn_config(app: Any, host: str, port: int, tls: TlsFiles) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls.server_cert),
        ssl_keyfile=str(tls.server_key),
        log_level="warning",
        ws="none",
        access_log=False,
        lifespan="on",
    )
