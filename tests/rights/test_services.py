"""organisation_create, person_create and staff_role_grant: what they make, and what they refuse."""

import pytest
from django.core.exceptions import ValidationError

from mailbox.models import Folder, Mailbox
from rights.models import Organisation, Person, StaffRole, User
from rights.services import organisation_create, person_create, staff_role_grant
from tests.factories import OrganisationFactory, PersonFactory, row_counts

pytestmark = pytest.mark.django_db

STANDARD_FOLDERS = {("INBOX", "INBOX"), ("SENT", "SENT"), ("DRAFTS", "DRAFTS"), ("BIN", "BIN")}


def _counts():
    return row_counts(Organisation, Person, Mailbox, Folder, User, StaffRole)


def _folders(mailbox):
    return set(Folder.objects.filter(mailbox=mailbox).values_list("kind", "name"))


# organisation_create


def test_it_creates_an_organisation_with_a_mailbox_and_the_four_standard_folders():
    before = _counts()
    organisation = organisation_create(
        cvr=" 12345678 ", name="  Test Kommune ", kind=Organisation.Kind.AUTHORITY
    )
    organisation.refresh_from_db()
    assert (organisation.cvr, organisation.name) == ("12345678", "Test Kommune")
    assert Mailbox.objects.get(owner_organisation=organisation).status == Mailbox.Status.ACTIVE
    assert _folders(organisation.mailbox) == STANDARD_FOLDERS
    after = _counts()
    assert after == {
        **before,
        "Organisation": before["Organisation"] + 1,
        "Mailbox": before["Mailbox"] + 1,
        "Folder": before["Folder"] + 4,
    }


def test_it_lets_an_authority_hold_the_sender_powers():
    authority = organisation_create(
        cvr="12345678",
        name="Skattestyrelsen",
        kind=Organisation.Kind.AUTHORITY,
        may_send_legal_notification=True,
        may_send_mandatory_post=True,
    )
    authority.refresh_from_db()
    assert (authority.may_send_legal_notification, authority.may_send_mandatory_post) == (True, True)


@pytest.mark.parametrize("cvr", ["1234567", "123456789", "1234567a", "12-345678", "", "        "])
def test_it_refuses_a_cvr_that_is_not_8_digits(cvr):
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        organisation_create(cvr=cvr, name="Bad", kind=Organisation.Kind.COMPANY)
    assert refused.value.message_dict == {"cvr": ["A CVR number is 8 digits."]}
    assert _counts() == before


def test_it_refuses_a_cvr_that_is_already_registered():
    OrganisationFactory(cvr="12345678")
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        organisation_create(cvr=" 12345678", name="Twin", kind=Organisation.Kind.COMPANY)
    assert refused.value.message_dict == {"cvr": ["An organisation with CVR 12345678 already exists."]}
    assert _counts() == before


@pytest.mark.parametrize("kind", ["CHARITY", "authority", ""])
def test_it_refuses_an_unknown_kind(kind):
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        organisation_create(cvr="12345678", name="Odd", kind=kind)
    assert list(refused.value.message_dict) == ["kind"]
    assert _counts() == before


@pytest.mark.parametrize("power", ["may_send_legal_notification", "may_send_mandatory_post"])
def test_it_refuses_a_sender_power_for_a_company(power):
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        organisation_create(cvr="12345678", name="A/S", kind=Organisation.Kind.COMPANY, **{power: True})
    assert refused.value.message_dict == {
        "kind": ["Only authorities may send legal notifications or mandatory post."]
    }
    assert _counts() == before


def test_it_refuses_an_organisation_without_a_name():
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        organisation_create(cvr="12345678", name="   ", kind=Organisation.Kind.COMPANY)
    assert refused.value.message_dict == {"name": ["An organisation needs a name."]}
    assert _counts() == before


# person_create


def test_it_creates_a_person_with_a_login_a_mailbox_and_the_four_standard_folders():
    before = _counts()
    person = person_create(cpr="010190-1234", name=" Karen Kristensen ", email="k@example.dk")
    person.refresh_from_db()
    assert (person.cpr, person.name) == ("0101901234", "Karen Kristensen")
    assert (person.email_verified, person.mobile_verified) == (True, False)
    assert person.user.username == "cpr-0101901234"
    assert person.user.has_usable_password() is False
    assert _folders(person.mailbox) == STANDARD_FOLDERS
    assert _counts() == {
        **before,
        "Person": before["Person"] + 1,
        "User": before["User"] + 1,
        "Mailbox": before["Mailbox"] + 1,
        "Folder": before["Folder"] + 4,
    }


def test_it_creates_a_person_without_a_login_when_asked():
    users = User.objects.count()
    person = person_create(cpr="0101901234", name="No Login", with_login=False)
    assert person.user is None
    assert User.objects.count() == users
    assert _folders(person.mailbox) == STANDARD_FOLDERS


@pytest.mark.parametrize("cpr", ["010190123", "01019012345", "010190123a", "0101 901234", ""])
def test_it_refuses_a_cpr_that_is_not_10_digits(cpr):
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        person_create(cpr=cpr, name="Bad")
    assert refused.value.message_dict == {"cpr": ["A CPR number is 10 digits (DDMMYYXXXX)."]}
    assert _counts() == before


@pytest.mark.parametrize("written", ["0101901234", "010190-1234"])
def test_it_refuses_a_cpr_that_is_already_registered(written):
    PersonFactory(cpr="0101901234")
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        person_create(cpr=written, name="Twin")
    assert refused.value.message_dict == {"cpr": ["A person with CPR 0101901234 already exists."]}
    assert _counts() == before


def test_it_refuses_a_person_without_a_name():
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        person_create(cpr="0101901234", name="  ")
    assert refused.value.message_dict == {"name": ["A person needs a name."]}
    assert _counts() == before


# staff_role_grant


def test_granting_a_role_twice_keeps_one_row_and_the_first_grantor():
    authority, admin, other_admin, clerk = (
        OrganisationFactory(),
        PersonFactory(),
        PersonFactory(),
        PersonFactory(),
    )
    first = staff_role_grant(
        user=clerk.user,
        organisation=authority,
        role=StaffRole.Role.CITIZEN_SERVICE,
        granted_by=admin.user,
    )
    again = staff_role_grant(
        user=clerk.user,
        organisation=authority,
        role=StaffRole.Role.CITIZEN_SERVICE,
        granted_by=other_admin.user,
    )
    assert again.pk == first.pk
    assert StaffRole.objects.filter(user=clerk.user).count() == 1
    again.refresh_from_db()
    assert again.granted_by == admin.user


def test_granting_another_role_adds_a_row():
    authority, clerk = OrganisationFactory(), PersonFactory()
    for role in (StaffRole.Role.CITIZEN_SERVICE, StaffRole.Role.EVENT_LOG_READER):
        staff_role_grant(user=clerk.user, organisation=authority, role=role)
    assert set(StaffRole.objects.filter(user=clerk.user).values_list("role", flat=True)) == {
        "CITIZEN_SERVICE",
        "EVENT_LOG_READER",
    }


@pytest.mark.parametrize("role", ["SUPERUSER", "citizen_service", ""])
def test_it_refuses_an_unknown_role(role):
    authority, clerk = OrganisationFactory(), PersonFactory()
    with pytest.raises(ValidationError) as refused:
        staff_role_grant(user=clerk.user, organisation=authority, role=role)
    assert refused.value.message_dict == {"role": [f"Unknown role {role!r}."]}
    assert StaffRole.objects.count() == 0
