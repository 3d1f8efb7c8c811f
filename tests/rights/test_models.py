"""The database refuses parties, staff roles and grants that break the rules in rights.models."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction

import rights.models
from rights.models import MailboxAccess, Organisation, Person, StaffRole
from tests.factories import (
    CompanyFactory,
    OrganisationFactory,
    PersonFactory,
    constraints_violated_in,
    declared_constraints,
    make_access,
    violates,
)

pytestmark = pytest.mark.django_db

MIDNIGHT = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)


def test_every_constraint_in_rights_models_has_a_test_here():
    untested = declared_constraints(rights.models) - constraints_violated_in(__file__)
    assert sorted(untested) == []


# Organisation


@pytest.mark.parametrize("cvr", ["1234567", "1234567a", "1234 678", ""])
def test_an_organisation_cvr_is_exactly_8_digits(cvr):
    with violates("organisation_cvr_8_digits", Organisation):
        Organisation.objects.create(cvr=cvr, name="Bad CVR", kind=Organisation.Kind.COMPANY)


def test_an_organisation_with_an_8_digit_cvr_saves():
    Organisation.objects.create(cvr="00000001", name="Leading zeros", kind=Organisation.Kind.COMPANY)
    assert Organisation.objects.get(cvr="00000001").name == "Leading zeros"


def test_an_organisation_is_an_authority_or_a_company():
    with violates("organisation_kind_valid", Organisation):
        Organisation.objects.create(cvr="12345678", name="Neither", kind="CHARITY")


@pytest.mark.parametrize("power", ["may_send_legal_notification", "may_send_mandatory_post"])
def test_a_company_cannot_hold_an_authority_power(power):
    with violates("organisation_powers_only_for_authorities", Organisation):
        Organisation.objects.create(
            cvr="12345678", name="A/S", kind=Organisation.Kind.COMPANY, **{power: True}
        )


def test_a_company_cannot_be_given_an_authority_power_later():
    company = CompanyFactory()
    company.may_send_mandatory_post = True
    with violates("organisation_powers_only_for_authorities", Organisation):
        company.save(update_fields=["may_send_mandatory_post"])
    company.refresh_from_db()
    assert company.may_send_mandatory_post is False


def test_an_authority_may_hold_both_powers():
    Organisation.objects.create(
        cvr="12345678",
        name="Kommune",
        kind=Organisation.Kind.AUTHORITY,
        may_send_legal_notification=True,
        may_send_mandatory_post=True,
    )
    authority = Organisation.objects.get(cvr="12345678")
    assert (authority.may_send_legal_notification, authority.may_send_mandatory_post) == (True, True)


def test_a_cvr_number_belongs_to_one_organisation():
    OrganisationFactory(cvr="12345678")
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.create(cvr="12345678", name="Twin", kind=Organisation.Kind.COMPANY)
    assert Organisation.objects.filter(cvr="12345678").count() == 1


# Person


@pytest.mark.parametrize("cpr", ["123456789", "12345678a", "010190-123", "0101 01234", ""])
def test_a_person_cpr_is_exactly_10_digits(cpr):
    with violates("person_cpr_10_digits", Person):
        Person.objects.create(cpr=cpr, name="Bad CPR")


def test_a_cpr_number_belongs_to_one_person():
    PersonFactory(cpr="0101901234")
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(cpr="0101901234", name="Twin")
    assert Person.objects.filter(cpr="0101901234").count() == 1


@pytest.mark.parametrize(
    "mobile", ["1234567", "+45 12345678", "45-12345678", "+4512345678x", "+1234567890123456"]
)
def test_a_nemsms_mobile_is_8_to_15_digits_with_an_optional_plus(mobile):
    person = PersonFactory()
    person.nemsms_mobile = mobile
    with violates("person_nemsms_mobile_format", Person):
        person.save(update_fields=["nemsms_mobile"])
    person.refresh_from_db()
    assert person.nemsms_mobile == ""


@pytest.mark.parametrize("mobile", ["", "12345678", "+4512345678", "123456789012345"])
def test_a_well_formed_or_empty_nemsms_mobile_saves(mobile):
    person = PersonFactory()
    person.nemsms_mobile = mobile
    person.save(update_fields=["nemsms_mobile"])
    person.refresh_from_db()
    assert person.nemsms_mobile == mobile
    assert person.nemsms_registered is bool(mobile)


# StaffRole


def test_a_user_holds_a_role_in_an_organisation_only_once():
    authority, person = OrganisationFactory(), PersonFactory()
    StaffRole.objects.create(user=person.user, organisation=authority, role=StaffRole.Role.EVENT_LOG_READER)
    with violates("staffrole_unique_per_user_org_role", StaffRole):
        StaffRole.objects.create(
            user=person.user, organisation=authority, role=StaffRole.Role.EVENT_LOG_READER
        )


def test_a_user_may_hold_other_roles_and_the_same_role_elsewhere():
    authority, other, person = OrganisationFactory(), OrganisationFactory(), PersonFactory()
    for organisation, role in [
        (authority, StaffRole.Role.EVENT_LOG_READER),
        (authority, StaffRole.Role.USER_ADMINISTRATOR),
        (other, StaffRole.Role.EVENT_LOG_READER),
    ]:
        StaffRole.objects.create(user=person.user, organisation=organisation, role=role)
    assert StaffRole.objects.filter(user=person.user).count() == 3


# MailboxAccess


def test_an_access_cannot_end_when_it_starts():
    with violates("mailboxaccess_period_ordered", MailboxAccess):
        make_access(valid_from=MIDNIGHT, valid_until=MIDNIGHT)


def test_an_access_cannot_end_before_it_starts():
    with violates("mailboxaccess_period_ordered", MailboxAccess):
        make_access(valid_from=MIDNIGHT, valid_until=MIDNIGHT - timedelta(days=1))


def test_an_access_may_end_a_microsecond_after_it_starts_or_never():
    short = make_access(valid_from=MIDNIGHT, valid_until=MIDNIGHT + ONE_MICROSECOND)
    open_ended = make_access(valid_from=MIDNIGHT, valid_until=None)
    assert MailboxAccess.objects.filter(pk__in=[short.pk, open_ended.pk]).count() == 2


def test_a_grantee_has_one_live_grant_per_mailbox():
    first = make_access()
    with violates("mailboxaccess_one_live_grant", MailboxAccess):
        make_access(mailbox=first.mailbox, grantee=first.grantee, level=MailboxAccess.Level.READ_WRITE)


def test_a_grant_can_be_replaced_once_the_live_one_is_revoked():
    first = make_access(revoked_at=MIDNIGHT)
    make_access(mailbox=first.mailbox, grantee=first.grantee, revoked_at=MIDNIGHT)
    make_access(mailbox=first.mailbox, grantee=first.grantee, level=MailboxAccess.Level.READ_WRITE)
    grants = MailboxAccess.objects.filter(mailbox=first.mailbox, grantee=first.grantee)
    assert grants.count() == 3
    assert grants.filter(revoked_at__isnull=True).get().level == MailboxAccess.Level.READ_WRITE


def test_a_grantee_may_hold_live_grants_on_different_mailboxes():
    first = make_access()
    make_access(grantee=first.grantee)
    assert MailboxAccess.objects.filter(grantee=first.grantee, revoked_at__isnull=True).count() == 2


# MailboxAccess.is_active: valid_from is inclusive, valid_until exclusive, revocation ends it.


@pytest.mark.parametrize(
    ("at", "active"),
    [
        (MIDNIGHT - ONE_MICROSECOND, False),
        (MIDNIGHT, True),
        (MIDNIGHT + timedelta(days=31) - ONE_MICROSECOND, True),
        (MIDNIGHT + timedelta(days=31), False),
    ],
)
def test_an_access_is_active_from_its_start_until_just_before_its_end(at, active):
    access = make_access(valid_from=MIDNIGHT, valid_until=MIDNIGHT + timedelta(days=31))
    assert access.is_active(at) is active


def test_an_open_ended_access_stays_active():
    access = make_access(valid_from=MIDNIGHT, valid_until=None)
    assert access.is_active(MIDNIGHT + timedelta(days=365 * 50)) is True


def test_a_revoked_access_is_inactive_even_within_its_period():
    access = make_access(valid_from=MIDNIGHT, valid_until=MIDNIGHT + timedelta(days=31), revoked_at=MIDNIGHT)
    assert access.is_active(MIDNIGHT + timedelta(days=1)) is False


def test_an_access_is_checked_against_the_current_time_by_default():
    access = make_access(valid_from=MIDNIGHT, valid_until=MIDNIGHT + timedelta(days=1))
    with time_machine.travel(MIDNIGHT + timedelta(hours=12), tick=False):
        assert access.is_active() is True
    with time_machine.travel(MIDNIGHT + timedelta(days=1), tick=False):
        assert access.is_active() is False


def test_a_cvr_with_a_trailing_newline_is_refused_on_every_database():
    # SQLite ignores the column length, so only the check constraint stops it there;
    # PostgreSQL already refuses the ninth character.
    from django.db import DataError

    before = Organisation.objects.count()
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        Organisation.objects.create(cvr="12345678\n", name="X", kind=Organisation.Kind.COMPANY)
    assert Organisation.objects.count() == before


# ContactVerification (a pending new e-mail address or mobile number)


def _verification(person, **fields):
    from django.utils import timezone

    from rights.models import ContactVerification

    fields.setdefault("channel", ContactVerification.Channel.EMAIL)
    return ContactVerification.objects.create(
        person=person, address="new@example.dk", code_hash="0" * 64, expires_at=timezone.now(), **fields
    )


def test_a_person_has_one_pending_verification_per_channel():
    from rights.models import ContactVerification

    person = PersonFactory()
    _verification(person)
    _verification(person, channel=ContactVerification.Channel.SMS)
    with violates("contactverification_one_pending_per_channel", ContactVerification):
        _verification(person)


def test_a_verification_is_by_email_or_sms():
    from rights.models import ContactVerification

    with violates("contactverification_channel_valid", ContactVerification):
        _verification(PersonFactory(), channel="PIGEON")
