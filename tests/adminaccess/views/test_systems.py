"""The systems pages: create, edit, token shown once, certificates, default, reactivation."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from adminaccess.certificates import parse_certificate
from adminaccess.models import Event, System
from adminaccess.services import certificate_expiry_warnings_send, system_set_certificate
from adminaccess.tasks import warn_expiring_certificates
from mailbox.models import Delivery, Message
from mailbox.resend import recipient_system_deactivate
from rights.models import StaffRole
from tests.adminaccess.views.helpers import der, key_pem, make_certificate, make_staff, pem
from tests.factories import OrganisationFactory, make_message, make_system, row_counts
from tests.mailbox.api.helpers import basic

pytestmark = pytest.mark.django_db

Role = StaffRole.Role
PROXY = "10.0.0.5"


@pytest.fixture
def admin(authority):
    return make_staff(authority, Role.SYSTEM_ADMINISTRATOR, name="Systemadministrator")


@pytest.fixture
def logged_in(client, admin):
    client.force_login(admin.user)
    return client


def _url(name, system=None):
    return reverse(f"adminaccess:{name}", kwargs={"pk": system.pk} if system else None)


def _system_fields(system) -> dict:
    system = System.objects.get(pk=system.pk)
    return {f.attname: getattr(system, f.attname) for f in System._meta.concrete_fields}


def _api(client, system, token, **extra):
    return client.get("/apis/v1/receipts/", **basic(system, token), **extra)


def _with_certificate(system, **kwargs):
    certificate, _key = make_certificate(**kwargs)
    system_set_certificate(system=system, certificate=parse_certificate(pem(certificate)))
    return certificate


# create, and the token shown once


def test_it_creates_a_sender_system_and_shows_its_token_once(logged_in, authority, admin):
    response = logged_in.post(
        _url("systems-create"),
        {
            "name": " ESDH ",
            "kind": "SENDER",
            "memo_version": "1.1",
            "allowed_ips": "192.0.2.0/24\n\n2001:db8::/32\n198.51.100.7",
            "technical_contact_email": "drift@kommune.dk",
        },
    )
    system = System.objects.get(organisation=authority)
    assert response.status_code == 302
    assert response["Location"] == _url("systems-detail", system)
    assert (system.name, system.kind, system.protocol, system.memo_version) == ("ESDH", "SENDER", "", "1.1")
    assert system.allowed_ips == ["192.0.2.0/24", "2001:db8::/32", "198.51.100.7/32"]
    assert system.technical_contact_email == "drift@kommune.dk"

    first = logged_in.get(response["Location"])
    token = first.context["new_token"]
    assert token.startswith(system.token_prefix)
    assert system.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token in first.content.decode()
    assert "no-store" in first["Cache-Control"]

    again = logged_in.get(response["Location"])
    assert again.context["new_token"] is None
    assert token not in again.content.decode()
    assert system.token_prefix in again.content.decode()
    event = Event.objects.get(tag=Event.Tag.SYSTEM_CREATED)
    assert (event.system, event.actor_user, event.organisation) == (system, admin.user, authority)


def test_it_creates_a_push_recipient_system(logged_in, authority):
    response = logged_in.post(
        _url("systems-create"),
        {
            "name": "Fagsystem",
            "kind": "RECIPIENT",
            "protocol": "REST_PUSH",
            "endpoint": "https://fag.example/in",
            "memo_version": "1.2",
        },
    )
    assert response.status_code == 302
    system = System.objects.get(organisation=authority)
    assert (system.kind, system.protocol, system.endpoint) == (
        "RECIPIENT",
        "REST_PUSH",
        "https://fag.example/in",
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "RECIPIENT", "protocol": "REST_PUSH"}, "endpoint", "A push system needs an endpoint URL."),
        ({"kind": "RECIPIENT", "protocol": ""}, "protocol", "Choose how the recipient system gets its mail."),
        ({"kind": "SENDER", "protocol": "REST_PULL"}, "protocol", "Only recipient systems have a protocol."),
        (
            {"kind": "SENDER", "allowed_ips": "10.0.0.0/8\nnot-an-ip"},
            "allowed_ips",
            "not-an-ip is not an IP address or a CIDR network (e.g. 192.0.2.0/24).",
        ),
        (
            {"kind": "SENDER", "allowed_ips": "10.0.0.1/8"},
            "allowed_ips",
            "10.0.0.1/8 is not an IP address or a CIDR network (e.g. 192.0.2.0/24).",
        ),
        ({"kind": "SENDER", "name": ""}, "name", "This field is required."),
        (
            {"kind": "SENDER", "technical_contact_email": "nope"},
            "technical_contact_email",
            "Enter a valid email address.",
        ),
    ],
)
def test_it_refuses_a_bad_system_and_creates_nothing(logged_in, data, field, message):
    before = row_counts(System, Event)
    response = logged_in.post(_url("systems-create"), {"name": "X", "memo_version": "1.2", **data})
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert f'id="id_{field}-error"' in response.content.decode()
    assert row_counts(System, Event) == before


# edit


def test_it_saves_changes_and_logs_which_fields_changed(logged_in, authority, admin):
    system, _ = make_system(authority, kind=System.Kind.RECIPIENT, protocol="REST_PULL")
    response = logged_in.post(
        _url("systems-edit", system),
        {
            "name": "Nyt navn",
            "protocol": "REST_PUSH",
            "endpoint": "https://x.example/memo",
            "memo_version": "1.2",
            "allowed_ips": "",
            "technical_contact_email": "",
        },
    )
    assert response.status_code == 302
    system.refresh_from_db()
    assert (system.name, system.protocol, system.endpoint) == (
        "Nyt navn",
        "REST_PUSH",
        "https://x.example/memo",
    )
    event = Event.objects.get(tag=Event.Tag.SYSTEM_CHANGED)
    assert event.details == {"changed": ["name", "protocol", "endpoint"]}
    assert event.actor_user == admin.user


def test_an_edit_to_push_without_endpoint_changes_nothing(logged_in, authority):
    system, _ = make_system(authority, kind=System.Kind.RECIPIENT, protocol="REST_PULL")
    before = _system_fields(system)
    response = logged_in.post(
        _url("systems-edit", system),
        {"name": "Y", "protocol": "REST_PUSH", "endpoint": "", "memo_version": "1.2"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["endpoint"] == ["A push system needs an endpoint URL."]
    assert _system_fields(system) == before
    assert not Event.objects.filter(tag=Event.Tag.SYSTEM_CHANGED).exists()


# token rotation


def test_a_rotated_token_is_shown_once_and_the_old_one_stops_working_on_the_api(logged_in, client, authority):
    system, old = make_system(authority)
    assert _api(client, system, old).status_code == 200

    response = logged_in.post(_url("systems-rotate-token", system))
    assert response.status_code == 302
    new = logged_in.get(_url("systems-detail", system)).context["new_token"]
    assert new and new != old
    assert logged_in.get(_url("systems-detail", system)).context["new_token"] is None

    client.logout()
    assert _api(client, system, old).status_code == 401
    assert _api(client, system, new).status_code == 200
    assert Event.objects.filter(tag=Event.Tag.API_TOKEN_ROTATED, system=system).count() == 1


def test_rotating_needs_a_post(logged_in, authority):
    system, _ = make_system(authority)
    before = _system_fields(system)
    assert logged_in.get(_url("systems-rotate-token", system)).status_code == 405
    assert _system_fields(system) == before


# another organisation's systems


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("systems-detail", "get"),
        ("systems-edit", "get"),
        ("systems-edit", "post"),
        ("systems-rotate-token", "post"),
        ("systems-certificate", "post"),
        ("systems-certificate-remove", "post"),
        ("systems-default", "post"),
        ("systems-reactivate", "post"),
    ],
)
def test_another_organisations_system_is_not_found(logged_in, name, method):
    other, _ = make_system(OrganisationFactory(), kind=System.Kind.RECIPIENT, protocol="REST_PULL")
    recipient_system_deactivate(system=other, reason="test")
    before, counts = _system_fields(other), row_counts(System, Event)
    response = getattr(logged_in, method)(_url(name, other), {"name": "Stolen", "memo_version": "1.2"})
    assert response.status_code == 404
    assert _system_fields(other) == before
    assert row_counts(System, Event) == counts


# certificates


@pytest.mark.parametrize("encode", [pem, der], ids=["pem", "der"])
def test_it_registers_an_uploaded_certificate_and_shows_it(logged_in, authority, encode):
    system, _ = make_system(authority)
    not_after = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    certificate, _ = make_certificate(not_after=not_after, common_name="ESDH prod")
    upload = {"certificate": _file(encode(certificate), "client.crt")}

    response = logged_in.post(_url("systems-certificate", system), upload)

    assert response.status_code == 302
    system.refresh_from_db()
    assert system.certificate_subject == "CN=ESDH prod,O=Test Kommune,C=DK"
    assert system.certificate_serial == "C0FFEE"
    assert system.certificate_not_after == not_after
    assert system.certificate_fingerprint == hashlib.sha256(der(certificate)).hexdigest()
    assert system.certificate_pem == pem(certificate).decode()
    page = logged_in.get(_url("systems-detail", system)).content.decode()
    assert "CN=ESDH prod,O=Test Kommune,C=DK" in page
    assert system.certificate_fingerprint.upper()[:2] + ":" in page
    assert Event.objects.get(tag=Event.Tag.SYSTEM_CHANGED).details["changed"] == ["certificate"]


@override_settings(DIGITALPOST_TRUSTED_PROXIES=[PROXY])
def test_the_api_then_requires_exactly_the_uploaded_certificate(logged_in, client, authority):
    system, token = make_system(authority)
    certificate, _ = make_certificate()
    other, _ = make_certificate()
    logged_in.post(_url("systems-certificate", system), {"certificate": _file(der(certificate), "c.der")})
    logged_in.logout()

    def header(cert):
        return {"HTTP_X_SSL_CLIENT_CERT": quote(pem(cert).decode())}

    assert _api(client, system, token, REMOTE_ADDR=PROXY).status_code == 403
    assert _api(client, system, token, REMOTE_ADDR=PROXY, **header(other)).status_code == 403
    assert _api(client, system, token, REMOTE_ADDR=PROXY, **header(certificate)).status_code == 200


def _file(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def _refused_uploads():
    certificate, key = make_certificate()
    expired, _ = make_certificate(not_after=datetime.now(UTC) - timedelta(days=1))
    return [
        pytest.param(pem(expired), "The certificate expired on", id="expired"),
        pytest.param(
            b"garbage", "The file is not a readable X.509 certificate (PEM or DER).", id="malformed"
        ),
        pytest.param(pem(certificate) + key_pem(key), "The file contains a private key.", id="with-key"),
        pytest.param(key_pem(key), "The file contains a private key.", id="only-key"),
    ]


@pytest.mark.parametrize(("data", "message"), _refused_uploads())
def test_it_refuses_a_bad_certificate_and_stores_nothing(logged_in, authority, data, message):
    system, _ = make_system(authority)
    registered = _with_certificate(system)
    before, counts = _system_fields(system), row_counts(System, Event)

    response = logged_in.post(_url("systems-certificate", system), {"certificate": _file(data, "c.pem")})

    assert response.status_code == 400
    [error] = response.context["certificate_form"].errors["certificate"]
    assert error.startswith(message)
    assert message in response.content.decode()
    assert _system_fields(system) == before
    assert row_counts(System, Event) == counts
    assert "PRIVATE KEY" not in System.objects.get(pk=system.pk).certificate_pem
    assert (
        System.objects.get(pk=system.pk).certificate_fingerprint
        == hashlib.sha256(der(registered)).hexdigest()
    )


def test_it_removes_a_certificate(logged_in, authority):
    system, _ = make_system(authority)
    _with_certificate(system)
    assert logged_in.post(_url("systems-certificate-remove", system)).status_code == 302
    system.refresh_from_db()
    assert (system.certificate_pem, system.certificate_fingerprint, system.certificate_not_after) == (
        "",
        "",
        None,
    )


# expiry: the flag on the list and one warning e-mail


def test_the_list_flags_certificates_expiring_within_30_days(logged_in, authority):
    soon, _ = make_system(authority, name="Snart udløbet")
    later, _ = make_system(authority, name="Længe gyldig")
    _with_certificate(soon, days=10)
    _with_certificate(later, days=31)

    response = logged_in.get(_url("systems"))

    assert response.status_code == 200
    assert [s.name for s in response.context["expiring"]] == ["Snart udløbet"]
    states = {r["system"].name: r["certificate_state"] for r in response.context["senders"]}
    assert states == {"Snart udløbet": "expiring", "Længe gyldig": "ok"}
    assert "Expires soon" in response.content.decode()


def test_the_daily_task_warns_the_technical_contact_once_per_certificate(authority):
    soon, _ = make_system(authority, name="ESDH", technical_contact_email="drift@kommune.dk")
    later, _ = make_system(authority, name="Later", technical_contact_email="later@kommune.dk")
    _with_certificate(soon, days=10)
    _with_certificate(later, days=45)

    assert warn_expiring_certificates() == 1
    assert warn_expiring_certificates() == 0
    assert certificate_expiry_warnings_send(now=timezone.now() + timedelta(days=1)) == 0

    [warning] = mail.outbox
    assert warning.to == ["drift@kommune.dk"]
    assert "ESDH" in warning.subject
    soon.refresh_from_db()
    assert soon.certificate_expiry_warned_for == soon.certificate_fingerprint

    # A new certificate that also expires soon is warned about anew; the later one when due.
    _with_certificate(soon, days=20)
    assert warn_expiring_certificates() == 1
    assert certificate_expiry_warnings_send(now=timezone.now() + timedelta(days=20)) == 1
    assert [m.to for m in mail.outbox] == [["drift@kommune.dk"], ["drift@kommune.dk"], ["later@kommune.dk"]]


def test_without_a_technical_contact_no_warning_is_recorded(authority):
    system, _ = make_system(authority)
    _with_certificate(system, days=5)
    assert warn_expiring_certificates() == 0
    system.refresh_from_db()
    assert system.certificate_expiry_warned_for == ""


# the default recipient system and reactivation


def test_it_switches_the_default_recipient_system(logged_in, authority, admin):
    old, _ = make_system(authority, kind=System.Kind.RECIPIENT, name="Old", is_default=True)
    new, _ = make_system(authority, kind=System.Kind.RECIPIENT, name="New")

    response = logged_in.post(_url("systems-default", new))

    assert response.status_code == 302
    assert list(System.objects.filter(organisation=authority, is_default=True)) == [new]
    event = Event.objects.get(tag=Event.Tag.SYSTEM_CHANGED)
    assert (event.system, event.actor_user) == (new, admin.user)
    assert event.details == {"changed": ["is_default"], "previousDefault": str(old.system_id)}


@pytest.mark.parametrize("case", ["sender", "deactivated"])
def test_only_an_active_recipient_system_can_be_the_default(logged_in, authority, case):
    old, _ = make_system(authority, kind=System.Kind.RECIPIENT, name="Old", is_default=True)
    if case == "sender":
        candidate, _ = make_system(authority)
    else:
        candidate, _ = make_system(authority, kind=System.Kind.RECIPIENT, name="Down")
        recipient_system_deactivate(system=candidate, reason="unreachable")
    counts = row_counts(System, Event)

    response = logged_in.post(_url("systems-default", candidate))

    assert response.status_code == 400
    assert list(System.objects.filter(organisation=authority, is_default=True)) == [old]
    assert row_counts(System, Event) == counts


def test_it_shows_health_and_reactivates_a_deactivated_recipient_system(logged_in, authority, admin):
    system, _ = make_system(authority, kind=System.Kind.RECIPIENT, name="Fag")
    System.objects.filter(pk=system.pk).update(
        last_success_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        failing_since=datetime(2026, 11, 21, 8, 0, tzinfo=UTC),
        warnings_sent=3,
    )
    held = Delivery.objects.create(
        message=make_message(
            sender=authority, state=Message.State.ACCEPTED, channel=Message.Channel.RECIPIENT_SYSTEM
        ),
        channel=Message.Channel.RECIPIENT_SYSTEM,
        state=Delivery.State.PENDING,
        recipient_system=system,
        next_attempt_at=timezone.now() + timedelta(days=30),
    )
    recipient_system_deactivate(system=system, reason="No delivery for seven days")

    listed = logged_in.get(_url("systems")).content.decode()
    detail = logged_in.get(_url("systems-detail", system)).content.decode()
    for page in (listed, detail):
        assert "2026-11-20" in page and "2026-11-21" in page
        assert "No delivery for seven days" in page

    response = logged_in.post(_url("systems-reactivate", system))

    assert response.status_code == 302
    system.refresh_from_db()
    assert (system.status, system.deactivated_at, system.failing_since, system.warnings_sent) == (
        System.Status.ACTIVE,
        None,
        None,
        0,
    )
    event = Event.objects.get(tag=Event.Tag.RECIPIENT_SYSTEM_REACTIVATED)
    assert (event.system, event.actor_user) == (system, admin.user)
    # Mail held for it is due again at once (the delivery engine's reactivation did this).
    held.refresh_from_db()
    assert held.next_attempt_at <= timezone.now()


def test_reactivating_an_active_system_changes_nothing(logged_in, authority):
    system, _ = make_system(authority, kind=System.Kind.RECIPIENT)
    counts = row_counts(System, Event)
    response = logged_in.post(_url("systems-reactivate", system))
    assert response.status_code == 302
    assert row_counts(System, Event) == counts


def test_the_daily_warning_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["warn-expiring-certificates"]
    assert entry["task"] == warn_expiring_certificates.name == "adminaccess.tasks.warn_expiring_certificates"
    assert entry["schedule"] == timedelta(days=1)


def test_after_switching_organisation_the_first_ones_systems_are_not_found(client, authority):
    other = OrganisationFactory(name="Anden Kommune")
    both = make_staff(authority, Role.SYSTEM_ADMINISTRATOR)
    StaffRole.objects.create(user=both.user, organisation=other, role=Role.SYSTEM_ADMINISTRATOR)
    mine, _ = make_system(authority, name="Min")
    theirs, _ = make_system(other, name="Deres")
    client.force_login(both.user)
    client.post(reverse("adminaccess:switch-organisation"), {"organisation": authority.pk})

    assert client.get(_url("systems-detail", mine)).status_code == 200
    client.post(reverse("adminaccess:switch-organisation"), {"organisation": other.pk})

    assert [r["system"] for r in client.get(_url("systems")).context["senders"]] == [theirs]
    assert client.get(_url("systems-detail", mine)).status_code == 404
    assert client.get(_url("systems-detail", theirs)).status_code == 200


def test_the_edit_form_shows_the_current_settings(logged_in, authority):
    system, _ = make_system(
        authority, name="ESDH", allowed_ips=["192.0.2.0/24", "10.0.0.0/8"], technical_contact_email="it@a.dk"
    )
    page = logged_in.get(_url("systems-edit", system)).content.decode()
    assert ">192.0.2.0/24\n10.0.0.0/8</textarea>" in page
    assert 'value="ESDH"' in page and 'value="it@a.dk"' in page
    assert 'name="kind"' not in page


def test_a_sender_systems_page_shows_its_batches_judged_and_being_judged(
    logged_in, authority, monkeypatch, django_capture_on_commit_callbacks
):
    from mailbox.batches import batch_accept
    from mailbox.models import BatchChunk
    from tests.factories import PersonFactory
    from tests.mailbox.api.helpers import letter

    system = make_system(authority)[0]
    person = PersonFactory()
    files = [(f"{n}.xml", letter(sender_cvr=authority.cvr, recipient_id=person.cpr)[1]) for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        judged = batch_accept(system=system, members=iter([*files, ("bad.xml", b"<x")]))
    waiting = batch_accept(system=system, members=iter(files[:1]))  # its chunk's task has not run
    other = batch_accept(system=make_system(authority, name="Andet system")[0], members=iter(files[:1]))

    page = logged_in.get(reverse("adminaccess:systems-detail", args=[system.pk])).content.decode()

    table = page.split('data-testid="batches"')[1].split("</table>")[0]
    rows = table.split("<tr>")[2:]
    assert [str(waiting.pk) in rows[0], str(judged.pk) in rows[1]] == [True, True]
    assert "0 of 1 parts" in rows[0] and "Being judged" in rows[0]
    assert "<td>4</td>" in rows[1] and "<td>3</td>" in rows[1] and "<td>1</td>" in rows[1]
    assert str(other.pk) not in page
    assert BatchChunk.objects.filter(batch=waiting, done_at__isnull=True).exists()


def test_a_sender_system_without_batches_says_so(logged_in, authority):
    system = make_system(authority)[0]
    page = logged_in.get(reverse("adminaccess:systems-detail", args=[system.pk])).content.decode()
    assert "The system has not uploaded a batch yet." in page
