"""Citizen service and the test portal in a real browser: exempt a citizen, send a test message."""

import pytest

from adminaccess.access import Role
from adminaccess.models import Event
from mailbox.models import Exemption, Message
from rights.services import staff_role_grant
from tests.browser.conftest import log_in, shot
from tests.factories import OrganisationFactory, PersonFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def organisation():
    return OrganisationFactory(name="Aarhus Kommune")


def test_citizen_service_staff_exempt_a_citizen(page, organisation):
    staff = PersonFactory(name="Bente Borgerservice")
    staff_role_grant(user=staff.user, organisation=organisation, role=Role.CITIZEN_SERVICE)
    citizen = PersonFactory(cpr="0101801234", name="Karen Hansen", address="Vestergade 1\n8000 Aarhus C")

    log_in(page, staff)
    page.goto("/admin/citizen-service/")
    page.get_by_label("CPR or CVR number").fill("010180-1234")
    page.get_by_role("button", name="Look up").click()
    page.get_by_role("heading", name="Karen Hansen").wait_for()
    shot(page, "citizen-service-person")

    page.get_by_role("link", name="Exempt from Digital Post").click()
    assert page.get_by_label("Address for remote print").input_value() == "Vestergade 1\n8000 Aarhus C"
    page.get_by_label("Reason").fill("No computer at home")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm exemption").wait_for()
    shot(page, "citizen-service-confirm-exemption")
    page.get_by_role("button", name="Confirm exemption").click()

    page.get_by_text("The exemption is registered.").wait_for()
    shot(page, "citizen-service-exempted")
    assert "Exempt" in page.locator("#exemption-status").inner_text()
    exemption = Exemption.objects.get(mailbox=citizen.mailbox)
    assert (exemption.reason, exemption.created_by) == ("No computer at home", staff.user)
    assert Event.objects.filter(tag=Event.Tag.DIGITAL_POST_EXEMPTED, actor_user=staff.user).count() == 1


def test_a_system_administrator_sends_a_test_message_from_the_test_portal(page, organisation):
    admin = PersonFactory(name="Sune Systemadministrator")
    staff_role_grant(user=admin.user, organisation=organisation, role=Role.SYSTEM_ADMINISTRATOR)

    log_in(page, admin)
    page.goto("/admin/test-portal/")
    page.get_by_role("link", name="New test citizen").click()
    page.get_by_label("Name").fill("Test Testesen")
    page.get_by_role("button", name="Create").click()
    page.get_by_text("Test citizen Test Testesen").wait_for()
    shot(page, "test-portal-identities")

    page.get_by_role("link", name="Send a test message – Test Testesen").click()
    assert (
        page.get_by_label("Recipient").locator("option:checked").inner_text().startswith("Test Testesen (CPR")
    )
    page.get_by_label("Title").fill("Testbrev fra portalen")
    page.locator("#id_text").fill("Dette er en test.")
    shot(page, "test-portal-send")
    page.get_by_role("button", name="Send test message").click()

    page.get_by_role("heading", name="Receipt").wait_for()
    shot(page, "test-portal-receipt")
    assert "RECEIVED" in page.locator("#receipt").inner_text()
    message = Message.objects.get(label="Testbrev fra portalen")
    assert message.recipient_mailbox.owner_person.name == "Test Testesen"

    page.get_by_role("button", name="Open the test inbox").click()
    page.wait_for_url("**/post/")
    page.get_by_text("Testbrev fra portalen").first.wait_for()
    shot(page, "test-portal-test-inbox")
