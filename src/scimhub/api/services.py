"""The hub's services, built once per process from the settings and shared by the SCIM API,
the integration API and the console."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings
from ..delivery.endpoints import WebhookService
from ..directory.admins import Admins
from ..directory.audit import Audit
from ..directory.current import Current
from ..directory.custom_attributes import CustomAttributes
from ..directory.deletion_brake import DeletionBrake
from ..directory.events import Events
from ..directory.groups import Groups
from ..directory.health import Health
from ..directory.imports import Imports
from ..directory.instances import Instances
from ..directory.ldap_sources import LdapSources
from ..directory.links import Links
from ..directory.org_export import OrgExport
from ..directory.org_removal import OrgRemoval
from ..directory.orgs import Orgs
from ..directory.provenance import Provenances
from ..directory.recycle_bin import RecycleBin
from ..directory.removal_bursts import RemovalBursts
from ..directory.request_log import RequestLog
from ..directory.sessions import Sessions
from ..directory.setup_links import SetupLinks
from ..directory.signin_flows import SignInFlows
from ..directory.signin_settings import SignInSettings
from ..directory.tokens import Tokens
from ..directory.users import Users
from ..integrations.entra.preview import Previewer
from ..integrations.entra.pull import PullSync
from ..integrations.entra.service import EntraIntegration
from ..integrations.ldap.rounds import LdapSync
from ..integrations.ldap.service import LdapService
from ..store import migrate
from ..store.engine import Database
from .offload import Offload


@dataclass(frozen=True, slots=True)
class Hub:
    settings: Settings
    db: Database
    orgs: Orgs
    tokens: Tokens
    users: Users
    groups: Groups
    requests: RequestLog
    audit: Audit
    admins: Admins
    sessions: Sessions
    signin: SignInSettings  # each org's sign-in with Microsoft and local passwords
    instances: Instances
    entra: EntraIntegration
    pull: PullSync
    preview: Previewer
    health: Health
    offload: Offload
    events: Events
    webhooks: WebhookService
    recycle_bin: RecycleBin
    attributes: CustomAttributes
    brake: DeletionBrake
    bursts: RemovalBursts
    provenance: Provenances
    setup_links: SetupLinks
    removal: OrgRemoval
    export: OrgExport
    ldap: LdapService  # the organisation's AD / LDAP source (docs/ldap.md)

    @classmethod
    def open(cls, settings: Settings) -> Hub:
        """Connect to the database (creating the data directory) and bring its schema up."""
        if not settings.database_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database.connect(settings.effective_database_url)
        migrate.upgrade(db)
        orgs, audit, instances = Orgs(db), Audit(db), Instances(db)
        events = Events(db)
        tokens = Tokens(db, cache_seconds=settings.token_cache_seconds)
        admins, sessions = Admins(db), Sessions(db)
        signin = SignInSettings(orgs, audit, end_password_sessions=sessions.end_password_sessions)
        entra = EntraIntegration.open(
            settings,
            orgs=orgs,
            tokens=tokens,
            instances=instances,
            audit=audit,
            admins=admins,
            signin_settings=signin,
            signin_flows=SignInFlows(db),
        )
        attributes = CustomAttributes(db, orgs, audit, cache_seconds=settings.schema_cache_seconds)
        users = Users(db, attributes, max_values=settings.max_multi_values)
        groups = Groups(db, attributes)
        links = Links(db)
        recycle_bin = RecycleBin(db, audit, attributes)
        ldap_sources = LdapSources(db)
        brake = DeletionBrake(
            db, orgs, instances, users, groups, links, audit, ldap_sources=ldap_sources
        )
        current = Current(db)
        pull = PullSync(
            entra.connection,
            instances=instances,
            users=users,
            groups=groups,
            links=links,
            imports=Imports(db, attributes),
            brake=brake,
            current=current,
            page_size=settings.pull_page_size,
            base_url=settings.public_url,
        )
        webhooks = WebhookService.open(settings, db, audit, events)
        ldap = LdapService(
            LdapSync(
                pull.engine,
                sources=ldap_sources,
                attributes=attributes,
                secrets=webhooks.box,  # SCIMHUB_SECRET_KEY seals bind passwords too
                base_url=settings.public_url,
            ),
            instances=instances,
            audit=audit,
            brake=brake,
        )
        return cls(
            settings,
            db,
            orgs,
            tokens,
            users,
            groups,
            RequestLog(db),
            audit,
            admins,
            sessions,
            signin,
            instances,
            entra,
            pull,
            Previewer(
                entra.connection,
                instances=instances,
                links=links,
                current=current,
                attributes=attributes,
                brake=brake,
            ),
            Health(
                db,
                in_process=settings.in_process_scheduler,
                worker_stalled_seconds=settings.worker_stalled_seconds,
            ),
            Offload(settings.offload_threads),
            events,
            webhooks,
            recycle_bin,
            attributes,
            brake,
            RemovalBursts(db, brake, users, recycle_bin, audit),
            Provenances(db),
            SetupLinks(db, audit),
            OrgRemoval(db),
            OrgExport(db),
            ldap,
        )

    def close(self) -> None:
        self.requests.flush()
        self.entra.close()
        self.db.dispose()
