"""Reading a system's OCES/X.509 client certificate from an uploaded file.

A file is PEM or DER. What is kept is the certificate alone, re-encoded as PEM from the
parsed object, so nothing else the file held (a private key above all) is ever stored. The
fingerprint is SHA-256 over the DER encoding in lower-case hex without separators: exactly
what ``adminaccess.authentication.presented_certificate_fingerprint`` computes for the
certificate a trusted proxy passes on, so the two compare equal.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, load_der_private_key
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

#: No certificate is anywhere near this large; a bigger file is not one.
MAX_CERTIFICATE_BYTES = 64 * 1024

_PEM_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_PEM_CERTIFICATE = re.compile(rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----")


@dataclass(frozen=True)
class ParsedCertificate:
    pem: str
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    fingerprint: str  # SHA-256 of the DER encoding, lower-case hex


def format_fingerprint(fingerprint: str) -> str:
    """``ab12...`` as ``AB:12:...``, the way certificate tools show it."""
    plain = fingerprint.replace(":", "").upper()
    return ":".join(plain[i : i + 2] for i in range(0, len(plain), 2))


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def parse_certificate(data: bytes, *, now: datetime | None = None) -> ParsedCertificate:
    """Read one certificate from PEM or DER bytes; refuse anything else with a clear reason.

    Refused: an empty or oversized file, a file that holds a private key, anything that is not
    a certificate, and a certificate that has already expired.
    """
    if not data:
        raise ValidationError(_("The file is empty."), code="empty")
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise ValidationError(_("The file is too large to be a certificate."), code="too-large")
    if _holds_private_key(data):
        raise ValidationError(
            _(
                "The file contains a private key. Upload only the certificate, and keep the "
                "private key secret."
            ),
            code="private-key",
        )
    certificate = _load(data)
    now = now or timezone.now()
    not_after = certificate.not_valid_after_utc
    if not_after <= now:
        raise ValidationError(
            _("The certificate expired on %(date)s.") % {"date": not_after.strftime("%Y-%m-%d")},
            code="expired",
        )
    return ParsedCertificate(
        pem=certificate.public_bytes(Encoding.PEM).decode("ascii"),
        subject=certificate.subject.rfc4514_string()[:500],
        issuer=certificate.issuer.rfc4514_string()[:500],
        serial=format(certificate.serial_number, "X")[:100],
        not_before=certificate.not_valid_before_utc,
        not_after=not_after,
        fingerprint=certificate_fingerprint(certificate),
    )


def _holds_private_key(data: bytes) -> bool:
    if _PEM_PRIVATE_KEY.search(data):
        return True
    if _PEM_CERTIFICATE.search(data):
        return False
    # A DER file: a bare private key parses as one. (PKCS#12 bundles are not certificates and
    # fail below as malformed.)
    try:
        load_der_private_key(data, password=None)
    except TypeError:
        return True  # an encrypted key: still a key
    except Exception:  # any other failure (bad data, unknown algorithm) means "not a key"
        return False
    return True


def _load(data: bytes) -> x509.Certificate:
    try:
        if _PEM_CERTIFICATE.search(data):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise ValidationError(
            _("The file is not a readable X.509 certificate (PEM or DER)."), code="malformed"
        ) from None
