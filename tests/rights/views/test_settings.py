import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from adminaccess.models import Event
from mailbox import sms
from rights.models import ContactVerification, Person
from tests.factories import PersonFactory, row_counts
from tests.rights.views.helpers import logged_in

pytestmark = pytest.mark.django_db


def _code_from_mail() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_a_new_email_is_used_only_once_its_code_is_entered():
    person = PersonFactory(email="old@example.dk")
    client = logged_in(person)

    response = client.post("/post/settings/email/", {"action": "send", "email": "New@Example.dk"})

    assert response.status_code == 302
    assert mail.outbox[-1].to == ["new@example.dk"]
    person.refresh_from_db()
    assert (person.email, person.email_verified) == ("old@example.dk", True)
    assert "new@example.dk" in client.get("/post/settings/").content.decode()

    response = client.post("/post/settings/email/", {"action": "confirm", "email-code": _code_from_mail()})

    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.email, person.email_verified) == ("new@example.dk", True)
    assert not ContactVerification.objects.exists()


def test_a_wrong_code_counts_an_attempt_and_changes_nothing():
    person = PersonFactory(email="old@example.dk")
    client = logged_in(person)
    client.post("/post/settings/email/", {"action": "send", "email": "new@example.dk"})
    right = _code_from_mail()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    response = client.post("/post/settings/email/", {"action": "confirm", "email-code": wrong})

    assert response.status_code == 400
    assert response.context["email_code_form"].errors["code"] == ["That code is not right."]
    assert 'id="id_email-code-error"' in response.content.decode()
    assert ContactVerification.objects.get().attempts == 1
    person.refresh_from_db()
    assert person.email == "old@example.dk"


def test_a_mobile_number_is_confirmed_by_sms():
    sms.outbox.clear()
    person = PersonFactory()
    client = logged_in(person)

    client.post("/post/settings/mobile/", {"action": "send", "mobile": "20 30 40 50"})
    code = re.search(r"\b(\d{6})\b", sms.outbox[-1].text).group(1)
    assert sms.outbox[-1].to == "20304050"
    client.post("/post/settings/mobile/", {"action": "confirm", "mobile-code": code})

    person.refresh_from_db()
    assert (person.mobile, person.mobile_verified) == ("20304050", True)


def test_an_expired_code_is_refused():
    person = PersonFactory(email="old@example.dk")
    client = logged_in(person)
    client.post("/post/settings/email/", {"action": "send", "email": "new@example.dk"})
    ContactVerification.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.post("/post/settings/email/", {"action": "confirm", "email-code": _code_from_mail()})

    assert response.status_code == 400
    assert response.context["email_code_form"].errors["code"] == ["The code has expired. Ask for a new one."]
    person.refresh_from_db()
    assert person.email == "old@example.dk"


def test_a_bad_address_is_refused_on_its_field():
    person = PersonFactory()
    before = row_counts(ContactVerification)

    response = logged_in(person).post("/post/settings/email/", {"action": "send", "email": "not-an-address"})

    assert response.status_code == 400
    assert response.context["email_form"].errors["email"] == ["Enter a valid e-mail address."]
    assert row_counts(ContactVerification) == before
    assert mail.outbox == []


def test_removing_the_email_stops_email_notifications():
    person = PersonFactory(email="me@example.dk")

    logged_in(person).post("/post/settings/email/", {"action": "remove"})

    person.refresh_from_db()
    assert (person.email, person.email_verified) == ("", False)


def test_nemsms_goes_on_to_the_confirmed_mobile_and_off_again():
    person = PersonFactory(mobile="20304050")
    client = logged_in(person)

    client.post("/post/settings/nemsms/", {"nemsms": "on"})
    person.refresh_from_db()
    assert person.nemsms_mobile == "20304050"

    client.post("/post/settings/nemsms/", {"nemsms": "off"})
    person.refresh_from_db()
    assert person.nemsms_mobile == ""
    assert list(Event.objects.filter(subject=person.cpr).values_list("tag", flat=True).order_by("pk")) == [
        Event.Tag.NEMSMS_REGISTERED,
        Event.Tag.NEMSMS_REMOVED,
    ]


def test_nemsms_needs_a_confirmed_mobile():
    person = PersonFactory()
    before = row_counts(Event)

    response = logged_in(person).post("/post/settings/nemsms/", {"nemsms": "on"})

    assert response.status_code == 400
    assert response.context["nemsms_error"] == "Confirm a mobile number first: NemSMS is sent to it."
    person.refresh_from_db()
    assert person.nemsms_mobile == ""
    assert row_counts(Event) == before


def test_the_language_is_saved_applied_and_used_at_the_next_login():
    person = PersonFactory()
    client = logged_in(person)

    response = client.post("/post/settings/language/", {"language": "en"})

    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"
    assert Person.objects.get(pk=person.pk).language == "en"
    assert client.get("/post/settings/").headers["Content-Language"] == "en"

    # A fresh browser: logging in applies the saved language.
    fresh = logged_in(person)
    fresh.cookies.pop("django_language", None)
    login_response = fresh.post("/login/", {"person": person.pk})
    assert login_response.cookies["django_language"].value == "en"


def test_the_header_language_selector_is_saved_on_the_person():
    person = PersonFactory()

    logged_in(person).post("/i18n/setlang/", {"language": "en", "next": "/post/settings/"})

    assert Person.objects.get(pk=person.pk).language == "en"


def test_it_refuses_an_unknown_language():
    person = PersonFactory()

    response = logged_in(person).post("/post/settings/language/", {"language": "fr"})

    assert response.status_code == 400
    assert Person.objects.get(pk=person.pk).language == "da"
