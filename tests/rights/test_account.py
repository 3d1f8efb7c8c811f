import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from rights import account
from rights.delegation import mailbox_access_grant
from rights.models import ContactVerification, MailboxAccess, Person
from tests.factories import CompanyFactory, PersonFactory, row_counts

pytestmark = pytest.mark.django_db

EMAIL = ContactVerification.Channel.EMAIL
SMS = ContactVerification.Channel.SMS


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _start(person, address="new@example.dk", channel=EMAIL) -> str:
    account.contact_verification_start(person=person, channel=channel, address=address)
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_the_code_is_stored_only_as_a_hash():
    person = PersonFactory()
    code = _start(person)

    verification = ContactVerification.objects.get()
    assert code not in verification.code_hash and len(verification.code_hash) == 64
    assert verification.expires_at - verification.created_at == timedelta(minutes=15)


def test_after_five_wrong_codes_even_the_right_one_is_refused(settings):
    person = PersonFactory(email="old@example.dk")
    code = _start(person)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(settings.DIGITALPOST_VERIFICATION_MAX_ATTEMPTS):
        with pytest.raises(ValidationError, match="not right"):
            account.contact_verification_confirm(person=person, channel=EMAIL, code=wrong)

    with pytest.raises(ValidationError, match="Too many wrong codes"):
        account.contact_verification_confirm(person=person, channel=EMAIL, code=code)

    person.refresh_from_db()
    assert (person.email, person.email_verified) == ("old@example.dk", True)
    assert ContactVerification.objects.get().attempts == 5


def test_a_new_code_replaces_the_old_one_but_not_within_a_minute():
    person = PersonFactory()
    first = _start(person)
    with pytest.raises(ValidationError, match="less than a minute ago"):
        _start(person, "other@example.dk")
    ContactVerification.objects.update(created_at=timezone.now() - timedelta(minutes=2))

    second = _start(person, "other@example.dk")

    assert ContactVerification.objects.get().address == "other@example.dk"
    if first != second:
        with pytest.raises(ValidationError, match="not right"):
            account.contact_verification_confirm(person=person, channel=EMAIL, code=first)
    account.contact_verification_confirm(person=person, channel=EMAIL, code=second)
    person.refresh_from_db()
    assert person.email == "other@example.dk"


def test_nemsms_follows_a_newly_confirmed_mobile():
    person = PersonFactory(mobile="20304050")
    account.nemsms_set(person=person, enabled=True)
    from mailbox import sms

    account.contact_verification_start(person=person, channel=SMS, address="+4511223344")
    code = re.search(r"\b(\d{6})\b", sms.outbox[-1].text).group(1)
    account.contact_verification_confirm(person=person, channel=SMS, code=code)

    person.refresh_from_db()
    assert (person.mobile, person.nemsms_mobile) == ("+4511223344", "+4511223344")


def test_an_expired_grant_can_be_given_again_and_stays_in_the_history():
    owner, grantee = PersonFactory(), PersonFactory()
    old = mailbox_access_grant(
        mailbox=owner.mailbox, grantee=grantee, level="READ", valid_until=timezone.now() + timedelta(hours=1)
    )
    MailboxAccess.objects.filter(pk=old.pk).update(
        valid_from=timezone.now() - timedelta(days=2), valid_until=timezone.now() - timedelta(days=1)
    )

    new = account.delegation_grant(owner=owner, cpr=grantee.cpr, level="READ_WRITE")

    old.refresh_from_db()
    assert old.revoked_at == old.valid_until
    live, ended = account.delegations_of(mailbox=owner.mailbox)
    assert (live, ended) == ([new], [old])


def test_only_a_user_administrator_manages_company_employees():
    company, outsider, employee = CompanyFactory(), PersonFactory(), PersonFactory()
    before = row_counts(MailboxAccess)

    with pytest.raises(PermissionDenied):
        account.company_employee_grant(
            administrator=outsider, organisation=company, cpr=employee.cpr, level="READ"
        )

    assert row_counts(MailboxAccess) == before


def test_a_login_identity_is_made_once_for_a_known_person():
    person = PersonFactory(with_login=False)

    first = account.person_user_ensure(person=person)
    second = account.person_user_ensure(person=Person.objects.get(pk=person.pk))

    assert first == second and Person.objects.get(pk=person.pk).user == first


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Microsoft Edge, Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            "Chrome, macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "Chrome, Android",
        ),
        ("", "Unknown browser"),
    ],
)
def test_it_describes_devices_readably(user_agent, expected):
    assert str(account.describe_user_agent(user_agent)) == expected
