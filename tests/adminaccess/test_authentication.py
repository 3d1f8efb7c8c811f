"""How a system proves who it is to the API: Basic token, allowed IPs, client certificate."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from django.test import override_settings
from django.utils import timezone

from adminaccess.models import System
from adminaccess.services import system_rotate_token
from tests.factories import OrganisationFactory, PersonFactory, make_system
from tests.mailbox.api.helpers import basic, letter, send_rows

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.5"
CERT_HEADER = "HTTP_X_SSL_CLIENT_CERT"


@pytest.fixture
def sender():
    return OrganisationFactory()


@pytest.fixture
def system_and_token(sender):
    return make_system(sender)


@pytest.fixture
def memo(sender):
    return letter(sender_cvr=sender.cvr, recipient_id=PersonFactory().cpr)


def _post(client, memo, **headers):
    message_uuid, data = memo
    return client.post(
        f"/apis/v1/memos/?memo-message-uuid={message_uuid}",
        data=data,
        content_type="application/xml",
        **headers,
    )


def _received(response) -> None:
    assert response.status_code == 201, response.json()
    assert response.json()["receiptStatus"] == "RECEIVED"


def _refused(client, memo, status: int, code: str, **headers):
    before = send_rows()
    response = _post(client, memo, **headers)
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code), body
    assert send_rows() == before
    return response


def _update(system: System, **fields) -> None:
    System.objects.filter(pk=system.pk).update(**fields)


# --- The Basic credentials -----------------------------------------------------------------


def test_a_valid_token_is_accepted(client, system_and_token, memo):
    _received(_post(client, memo, **basic(*system_and_token)))


def test_no_credentials_is_401_with_a_basic_challenge(client, memo):
    response = _refused(client, memo, 401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"] == 'Basic realm="digitalpost"'


@pytest.mark.parametrize(
    "header",
    [
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"not-a-uuid:token").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:token").decode(),
        "Bearer some-token",
        "Digest username=x",
    ],
    ids=["empty", "not-base64", "not-a-uuid", "not-utf8", "bearer", "digest"],
)
def test_malformed_credentials_are_401(client, memo, header):
    response = _refused(client, memo, 401, "UNAUTHORIZED", HTTP_AUTHORIZATION=header)
    assert response["WWW-Authenticate"] == 'Basic realm="digitalpost"'


def test_a_wrong_token_is_401(client, system_and_token, memo):
    system, token = system_and_token
    _refused(client, memo, 401, "UNAUTHORIZED", **basic(system, token + "x"))
    _refused(client, memo, 401, "UNAUTHORIZED", **basic(system, ""))


def test_an_unknown_system_is_401(client, system_and_token, memo):
    _, token = system_and_token
    other, _ = make_system(OrganisationFactory())
    _refused(client, memo, 401, "UNAUTHORIZED", **basic(other, token))


def test_a_rotated_token_replaces_the_old_one_at_once(client, system_and_token, memo):
    system, old = system_and_token
    new = system_rotate_token(system=system)
    assert new != old
    _refused(client, memo, 401, "UNAUTHORIZED", **basic(system, old))
    _received(_post(client, memo, **basic(system, new)))


def test_a_deactivated_system_is_403(client, system_and_token, memo):
    system, token = system_and_token
    _update(system, status=System.Status.DEACTIVATED, deactivated_at=timezone.now())
    _refused(client, memo, 403, "SYSTEM_NOT_ALLOWED", **basic(system, token))


def test_a_deactivated_system_with_a_wrong_token_is_still_401(client, system_and_token, memo):
    # Whether a system exists and is deactivated is told only to one that proves it is it.
    system, token = system_and_token
    _update(system, status=System.Status.DEACTIVATED, deactivated_at=timezone.now())
    _refused(client, memo, 401, "UNAUTHORIZED", **basic(system, token + "x"))


def test_an_expired_certificate_is_403(client, system_and_token, memo):
    system, token = system_and_token
    _update(system, certificate_not_after=timezone.now() - timedelta(seconds=1))
    _refused(client, memo, 403, "SYSTEM_NOT_ALLOWED", **basic(system, token))


def test_a_certificate_that_is_still_valid_is_fine(client, system_and_token, memo):
    system, token = system_and_token
    _update(system, certificate_not_after=timezone.now() + timedelta(days=30))
    _received(_post(client, memo, **basic(system, token)))


# --- Allowed addresses ---------------------------------------------------------------------


def test_a_call_from_an_address_not_allowed_is_403(client, system_and_token, memo):
    system, token = system_and_token
    _update(system, allowed_ips=["192.0.2.0/24"])
    _refused(client, memo, 403, "SYSTEM_NOT_ALLOWED", REMOTE_ADDR="198.51.100.7", **basic(system, token))


@pytest.mark.parametrize(
    ("allowed", "address"), [(["192.0.2.0/24"], "192.0.2.77"), (["2001:db8::/32"], "2001:db8::1")]
)
def test_a_call_from_an_allowed_address_is_fine(client, system_and_token, memo, allowed, address):
    system, token = system_and_token
    _update(system, allowed_ips=allowed)
    _received(_post(client, memo, REMOTE_ADDR=address, **basic(system, token)))


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(client, system_and_token, memo):
    system, token = system_and_token
    _update(system, allowed_ips=["192.0.2.0/24"])
    _refused(
        client,
        memo,
        403,
        "SYSTEM_NOT_ALLOWED",
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="192.0.2.77",
        **basic(system, token),
    )


@override_settings(DIGITALPOST_TRUSTED_PROXIES=["10.0.0.0/24"])
def test_x_forwarded_for_from_a_trusted_proxy_is_the_callers_address(client, system_and_token, memo):
    system, token = system_and_token
    _update(system, allowed_ips=["192.0.2.0/24"])
    _received(
        _post(client, memo, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.77", **basic(system, token))
    )


@override_settings(DIGITALPOST_TRUSTED_PROXIES=["10.0.0.0/24"])
def test_only_the_address_the_trusted_proxy_saw_counts(client, system_and_token, memo):
    # The client may put anything in the header; the proxy appends the peer it saw.
    system, token = system_and_token
    _update(system, allowed_ips=["192.0.2.0/24"])
    _refused(
        client,
        memo,
        403,
        "SYSTEM_NOT_ALLOWED",
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="192.0.2.77, 198.51.100.7",
        **basic(system, token),
    )


# --- Registered client certificate ---------------------------------------------------------


def _certificate(common_name: str) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def _fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def _header(certificate: x509.Certificate) -> dict:
    """What nginx passes on as $ssl_client_escaped_cert."""
    return {CERT_HEADER: quote(certificate.public_bytes(Encoding.PEM).decode())}


@pytest.fixture
def certificate():
    return _certificate("Sagssystem OCES")


@pytest.fixture
def with_certificate(system_and_token, certificate):
    system, token = system_and_token
    _update(system, certificate_fingerprint=_fingerprint(certificate))
    return system, token


@override_settings(DIGITALPOST_TRUSTED_PROXIES=[PROXY])
def test_the_registered_certificate_from_the_trusted_proxy_is_accepted(
    client, with_certificate, certificate, memo
):
    _received(_post(client, memo, REMOTE_ADDR=PROXY, **_header(certificate), **basic(*with_certificate)))


@override_settings(DIGITALPOST_TRUSTED_PROXIES=[PROXY])
def test_a_fingerprint_written_with_colons_matches(client, system_and_token, certificate, memo):
    system, token = system_and_token
    digest = _fingerprint(certificate).upper()
    _update(system, certificate_fingerprint=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)))
    _received(_post(client, memo, REMOTE_ADDR=PROXY, **_header(certificate), **basic(system, token)))


@override_settings(DIGITALPOST_TRUSTED_PROXIES=[PROXY])
def test_a_system_with_a_certificate_must_present_it(client, with_certificate, memo):
    _refused(client, memo, 403, "SYSTEM_NOT_ALLOWED", REMOTE_ADDR=PROXY, **basic(*with_certificate))


@override_settings(DIGITALPOST_TRUSTED_PROXIES=[PROXY])
def test_another_certificate_is_403(client, with_certificate, memo):
    other = _certificate("Sagssystem OCES")
    _refused(
        client,
        memo,
        403,
        "SYSTEM_NOT_ALLOWED",
        REMOTE_ADDR=PROXY,
        **_header(other),
        **basic(*with_certificate),
    )


@override_settings(DIGITALPOST_TRUSTED_PROXIES=[PROXY])
def test_a_header_that_is_no_certificate_is_403(client, with_certificate, memo):
    _refused(
        client,
        memo,
        403,
        "SYSTEM_NOT_ALLOWED",
        REMOTE_ADDR=PROXY,
        **{CERT_HEADER: quote("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")},
        **basic(*with_certificate),
    )


@override_settings(DIGITALPOST_TRUSTED_PROXIES=[PROXY])
def test_the_certificate_header_from_an_untrusted_address_is_ignored(
    client, with_certificate, certificate, memo
):
    _refused(
        client,
        memo,
        403,
        "SYSTEM_NOT_ALLOWED",
        REMOTE_ADDR="198.51.100.7",
        **_header(certificate),
        **basic(*with_certificate),
    )


@override_settings(DIGITALPOST_TRUSTED_PROXIES=[PROXY], DIGITALPOST_CLIENT_CERT_HEADER="X-Client-Cert")
def test_the_certificate_header_name_is_a_setting(client, with_certificate, certificate, memo):
    value = _header(certificate)[CERT_HEADER]
    _refused(
        client,
        memo,
        403,
        "SYSTEM_NOT_ALLOWED",
        REMOTE_ADDR=PROXY,
        **{CERT_HEADER: value},
        **basic(*with_certificate),
    )
    _received(_post(client, memo, REMOTE_ADDR=PROXY, HTTP_X_CLIENT_CERT=value, **basic(*with_certificate)))


@override_settings(DIGITALPOST_TRUSTED_PROXIES=[PROXY])
def test_a_trusted_proxy_on_a_dual_stack_socket_is_still_trusted(client, with_certificate, certificate, memo):
    _received(
        _post(client, memo, REMOTE_ADDR=f"::ffff:{PROXY}", **_header(certificate), **basic(*with_certificate))
    )


def test_a_malformed_stored_cidr_allows_nothing_instead_of_failing(client, db):
    from adminaccess.authentication import _address_allowed

    assert _address_allowed("10.0.0.5", ("not-a-network", "10.0.0.0/8")) is True
    assert _address_allowed("10.0.0.5", ("not-a-network",)) is False
