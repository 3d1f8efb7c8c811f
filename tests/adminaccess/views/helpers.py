"""Test helpers for the Administrativ Adgang pages: staff members and self-signed certificates."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rights.models import StaffRole
from tests.factories import PersonFactory


def make_staff(organisation, *roles, name: str = "Staff member"):
    """A person with a login holding ``roles`` in ``organisation``."""
    person = PersonFactory(name=name)
    for role in roles:
        StaffRole.objects.create(user=person.user, organisation=organisation, role=role)
    return person


def make_certificate(
    *,
    not_after: datetime | None = None,
    days: int = 365,
    common_name: str = "ESDH system",
    serial: int = 0xC0FFEE,
):
    """A self-signed certificate and its key; valid from yesterday until ``not_after``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    not_after = not_after or now + timedelta(days=days)
    not_before = min(now - timedelta(days=1), not_after - timedelta(days=1))
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Kommune"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def pem(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def der(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def key_der(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def png_bytes(width: int = 120, height: int = 60, fmt: str = "PNG") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (0, 90, 160)).save(out, format=fmt)
    return out.getvalue()
