"""How a sender or recipient system proves who it is to the REST API.

``Authorization: Basic base64(<systemId>:<apiToken>)``, plus, where the system has them, a
registered client certificate (mutual TLS ends at the reverse proxy, which passes the verified
certificate in a header only a trusted proxy may set) and an allowed-IP list. A wrong or
missing credential is 401; a known system that may not call now (deactivated, certificate
expired or not presented, address not allowed) is 403.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import logging
import threading
import uuid
from dataclasses import dataclass
from functools import cache
from typing import ClassVar
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from adminaccess.models import System
from adminaccess.services import system_check_token
from digitalpost.prepared import execute_prepared

log = logging.getLogger(__name__)


class SystemNotAllowed(exceptions.PermissionDenied):
    default_code = "SYSTEM_NOT_ALLOWED"


class SystemPrincipal:
    """``request.user`` for an API call: the calling system. Never a person."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, system: System) -> None:
        self.system = system

    def __str__(self) -> str:
        return f"system {self.system.system_id}"


class CredentialsChanged(Exception):
    """A cached system's rows changed after its credentials were last checked: the request
    must be authenticated afresh (see :class:`UncheckedVersion`)."""


@dataclass(frozen=True)
class UncheckedVersion:
    """A system taken from the cache of verified credentials without checking that its rows
    are unchanged; the caller checks within a query it runs anyway (the send path does,
    in the statement that stores the message: ``SQL`` and ``params`` are that check) or
    by :meth:`check`, and in either case before it answers or stores anything."""

    #: A condition true only while the system's and its organisation's rows are unchanged,
    #: with :attr:`params` (set below, once VerifiedSystems is defined).
    SQL: ClassVar[str]

    key: bytes
    system_pk: int
    version: str

    @property
    def params(self) -> list:
        return [self.system_pk, self.version]

    def check(self) -> None:
        """Raise :class:`CredentialsChanged` (and forget the entry) if the rows changed."""
        if verified_systems.version_of(self.system_pk) != self.version:
            self.changed()

    def changed(self) -> None:
        verified_systems.forget(self.key)
        raise CredentialsChanged


class SystemBasicAuthentication(BaseAuthentication):
    def authenticate(self, request):
        system, _ = self._authenticate(request, defer_check=False) or (None, None)
        return None if system is None else (SystemPrincipal(system), system)

    def authenticate_deferring_check(self, request) -> tuple[System, UncheckedVersion | None] | None:
        """:meth:`authenticate`, except that a system found in the cache comes with an
        :class:`UncheckedVersion` the caller must check, saving a query of its own. Any
        refusal (an exception) is to be taken as "authenticate normally": it may come from
        a cache entry that is out of date."""
        return self._authenticate(request, defer_check=True)

    def _authenticate(self, request, *, defer_check: bool):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            system_id, _, token = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
            system_uuid = uuid.UUID(system_id)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise exceptions.AuthenticationFailed(
                "The Basic credentials are not systemId:apiToken."
            ) from None
        key = hashlib.sha256(header.encode()).digest()
        unchecked = None
        if defer_check and (entry := verified_systems.peek(key)) is not None:
            system, version = entry
            unchecked = UncheckedVersion(key, system.pk, version)
        else:
            system = verified_systems.get(key)
        if system is None:
            system = System.objects.select_related("organisation").filter(system_id=system_uuid).first()
            if system is None or not system_check_token(system=system, token=token):
                raise exceptions.AuthenticationFailed("Unknown system or wrong API token.")
            verified_systems.put(key, system)
        check_system_may_call(system, request)
        return system, unchecked

    def authenticate_header(self, request) -> str:
        return 'Basic realm="digitalpost"'


class VerifiedSystems:
    """Systems whose credentials this process has checked, by the Authorization header.

    Loading a system with its organisation through the ORM is about 1 ms of CPU, a large
    share of a single send. Here a header that was verified before costs one small query
    instead, or none (see :class:`UncheckedVersion`): the row versions (``xmin``, ``ctid``)
    of the system and its organisation, which change with every UPDATE of either row. So a
    rotated token, a deactivated system, a new allowed-IP list or certificate, or a change
    to the organisation is seen by the very next request in every process, exactly as
    without the cache; an unchanged row costs nothing more (the query is prepared once per
    connection: digitalpost/prepared.py). Keys are SHA-256 digests of the header, never the
    token. PostgreSQL only (row versions); elsewhere every request loads the system as
    before. At most ``size`` entries; the oldest go first.
    """

    VERSION_SQL = (
        "SELECT s.xmin::text || s.ctid::text || o.xmin::text || o.ctid::text"
        " FROM adminaccess_system s JOIN rights_organisation o ON o.id = s.organisation_id"
        " WHERE s.id = %s"
    )

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: dict[bytes, tuple[System, str]] = {}
        self._lock = threading.Lock()  # gthread workers share the cache between threads

    def get(self, key: bytes) -> System | None:
        """The system cached for ``key`` if its rows are unchanged (one query), else None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        system, version = entry
        if self._version(system) != version:
            self.forget(key)
            return None
        return system

    def peek(self, key: bytes) -> tuple[System, str] | None:
        """The system cached for ``key`` and the row version it was verified at, unchecked."""
        return self._entries.get(key)

    def put(self, key: bytes, system: System) -> None:
        version = self._version(system)
        if version is None:
            return
        with self._lock:
            while len(self._entries) >= self.size:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (system, version)

    def forget(self, key: bytes) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _version(self, system: System) -> str | None:
        return self.version_of(system.pk)

    def version_of(self, system_pk: int) -> str | None:
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            execute_prepared(cursor, self.VERSION_SQL, [system_pk])
            row = cursor.fetchone()
        return row[0] if row else None


verified_systems = VerifiedSystems()
UncheckedVersion.SQL = f"({VerifiedSystems.VERSION_SQL}) = %s"


def check_system_may_call(system: System, request) -> None:
    if not system.is_active:
        raise SystemNotAllowed("The system is deactivated.")
    now = timezone.now()
    if system.certificate_not_after and system.certificate_not_after <= now:
        raise SystemNotAllowed("The system's registered certificate has expired.")
    client = client_address(request)
    if system.allowed_ips and not _address_allowed(client, tuple(system.allowed_ips)):
        raise SystemNotAllowed(f"Calls from {client} are not allowed for this system.")
    if system.certificate_fingerprint:
        presented = presented_certificate_fingerprint(request)
        if presented is None:
            raise SystemNotAllowed("This system must present its registered client certificate.")
        if presented != system.certificate_fingerprint.replace(":", "").lower():
            raise SystemNotAllowed("The client certificate is not the one registered for this system.")


def client_address(request) -> str:
    """The caller's address: the peer, or what a trusted proxy says the peer was."""
    peer = request.META.get("REMOTE_ADDR", "")
    if _from_trusted_proxy(peer):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            # The proxy appends the address it saw; earlier entries are the client's to invent.
            return forwarded.split(",")[-1].strip()
    return peer


def presented_certificate_fingerprint(request) -> str | None:
    """SHA-256 of the client certificate a trusted proxy passed on, or None."""
    if not _from_trusted_proxy(request.META.get("REMOTE_ADDR", "")):
        return None
    header = "HTTP_" + settings.DIGITALPOST_CLIENT_CERT_HEADER.upper().replace("-", "_")
    value = request.META.get(header, "")
    if not value:
        return None
    pem = unquote(value).encode()
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return None
    return hashlib.sha256(certificate.public_bytes(encoding=Encoding.DER)).hexdigest()


def _from_trusted_proxy(peer: str) -> bool:
    return bool(peer) and _address_allowed(peer, tuple(settings.DIGITALPOST_TRUSTED_PROXIES))


@cache
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            # A bad entry allows nothing; it must not turn every call into a server error.
            log.warning("Ignoring malformed CIDR %r in an allowed-address list", cidr)
    return tuple(networks)


def _address_allowed(address: str, cidrs: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        # A dual-stack server reports IPv4 callers as ::ffff:a.b.c.d.
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(cidrs))
