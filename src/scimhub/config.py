"""Settings, read once from `SCIMHUB_*` environment variables (and CLI flags), then frozen."""

from __future__ import annotations

import ipaddress
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

ENTRA_LOGIN_URL = "https://login.microsoftonline.com"
ENTRA_GRAPH_URL = "https://graph.microsoft.com"
ENTRA_GRAPH_SCOPE = "https://graph.microsoft.com/.default"
ENTRA_APP_NAME = "scimhub Identity"


# What Starlette's TrustedHostMiddleware can match: a name, `*.domain`, an IP, or `*` (any).
_HOST_PATTERN = re.compile(r"\*|(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\]")
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_ANY_ADDRESS = ("", "0.0.0.0", "::")
MIN_METRICS_TOKEN = 16  # a scraper's token is a secret too: not a word one could guess


class ConfigError(ValueError):
    """A setting has a value scimhub cannot start with; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _fernet_keys(value: str) -> tuple[str, ...]:
    """SCIMHUB_SECRET_KEY: Fernet keys, comma-separated; the first encrypts, every one
    decrypts (so a new key can be put in front of the old one)."""
    keys = tuple(k.strip() for k in value.split(",") if k.strip())
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise ConfigError(
                "SCIMHUB_SECRET_KEY must be Fernet keys (32 bytes, url-safe base64; make one "
                'with `python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"`), comma-separated'
            ) from None
    return keys


def _date(env: Mapping[str, str], name: str) -> datetime | None:
    """A date (2027-03-31) or an ISO time; a date means its end, UTC."""
    raw = env.get(name)
    if not raw:
        return None
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time.max, UTC)
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a date like 2027-03-31, got {raw!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _tenant_ids(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of Entra tenant ids (GUIDs)."""
    values = tuple(v.strip().lower() for v in env.get(name, "").split(",") if v.strip())
    for value in values:
        try:
            uuid.UUID(value)
        except ValueError:
            raise ConfigError(f"{name} must list tenant ids (GUIDs), got {value!r}") from None
    return values


def url_host(host: str) -> str:
    """`host` as written in a URL or a Host header: an IPv6 address goes in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host.lower()


def _bound_hosts(host: str) -> tuple[str, ...]:
    """The Host a client of the bound address sends: that address, and the loopback names
    when it is loopback or every address (the machine itself reaches it through them)."""
    try:
        local = (
            host in _ANY_ADDRESS
            or host == "localhost"
            or ipaddress.ip_address(host.strip("[]")).is_loopback
        )
    except ValueError:  # a host name
        local = False
    own = (url_host(host),) if host else ()
    return (*own, *_LOOPBACK_HOSTS) if local else own


def _hosts(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(h.strip().lower() for h in env.get(name, "").split(",") if h.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path("data"))
    database_url: str = ""  # empty: SQLite file `scimhub.db` inside data_dir
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # base URL clients use; empty: taken from each (trusted) request
    # hosts requests may name besides the public URL's and the bound address (`trusted_hosts`)
    allowed_hosts: tuple[str, ...] = ()
    tracking_prefix: str = "SCIMHUB"
    max_page_size: int = 1000
    default_page_size: int = 100
    max_members_page_size: int = 500
    max_bulk_operations: int = 100
    max_payload_bytes: int = 1_048_576
    max_multi_values: int = 1000  # elements of one multi-valued attribute of a resource
    offload_threads: int = 4  # threads for CPU-heavy SCIM requests, off the event loop
    token_cache_seconds: int = 5
    schema_cache_seconds: int = 5
    pull_interval_seconds: int = 900  # scheduled pull-sync rounds; 0: only on demand
    pull_page_size: int = 999  # Graph delta page size (999 is Graph's largest)
    # Background work: "auto" runs it in the API process on SQLite and leaves it to
    # `scimhub worker` processes on PostgreSQL; "inprocess" or "worker" choose.
    scheduler: str = "auto"
    status_interval_seconds: int = 300  # polls of each push job's status; 0: never
    job_token_days: int = 180  # lifetime of the SCIM token an Entra job holds
    token_renew_days: int = 30  # renewed this long before it expires
    request_log_days: int = 30  # the provisioning log keeps this many days
    event_retention_days: int = 30  # change events kept for the events API; older: 410
    recycle_days: int = 30  # deleted users and groups stay restorable this long
    worker_concurrency: int = 4  # jobs one worker process runs at once
    worker_heartbeat_seconds: int = 10
    worker_stalled_seconds: int = 60  # a worker silent this long is dead: its jobs retried
    # Microsoft Entra ID. Defaults are the real cloud; the emulator's URL replaces both.
    entra_login_url: str = ENTRA_LOGIN_URL
    entra_graph_url: str = ENTRA_GRAPH_URL
    entra_graph_scope: str = ENTRA_GRAPH_SCOPE
    entra_client_id: str = ""  # the multi-tenant "scimhub Identity Integration" app
    entra_client_secret: str = field(default="", repr=False)
    # when that secret expires (Entra shows it with the secret); warned about 30 days ahead
    entra_client_secret_expires: datetime | None = None
    entra_ca_bundle: str = ""  # a CA file to trust (the emulator's self-signed CA)
    entra_app_template_id: str = ""  # application template of the "scimhub Identity" app
    entra_app_name: str = ENTRA_APP_NAME
    # The multi-tenant "scimhub Console" app administrators sign in to the console with
    # (its own registration: app roles for the console, no Graph permissions); unset: no
    # "Sign in with Microsoft".
    entra_signin_client_id: str = ""
    entra_signin_client_secret: str = field(default="", repr=False)
    # Entra tenants the operator allows to feed several organisations; any other tenant
    # connects to one organisation only.
    entra_shared_tenants: tuple[str, ...] = ()
    # Webhooks: receivers on loopback, private or link-local addresses (and plain http)
    # are refused unless this is on (development and tests only).
    webhook_allow_private: bool = False
    # Encrypts secrets kept in the database (webhook signing secrets): Fernet keys. Unset on
    # SQLite: a key file in the data directory; PostgreSQL (several processes) needs it.
    secret_key: str = field(default="", repr=False)
    # Observability (docs/operations.md): `/metrics` answers only scrapers that send this
    # token as a bearer token, and is 404 without it; the organisation as a metric label;
    # one log line per request and per background task, as JSON or readable text.
    metrics_token: str = field(default="", repr=False)
    metrics_per_org: bool = False
    log_format: str = "json"  # "json" | "text"
    # prometheus-client's PROMETHEUS_MULTIPROC_DIR: processes that share it share metrics
    metrics_dir: str = ""
    # Derived once (it is read on every request): the hosts requests may name; others are
    # refused, so no forged Host reaches a link the hub hands out. The public URL's host and
    # the bound address are always safe: a link to them leads back to this hub.
    trusted_hosts: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        public = urlsplit(self.public_url).hostname if self.public_url else None
        hosts = ((url_host(public),) if public else ()) + _bound_hosts(self.host)
        object.__setattr__(self, "trusted_hosts", tuple(dict.fromkeys(hosts + self.allowed_hosts)))

    @property
    def in_process_scheduler(self) -> bool:
        if self.scheduler == "auto":
            return not self.effective_database_url.startswith("postgresql")
        return self.scheduler == "inprocess"

    @property
    def secret_keys(self) -> tuple[str, ...]:
        return _fernet_keys(self.secret_key)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'scimhub.db').resolve()}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (default: the process environment), checked."""
        env = os.environ if env is None else env
        settings = cls(
            data_dir=Path(env.get("SCIMHUB_DATA_DIR") or "data"),
            database_url=env.get("SCIMHUB_DATABASE_URL", ""),
            host=env.get("SCIMHUB_HOST", "127.0.0.1"),
            port=_int(env, "SCIMHUB_PORT", 8000),
            public_url=env.get("SCIMHUB_PUBLIC_URL", "").rstrip("/"),
            allowed_hosts=_hosts(env, "SCIMHUB_ALLOWED_HOSTS"),
            tracking_prefix=env.get("SCIMHUB_TRACKING_PREFIX", "SCIMHUB"),
            max_page_size=_int(env, "SCIMHUB_MAX_PAGE_SIZE", 1000),
            max_bulk_operations=_int(env, "SCIMHUB_MAX_BULK_OPERATIONS", 100),
            max_payload_bytes=_int(env, "SCIMHUB_MAX_PAYLOAD_BYTES", 1_048_576, minimum=1024),
            max_multi_values=_int(env, "SCIMHUB_MAX_MULTI_VALUES", 1000),
            offload_threads=_int(env, "SCIMHUB_OFFLOAD_THREADS", 4),
            token_cache_seconds=_int(env, "SCIMHUB_TOKEN_CACHE_SECONDS", 5, minimum=0),
            schema_cache_seconds=_int(env, "SCIMHUB_SCHEMA_CACHE_SECONDS", 5, minimum=0),
            pull_interval_seconds=_int(env, "SCIMHUB_PULL_INTERVAL_SECONDS", 900, minimum=0),
            pull_page_size=_int(env, "SCIMHUB_PULL_PAGE_SIZE", 999),
            scheduler=env.get("SCIMHUB_SCHEDULER", "auto"),
            status_interval_seconds=_int(env, "SCIMHUB_STATUS_INTERVAL_SECONDS", 300, minimum=0),
            job_token_days=_int(env, "SCIMHUB_JOB_TOKEN_DAYS", 180, minimum=2),
            token_renew_days=_int(env, "SCIMHUB_TOKEN_RENEW_DAYS", 30),
            request_log_days=_int(env, "SCIMHUB_REQUEST_LOG_DAYS", 30),
            event_retention_days=_int(env, "SCIMHUB_EVENT_RETENTION_DAYS", 30),
            recycle_days=_int(env, "SCIMHUB_RECYCLE_DAYS", 30),
            worker_concurrency=_int(env, "SCIMHUB_WORKER_CONCURRENCY", 4),
            worker_heartbeat_seconds=_int(env, "SCIMHUB_WORKER_HEARTBEAT_SECONDS", 10),
            worker_stalled_seconds=_int(env, "SCIMHUB_WORKER_STALLED_SECONDS", 60),
            entra_login_url=env.get("SCIMHUB_ENTRA_LOGIN_URL", ENTRA_LOGIN_URL).rstrip("/"),
            entra_graph_url=env.get("SCIMHUB_ENTRA_GRAPH_URL", ENTRA_GRAPH_URL).rstrip("/"),
            entra_graph_scope=env.get("SCIMHUB_ENTRA_GRAPH_SCOPE", ENTRA_GRAPH_SCOPE),
            entra_client_id=env.get("SCIMHUB_ENTRA_CLIENT_ID", ""),
            entra_client_secret=env.get("SCIMHUB_ENTRA_CLIENT_SECRET", ""),
            entra_client_secret_expires=_date(env, "SCIMHUB_ENTRA_CLIENT_SECRET_EXPIRES"),
            entra_shared_tenants=_tenant_ids(env, "SCIMHUB_ENTRA_SHARED_TENANTS"),
            entra_ca_bundle=env.get("SCIMHUB_ENTRA_CA_BUNDLE", ""),
            entra_app_template_id=env.get("SCIMHUB_ENTRA_APP_TEMPLATE_ID", ""),
            entra_app_name=env.get("SCIMHUB_ENTRA_APP_NAME", ENTRA_APP_NAME),
            entra_signin_client_id=env.get("SCIMHUB_ENTRA_SIGNIN_CLIENT_ID", "").strip(),
            entra_signin_client_secret=env.get("SCIMHUB_ENTRA_SIGNIN_CLIENT_SECRET", ""),
            webhook_allow_private=_bool(env, "SCIMHUB_WEBHOOK_ALLOW_PRIVATE", False),
            secret_key=env.get("SCIMHUB_SECRET_KEY", ""),
            metrics_token=env.get("SCIMHUB_METRICS_TOKEN", "").strip(),
            metrics_per_org=_bool(env, "SCIMHUB_METRICS_PER_ORG", False),
            log_format=(env.get("SCIMHUB_LOG_FORMAT") or "json").strip().lower(),
            metrics_dir=env.get("PROMETHEUS_MULTIPROC_DIR", ""),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        url = self.database_url
        if url and not url.startswith(("sqlite", "postgresql")):
            raise ConfigError("SCIMHUB_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        if not self.tracking_prefix.isalnum():
            raise ConfigError("SCIMHUB_TRACKING_PREFIX must be letters and digits")
        for name in ("entra_login_url", "entra_graph_url"):
            if not getattr(self, name).startswith("https://"):
                raise ConfigError(f"SCIMHUB_{name.upper()} must be an https:// URL")
        if self.entra_ca_bundle and not Path(self.entra_ca_bundle).is_file():
            raise ConfigError("SCIMHUB_ENTRA_CA_BUNDLE must name an existing file")
        if bool(self.entra_signin_client_id) != bool(self.entra_signin_client_secret):
            raise ConfigError(
                "SCIMHUB_ENTRA_SIGNIN_CLIENT_ID and SCIMHUB_ENTRA_SIGNIN_CLIENT_SECRET "
                "go together: set both, or neither"
            )
        if self.scheduler not in ("auto", "inprocess", "worker"):
            raise ConfigError("SCIMHUB_SCHEDULER must be auto, inprocess or worker")
        if not 1 <= self.pull_page_size <= 999:
            raise ConfigError("SCIMHUB_PULL_PAGE_SIZE must be between 1 and 999")
        if self.token_renew_days >= self.job_token_days:
            raise ConfigError("SCIMHUB_TOKEN_RENEW_DAYS must be less than SCIMHUB_JOB_TOKEN_DAYS")
        if self.worker_stalled_seconds < 2 * self.worker_heartbeat_seconds:
            raise ConfigError(
                "SCIMHUB_WORKER_STALLED_SECONDS must be at least twice "
                "SCIMHUB_WORKER_HEARTBEAT_SECONDS"
            )
        for host in self.allowed_hosts:
            if not _HOST_PATTERN.fullmatch(host):
                raise ConfigError(
                    f"SCIMHUB_ALLOWED_HOSTS: {host!r} is not a host name, an IP "
                    "address, *.domain or *"
                )
        _fernet_keys(self.secret_key)
        if self.metrics_token and len(self.metrics_token) < MIN_METRICS_TOKEN:
            raise ConfigError(
                f"SCIMHUB_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN} characters "
                '(`python -c "import secrets; print(secrets.token_urlsafe(32))"`)'
            )
        if self.log_format not in ("json", "text"):
            raise ConfigError("SCIMHUB_LOG_FORMAT must be json or text")
        if self.metrics_dir and not Path(self.metrics_dir).is_dir():
            raise ConfigError("PROMETHEUS_MULTIPROC_DIR must name an existing directory")
        if self.default_page_size > self.max_page_size:
            raise ConfigError("default page size exceeds SCIMHUB_MAX_PAGE_SIZE")
