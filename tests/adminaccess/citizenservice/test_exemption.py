"""Exempting a citizen from Digital Post, and ending the exemption, on their behalf."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from adminaccess.access import Role
from adminaccess.models import Event
from mailbox.models import Exemption, Message
from mailbox.sending import memo_send
from tests.adminaccess.citizenservice.helpers import api_letter, look_up, make_staff, party_url
from tests.factories import OrganisationFactory, PersonFactory, make_exemption, make_system, row_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def organisation():
    return OrganisationFactory(name="Borgerservice Kommune")


@pytest.fixture
def staff(client, organisation):
    staff = make_staff(Role.CITIZEN_SERVICE, organisation=organisation)
    client.force_login(staff.user)
    return staff


@pytest.fixture
def citizen(client, staff):
    citizen = PersonFactory(cpr="0101801234", name="Karen Hansen", address="Vestergade 1\n8000 Aarhus C")
    look_up(client, citizen.cpr)
    return citizen


def _exempt(client, citizen, **fields):
    data = {"reason": "No computer", "valid_from": "", "valid_until": "", "print_address": "Vestergade 1"}
    data.update(fields)
    return client.post(party_url(citizen.mailbox, "exempt"), data)


def test_the_form_offers_the_persons_address_for_remote_print(client, citizen):
    response = client.get(party_url(citizen.mailbox, "exempt"))

    assert response.status_code == 200
    assert response.context["form"]["print_address"].value() == "Vestergade 1\n8000 Aarhus C"


def test_it_asks_for_confirmation_before_exempting(client, citizen):
    before = row_counts(Exemption, Event)

    response = _exempt(client, citizen)

    assert response.status_code == 200
    assert response.templates[0].name == "adminaccess/citizenservice/action_confirm.html"
    assert "Confirm exemption" in response.content.decode()
    assert row_counts(Exemption, Event) == before


def test_it_exempts_naming_the_staff_member_and_organisation(client, staff, organisation, citizen):
    until = timezone.localdate() + timedelta(days=30)

    response = _exempt(client, citizen, valid_until=until.isoformat(), confirm="1")

    assert response.status_code == 302
    assert response["Location"] == party_url(citizen.mailbox)
    exemption = Exemption.objects.get(mailbox=citizen.mailbox)
    assert (exemption.reason, exemption.valid_from, exemption.valid_until, exemption.print_address) == (
        "No computer",
        timezone.localdate(),
        until,
        "Vestergade 1",
    )
    assert exemption.created_by == staff.user
    event = Event.objects.get(tag=Event.Tag.DIGITAL_POST_EXEMPTED)
    assert (event.actor_user, event.organisation, event.mailbox, event.subject) == (
        staff.user,
        organisation,
        citizen.mailbox,
        "0101801234",
    )


def test_after_the_exemption_the_next_api_letter_goes_to_remote_print(client, citizen):
    _exempt(client, citizen, confirm="1")
    sender, _ = make_system(OrganisationFactory(name="Aarhus Kommune"))
    data, message_uuid = api_letter(sender.organisation, citizen.cpr)

    result = memo_send(data=data, system=sender, expected_uuid=message_uuid)

    assert result.receipt.status == "RECEIVED"
    message = Message.objects.get(message_uuid=message_uuid)
    assert (message.channel, message.recipient_mailbox) == (Message.Channel.REMOTE_PRINT, citizen.mailbox)


def test_it_refuses_an_end_date_in_the_past_and_changes_nothing(client, citizen):
    before = row_counts(Exemption, Event)

    response = _exempt(client, citizen, valid_until=date(2020, 1, 1).isoformat(), confirm="1")

    assert response.status_code == 400
    assert response.context["form"].errors["valid_until"] == ["An exemption cannot end before it starts."]
    assert row_counts(Exemption, Event) == before


def test_it_refuses_an_empty_print_address_and_changes_nothing(client, citizen):
    before = row_counts(Exemption, Event)

    response = _exempt(client, citizen, print_address="  ", confirm="1")

    assert response.status_code == 400
    assert "print_address" in response.context["form"].errors
    assert row_counts(Exemption, Event) == before


def test_it_refuses_a_second_exemption_and_changes_nothing(client, citizen):
    make_exemption(mailbox=citizen.mailbox)
    before = row_counts(Exemption, Event)

    response = _exempt(client, citizen, confirm="1")

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == ["CPR 0101801234 is already exempt."]
    assert row_counts(Exemption, Event) == before


def test_it_ends_an_exemption_naming_the_staff_member(client, staff, organisation, citizen):
    exemption = make_exemption(mailbox=citizen.mailbox)
    assert client.get(party_url(citizen.mailbox, "end-exemption")).status_code == 200

    response = client.post(party_url(citizen.mailbox, "end-exemption"), {"confirm": "1"})

    assert response.status_code == 302
    exemption.refresh_from_db()
    assert exemption.ended_at is not None
    assert exemption.ended_by == staff.user
    event = Event.objects.get(tag=Event.Tag.DIGITAL_POST_EXEMPTION_ENDED)
    assert (event.actor_user, event.organisation, event.mailbox) == (
        staff.user,
        organisation,
        citizen.mailbox,
    )


def test_ending_without_confirmation_changes_nothing(client, citizen):
    make_exemption(mailbox=citizen.mailbox)
    before = row_counts(Exemption, Event)

    response = client.post(party_url(citizen.mailbox, "end-exemption"), {})

    assert response.status_code == 200
    assert Exemption.objects.get(mailbox=citizen.mailbox).ended_at is None
    assert row_counts(Exemption, Event) == before


def test_it_refuses_to_end_an_exemption_that_does_not_exist(client, citizen):
    before = row_counts(Exemption, Event)

    response = client.post(party_url(citizen.mailbox, "end-exemption"), {"confirm": "1"})

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == ["CPR 0101801234 is not exempt."]
    assert row_counts(Exemption, Event) == before


def test_it_refuses_an_action_on_a_mailbox_not_looked_up(client, staff):
    stranger = PersonFactory()
    before = row_counts(Exemption, Event)

    response = client.post(
        party_url(stranger.mailbox, "exempt"), {"reason": "x", "print_address": "y", "confirm": "1"}
    )

    assert response.status_code == 404
    assert row_counts(Exemption, Event) == before


def test_it_exempts_a_company_at_the_print_address_given(client, staff, organisation):
    from tests.factories import CompanyFactory

    company = CompanyFactory(cvr="12345678", name="Tømrer ApS")
    look_up(client, company.cvr)
    url = party_url(company.mailbox, "exempt")
    assert client.get(url).context["form"]["print_address"].value() == ""

    response = client.post(url, {"reason": "Closing down", "print_address": "Industrivej 7", "confirm": "1"})

    assert response.status_code == 302
    exemption = Exemption.objects.get(mailbox=company.mailbox)
    assert (exemption.print_address, exemption.created_by) == ("Industrivej 7", staff.user)
    event = Event.objects.get(tag=Event.Tag.DIGITAL_POST_EXEMPTED)
    assert (event.subject, event.organisation) == ("12345678", organisation)
