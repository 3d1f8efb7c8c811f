"""parse_certificate: PEM and DER read alike; expired, malformed and private-key files refused."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from django.core.exceptions import ValidationError
from django.utils import translation

from adminaccess.certificates import format_fingerprint, parse_certificate
from tests.adminaccess.views.helpers import der, key_der, key_pem, make_certificate, pem


@pytest.mark.parametrize("encode", [pem, der], ids=["pem", "der"])
def test_it_reads_subject_issuer_serial_expiry_and_fingerprint(encode):
    not_after = datetime(2031, 5, 17, 12, 0, tzinfo=UTC)
    certificate, _ = make_certificate(not_after=not_after, common_name="Sag og Dokument", serial=0xABC123)

    parsed = parse_certificate(encode(certificate))

    assert parsed.subject == "CN=Sag og Dokument,O=Test Kommune,C=DK"
    assert parsed.issuer == "CN=Sag og Dokument,O=Test Kommune,C=DK"
    assert parsed.serial == "ABC123"
    assert parsed.not_after == not_after
    assert parsed.fingerprint == hashlib.sha256(der(certificate)).hexdigest()
    assert x509.load_pem_x509_certificate(parsed.pem.encode()) == certificate


def test_a_der_upload_is_kept_as_the_same_pem():
    certificate, _ = make_certificate()
    assert parse_certificate(der(certificate)).pem == pem(certificate).decode()


def test_it_refuses_an_expired_certificate():
    certificate, _ = make_certificate(not_after=datetime.now(UTC) - timedelta(minutes=5))
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        parse_certificate(pem(certificate))
    assert refused.value.code == "expired"
    assert "expired on" in refused.value.messages[0]


@pytest.mark.parametrize(
    "data",
    [b"hello", b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", b"\x30\x82\x01"],
    ids=["text", "broken-pem", "truncated-der"],
)
def test_it_refuses_a_malformed_file(data):
    with pytest.raises(ValidationError) as refused:
        parse_certificate(data)
    assert refused.value.code == "malformed"


def test_it_refuses_an_empty_file():
    with pytest.raises(ValidationError) as refused:
        parse_certificate(b"")
    assert refused.value.code == "empty"


def test_it_refuses_a_pem_that_also_holds_the_private_key():
    certificate, key = make_certificate()
    with pytest.raises(ValidationError) as refused:
        parse_certificate(pem(certificate) + key_pem(key))
    assert refused.value.code == "private-key"


def test_it_refuses_a_bare_private_key_in_der():
    _, key = make_certificate()
    with pytest.raises(ValidationError) as refused:
        parse_certificate(key_der(key))
    assert refused.value.code == "private-key"


def test_fingerprints_are_shown_in_colon_pairs():
    assert format_fingerprint("ab12cd") == "AB:12:CD"
