"""A real directory server for the LDAP tests: Debian's OpenLDAP `slapd` on free loopback
ports, an mdb database in a temporary directory, no debconf. Two suffixes: an OpenLDAP one
(inetOrgPerson, groupOfNames, entryUUID/entryCSN kept by slapd) and an Active Directory
one (AD's attributes from `ad-sim.schema`; the tests write uSNChanged, objectGUID,
userAccountControl and tombstones as a domain controller would). With `tls=True` it also
listens on ldaps:// and offers StartTLS, with a certificate from a CA made for the run.

`slapd_available()` says whether the binary is there; the tests skip cleanly without it
(`pytest -m ldap`; CI installs it: `.ci/run`)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ldap3 import MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, Connection, Server
from ldap3.core.exceptions import LDAPNoSuchObjectResult

SLAPD = Path("/usr/sbin/slapd")
SCHEMA_DIR = Path("/etc/ldap/schema")
HERE = Path(__file__).parent
OPENLDAP_SUFFIX = "dc=example,dc=com"
AD_SUFFIX = "dc=corp,dc=example"
LIMITED_SUFFIX = "dc=limited,dc=example"  # a database with a size limit of 3
ADMIN_PASSWORD = "secret"
BIND_DN = "cn=sync,dc=example,dc=com"  # the hub's read-only account
BIND_PASSWORD = "sync-password"


def slapd_available() -> bool:
    return SLAPD.exists() and (SCHEMA_DIR / "inetorgperson.schema").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Tls:
    ca_pem: str
    cert: Path
    key: Path
    ca_file: Path
    subject: str
    not_after: datetime


def make_tls(directory: Path, *, expired: bool = False, host: str = "127.0.0.1") -> Tls:
    """A CA and a server certificate for `host` (and localhost), signed by it."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scimhub test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=2))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"ldap.{host}")])
    not_after = now - timedelta(days=1) if expired else now + timedelta(days=20)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=2))
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(host))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
    (directory / "ca.pem").write_text(ca_pem)
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Tls(
        ca_pem,
        directory / "cert.pem",
        directory / "key.pem",
        directory / "ca.pem",
        subject.rfc4514_string(),
        not_after.replace(microsecond=0),
    )


def _conf(root: Path, tls: Tls | None) -> str:
    schemas = ["core", "cosine", "inetorgperson", "nis"]
    lines = [f"include {SCHEMA_DIR / s}.schema" for s in schemas]
    lines += [
        f"include {HERE / 'ad-sim.schema'}",
        "modulepath /usr/lib/ldap",
        "moduleload back_mdb",
        f"pidfile {root / 'slapd.pid'}",
        f"argsfile {root / 'slapd.args'}",
        "loglevel none",
    ]
    if tls is not None:
        lines += [
            f"TLSCACertificateFile {tls.ca_file}",
            f"TLSCertificateFile {tls.cert}",
            f"TLSCertificateKeyFile {tls.key}",
        ]
    for suffix, limit in ((OPENLDAP_SUFFIX, None), (AD_SUFFIX, None), (LIMITED_SUFFIX, 3)):
        db = root / suffix.replace(",", "_").replace("=", "-")
        db.mkdir()
        lines += [
            "database mdb",
            f'suffix "{suffix}"',
            f'rootdn "cn=admin,{suffix}"',
            f"rootpw {ADMIN_PASSWORD}",
            f"directory {db}",
            "maxsize 2147483648",
            "index objectClass eq",
            "index entryUUID,entryCSN eq",
            "index uid,cn,member eq",
            "index uSNChanged eq",
        ]
        if limit:
            lines.append(f"limits * size.soft={limit} size.hard={limit} size.prtotal={limit}")
        else:  # slapd answers 500 entries by default, paged or not: the hub's account reads all
            lines.append(f'limits dn.exact="{BIND_DN}" size=unlimited')
        # The hub's account (in the first database) reads everything; anyone may bind.
        lines += [
            f'access to * by dn.exact="{BIND_DN}" read by self read by anonymous auth by * none'
        ]
    return "\n".join(lines) + "\n"


def _base_ldif(suffix: str) -> str:
    dc = suffix.split(",")[0].split("=")[1]
    parts = [f"dn: {suffix}\nobjectClass: dcObject\nobjectClass: organization\ndc: {dc}\no: {dc}\n"]
    if suffix == OPENLDAP_SUFFIX:
        parts.append(
            f"dn: {BIND_DN}\nobjectClass: simpleSecurityObject\nobjectClass: organizationalRole\n"
            f"cn: sync\nuserPassword: {BIND_PASSWORD}\n"
        )
    for ou in ("people", "groups"):
        parts.append(f"dn: ou={ou},{suffix}\nobjectClass: organizationalUnit\nou: {ou}\n")
    return "\n".join(parts)


@dataclass
class Slapd:
    root: Path
    port: int
    tls: Tls | None = None
    tls_port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    usn: int = 1000  # the AD simulation's update sequence number
    connections: dict[str, Connection] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        assert self.tls_port is not None
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @classmethod
    def start(
        cls, root: Path, *, tls: Tls | None = None, seed_ldif: list[tuple[str, Path]] | None = None
    ) -> Slapd:
        """`seed_ldif`: (suffix, LDIF file) loaded with slapadd before the server starts."""
        root.mkdir(parents=True, exist_ok=True)
        conf = root / "slapd.conf"
        conf.write_text(_conf(root, tls))
        loads = []
        for suffix in (OPENLDAP_SUFFIX, AD_SUFFIX, LIMITED_SUFFIX):
            base = root / f"base-{suffix.split(',')[0].split('=')[1]}.ldif"
            base.write_text(_base_ldif(suffix))
            loads.append((suffix, base))
        if seed_ldif is not None:
            loads += seed_ldif
        for suffix, ldif in loads:
            subprocess.run(
                ["/usr/sbin/slapadd", "-q", "-f", str(conf), "-l", str(ldif), "-b", suffix],
                check=True,
                capture_output=True,
            )
        server = cls(root, free_port(), tls, free_port() if tls else None)
        urls = f"ldap://127.0.0.1:{server.port}/"
        if tls:
            urls += f" ldaps://127.0.0.1:{server.tls_port}/"
        server.process = subprocess.Popen(
            [str(SLAPD), "-f", str(conf), "-h", urls, "-d", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                    return server
            except OSError:
                if server.process.poll() is not None:
                    raise RuntimeError("slapd exited at start") from None
                time.sleep(0.05)
        server.stop()
        raise RuntimeError("slapd did not start")

    def stop(self) -> None:
        for conn in self.connections.values():
            conn.unbind()
        self.connections.clear()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    # -- writing the directory, as its admin ----------------------------------------------

    def admin(self, suffix: str = OPENLDAP_SUFFIX) -> Connection:
        if suffix not in self.connections:
            conn = Connection(
                Server("127.0.0.1", port=self.port),
                user=f"cn=admin,{suffix}",
                password=ADMIN_PASSWORD,
                auto_bind=True,
                raise_exceptions=True,
            )
            self.connections[suffix] = conn
        return self.connections[suffix]

    def add(self, dn: str, attributes: dict[str, Any], suffix: str = OPENLDAP_SUFFIX) -> None:
        classes = attributes.pop("objectClass")
        self.admin(suffix).add(dn, classes, attributes)  # type: ignore[no-untyped-call]

    def modify(self, dn: str, changes: dict[str, Any], suffix: str = OPENLDAP_SUFFIX) -> None:
        """Replace attributes (None deletes one); on the AD suffix uSNChanged moves on."""
        ops: dict[str, Any] = {
            k: [(MODIFY_DELETE, [])]
            if v is None
            else [(MODIFY_REPLACE, v if isinstance(v, list) else [v])]
            for k, v in changes.items()
        }
        if suffix == AD_SUFFIX:
            ops["uSNChanged"] = [(MODIFY_REPLACE, [str(self.next_usn())])]
        self.admin(suffix).modify(dn, ops)  # type: ignore[no-untyped-call]

    def add_member(self, group: str, member: str, suffix: str = OPENLDAP_SUFFIX) -> None:
        ops: dict[str, Any] = {"member": [(MODIFY_ADD, [member])]}
        if suffix == AD_SUFFIX:
            ops["uSNChanged"] = [(MODIFY_REPLACE, [str(self.next_usn())])]
        self.admin(suffix).modify(group, ops)  # type: ignore[no-untyped-call]

    def delete(self, dn: str, suffix: str = OPENLDAP_SUFFIX) -> None:
        self.admin(suffix).delete(dn)  # type: ignore[no-untyped-call]

    def rename(self, dn: str, new_rdn: str, suffix: str = OPENLDAP_SUFFIX) -> None:
        self.admin(suffix).modify_dn(dn, new_rdn)

    def next_usn(self) -> int:
        self.usn += 1
        return self.usn

    # -- entries as tests write them ----------------------------------------------------

    def person(self, uid: str, **extra: Any) -> str:
        """An inetOrgPerson under ou=people of the OpenLDAP suffix; returns its DN."""
        dn = f"uid={uid},ou=people,{OPENLDAP_SUFFIX}"
        attrs = {
            "objectClass": ["inetOrgPerson"],
            "uid": uid,
            "cn": extra.pop("cn", uid.title()),
            "sn": extra.pop("sn", uid.title()),
            "mail": extra.pop("mail", f"{uid}@example.com"),
            **extra,
        }
        self.add(dn, attrs)
        return dn

    def group(self, cn: str, members: list[str]) -> str:
        dn = f"cn={cn},ou=groups,{OPENLDAP_SUFFIX}"
        self.add(dn, {"objectClass": ["groupOfNames"], "cn": cn, "member": members or [""]})
        return dn

    def ad_user(self, sam: str, *, disabled: bool = False, **extra: Any) -> tuple[str, uuid.UUID]:
        """An AD user (class user, objectCategory person) with a fresh objectGUID."""
        guid = uuid.uuid4()
        dn = f"cn={sam},ou=people,{AD_SUFFIX}"
        attrs = {
            "objectClass": ["user"],
            "cn": sam,
            "sn": extra.pop("sn", sam.title()),
            "sAMAccountName": sam,
            "userPrincipalName": f"{sam}@corp.example",
            "objectGUID": guid.bytes_le,
            "objectCategory": "person",
            "uSNCreated": str(self.next_usn()),
            "uSNChanged": str(self.usn),
            "userAccountControl": str(0x200 | (0x2 if disabled else 0)),
            **extra,
        }
        self.add(dn, attrs, AD_SUFFIX)
        return dn, guid

    def ad_group(self, cn: str, members: list[str]) -> tuple[str, uuid.UUID]:
        guid = uuid.uuid4()
        dn = f"cn={cn},ou=groups,{AD_SUFFIX}"
        attrs = {
            "objectClass": ["group"],
            "cn": cn,
            "objectGUID": guid.bytes_le,
            "groupType": "-2147483646",
            "uSNCreated": str(self.next_usn()),
            "uSNChanged": str(self.usn),
            **({"member": members} if members else {}),
        }
        self.add(dn, attrs, AD_SUFFIX)
        return dn, guid

    def ad_tombstone(self, dn: str, guid: uuid.UUID, kind: str = "user") -> None:
        """Delete an AD object as a domain controller does: the entry goes, a tombstone
        with its objectGUID and isDeleted=TRUE appears under CN=Deleted Objects."""
        self.delete(dn, AD_SUFFIX)
        container = f"cn=Deleted Objects,{AD_SUFFIX}"
        try:
            self.admin(AD_SUFFIX).search(container, "(objectClass=*)", "BASE")
        except LDAPNoSuchObjectResult:
            self.add(
                container,
                {"objectClass": ["organizationalRole"], "cn": "Deleted Objects"},
                AD_SUFFIX,
            )
        name = f"{dn.split(',')[0].split('=')[1]}\\0ADEL:{guid}"
        self.add(
            f"cn={name},{container}",
            {
                "objectClass": [kind],
                "cn": name,
                "sn": "deleted",
                "objectGUID": guid.bytes_le,
                "isDeleted": "TRUE",
                "uSNChanged": str(self.next_usn()),
            }
            if kind == "user"
            else {
                "objectClass": [kind],
                "cn": name,
                "objectGUID": guid.bytes_le,
                "isDeleted": "TRUE",
                "uSNChanged": str(self.next_usn()),
            },
            AD_SUFFIX,
        )


def cleanup(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)


os.environ.setdefault("LDAPNOINIT", "1")  # ldap3 ignores it; slapd's tools read ldap.conf
