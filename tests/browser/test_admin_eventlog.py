"""Staff recall a value-dated message, confirming first, then find the recall in the event log."""

from __future__ import annotations

import pytest

from adminaccess.models import Event
from adminaccess.selectors import PAGE_SIZE
from mailbox.models import Delivery, Message
from tests.adminaccess.eventlog.helpers import Role, held, staff_member
from tests.browser.conftest import log_in, shot
from tests.factories import OrganisationFactory, PersonFactory, make_message, make_system

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_recall_a_held_message_and_find_the_recall_in_the_event_log(page):
    kommune = OrganisationFactory(name="Browserby Kommune")
    system = make_system(kommune, name="Ydelsessystem")[0]
    message = held(kommune, system, recipient=PersonFactory(name="Modtager Mia"), label="Boligstøtte 2027")
    staff = staff_member(
        kommune, Role.RECALL_ADMINISTRATOR, Role.EVENT_LOG_READER, name="Sagsbehandler Sofie"
    )

    log_in(page, staff)
    page.goto("/admin/recall/")
    row = page.locator("#held tbody tr", has_text="Boligstøtte 2027")
    assert row.count() == 1
    shot(page, "admin-recall-search")
    row.get_by_role("link", name="Recall").click()

    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Recall a message"
    shot(page, "admin-recall-confirm")
    page.get_by_role("button", name="Yes, recall the message").click()
    page.wait_for_load_state()
    assert "was recalled" in page.locator(".alert-success").inner_text()
    shot(page, "admin-recall-done")
    message.refresh_from_db()
    assert message.state == Message.State.RECALLED
    assert Delivery.objects.get(message=message).state == Delivery.State.CANCELLED

    page.goto("/admin/events/")
    page.get_by_label("Event", exact=True).select_option("MESSAGE_RECALLED_BY_ADMINISTRATOR")
    page.get_by_label("Message UUID").fill(str(message.message_uuid))
    page.get_by_role("button", name="Show events").click()
    page.wait_for_load_state()
    rows = page.locator("#events tbody tr")
    assert rows.count() == 1
    text = rows.first.inner_text()
    assert "MESSAGE_RECALLED_BY_ADMINISTRATOR" in text
    assert "Sagsbehandler Sofie" in text
    assert str(message.message_uuid) in text
    shot(page, "admin-eventlog-recall")


def test_usage_statistics_show_charts_with_a_table_behind_each(page):
    kommune = OrganisationFactory(name="Statistikby Kommune")
    system = make_system(kommune, name="Ydelsessystem")[0]
    for _ in range(3):
        make_message(sender=kommune, sender_system=system)
    staff = staff_member(kommune, Role.EVENT_LOG_READER, name="Analytiker Anna")

    log_in(page, staff)
    page.goto("/admin/statistics/")
    assert page.locator("h1").inner_text() == "Usage statistics"
    assert page.locator(".usage-chart").count() == 2
    today = page.locator("#days tbody tr").last
    assert today.locator("td").first.inner_text() == "3"  # sent today
    assert "Ydelsessystem" in page.locator("#systems").inner_text()
    shot(page, "admin-usage-statistics")


def test_older_events_load_in_place_and_the_address_follows(page):
    kommune = OrganisationFactory(name="Sideby Kommune")
    Event.objects.bulk_create(
        Event(tag=Event.Tag.SYSTEM_CHANGED, organisation=kommune, details={"n": n})
        for n in range(PAGE_SIZE + 5)
    )
    staff = staff_member(kommune, Role.EVENT_LOG_READER, name="Læser Lars")

    log_in(page, staff)
    page.goto("/admin/events/?tag=SYSTEM_CHANGED")
    assert page.locator("#events tbody tr").count() == PAGE_SIZE
    page.evaluate("window.notReloaded = true")
    page.get_by_role("link", name="Older events").click()
    page.wait_for_url("**after=**")
    page.locator("#events tbody tr").nth(4).wait_for()
    assert page.locator("#events tbody tr").count() == 5
    assert page.evaluate("window.notReloaded") is True  # swapped in place by htmx
    assert page.get_by_label("Event", exact=True).input_value() == "SYSTEM_CHANGED"
    shot(page, "admin-eventlog-older")
