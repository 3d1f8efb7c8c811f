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
import uuid
from functools import cache
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from adminaccess.models import System
from adminaccess.services import system_check_token

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


class SystemBasicAuthentication(BaseAuthentication):
    def authenticate(self, request):
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
        system = System.objects.select_related("organisation").filter(system_id=system_uuid).first()
        if system is None or not system_check_token(system=system, token=token):
            raise exceptions.AuthenticationFailed("Unknown system or wrong API token.")
        check_system_may_call(system, request)
        return SystemPrincipal(system), system

    def authenticate_header(self, request) -> str:
        return 'Basic realm="digitalpost"'


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
