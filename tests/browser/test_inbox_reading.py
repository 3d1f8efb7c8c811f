"""The inbox in a browser: read a letter, open and download its document, get the appointment."""

from __future__ import annotations

import pytest
from icalendar import Calendar

from mailbox.models import MailboxItem
from rights.models import Person
from tests.browser.conftest import log_in, shot
from tests.factories import OrganisationFactory, PersonFactory
from tests.mailbox.views.helpers import appointment, deliver_letter, pdf_file, text_file

pytestmark = pytest.mark.django_db(transaction=True)


def _english(person):
    # The login applies the person's language; the names below are the English msgids.
    Person.objects.filter(pk=person.pk).update(language="en")
    return person


def test_a_citizen_reads_a_letter_downloads_its_document_and_gets_the_appointment(page):
    anna = _english(PersonFactory(name="Anna Andersen"))
    authority = OrganisationFactory(name="Aarhus Kommune")
    deliver_letter(sender=authority, recipient=anna, label="Nyt om affald", files=[text_file("Affald.")])
    item = deliver_letter(
        sender=authority,
        recipient=anna,
        label="Tid til tandpleje",
        files=[pdf_file("Dit barn har fået en tid hos tandplejen.", filename="indkaldelse.pdf")],
        actions=[appointment()],
        mandatory=True,
    )

    log_in(page, anna)
    page.goto("/post/")
    row = page.locator("tr.unread", has_text="Tid til tandpleje")
    assert row.count() == 1
    shot(page, "inbox-reading-list")

    page.get_by_role("link", name="Tid til tandpleje").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Tid til tandpleje"
    assert page.get_by_text("Mandatory post").first.is_visible()
    assert MailboxItem.objects.get(pk=item.pk).read_at is not None
    shot(page, "inbox-reading-message")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download indkaldelse.pdf").click()
    download = download_info.value
    assert download.suggested_filename == "indkaldelse.pdf"
    with open(download.path(), "rb") as pdf:
        assert pdf.read(4) == b"%PDF"

    assert page.get_by_text("Tandklinikken, Skolevej 3, 8000 Aarhus C").is_visible()
    with page.expect_download() as ics_info:
        page.get_by_role("link", name="Add to calendar (.ics)").click()
    with open(ics_info.value.path(), "rb") as ics:
        [event] = Calendar.from_ical(ics.read()).walk("VEVENT")
    assert str(event["summary"]) == "Tandeftersyn"


def test_flagging_in_the_list_updates_in_place(page):
    anna = _english(PersonFactory(name="Anna Andersen"))
    item = deliver_letter(
        sender=OrganisationFactory(name="Skattestyrelsen"), recipient=anna, label="Årsopgørelse"
    )
    log_in(page, anna)
    page.goto("/post/")
    page.get_by_role("button", name="Flag Årsopgørelse").click()
    page.locator('button[aria-pressed="true"]').wait_for()
    assert page.url.endswith("/post/")
    assert MailboxItem.objects.get(pk=item.pk).flagged is True
    shot(page, "inbox-reading-flagged")


def test_searching_updates_the_list_in_place(page):
    anna = _english(PersonFactory(name="Anna Andersen"))
    deliver_letter(sender=OrganisationFactory(name="Skattestyrelsen"), recipient=anna, label="Årsopgørelse")
    deliver_letter(sender=OrganisationFactory(name="Aarhus Kommune"), recipient=anna, label="Affald")
    log_in(page, anna)
    page.goto("/post/")
    page.get_by_label("Search in sender, title and documents").fill("skat")
    page.locator("#mailbox-count", has_text="1 letter matches").wait_for()
    listing = page.locator("#mailbox-listing")
    assert listing.get_by_role("link", name="Årsopgørelse").is_visible()
    assert listing.get_by_role("link", name="Affald").count() == 0
    assert "q=skat" in page.url
    shot(page, "inbox-reading-search")


def test_several_letters_are_ticked_and_moved_to_the_bin_at_once(page):
    anna = _english(PersonFactory(name="Anna Andersen"))
    sender = OrganisationFactory(name="Aarhus Kommune")
    kept, *binned = [
        deliver_letter(sender=sender, recipient=anna, label=label)
        for label in ("Affald", "Bibliotek", "Parkering")
    ]
    log_in(page, anna)
    page.goto("/post/")
    for item in binned:
        page.get_by_label(f"Select: {item.message.label}").check()
    shot(page, "inbox-selection-ticked")

    page.get_by_role("button", name="Delete").click()
    page.wait_for_load_state()

    assert page.get_by_text("2 letters are in the bin.").is_visible()
    assert page.locator("#mailbox-listing").get_by_role("link", name="Affald").is_visible()
    assert page.locator("#mailbox-listing").get_by_role("link", name="Bibliotek").count() == 0
    kinds = dict(MailboxItem.objects.values_list("pk", "folder__kind"))
    assert (kinds[kept.pk], kinds[binned[0].pk], kinds[binned[1].pk]) == ("INBOX", "BIN", "BIN")
    shot(page, "inbox-selection-deleted")


def test_select_all_ticks_every_letter_on_the_page(page):
    anna = _english(PersonFactory(name="Anna Andersen"))
    sender = OrganisationFactory(name="Aarhus Kommune")
    items = [deliver_letter(sender=sender, recipient=anna, label=f"Brev {n}") for n in range(3)]
    log_in(page, anna)
    page.goto("/post/")

    select_all = page.get_by_label("Select all letters on this page")
    select_all.check()
    assert all(page.get_by_label(f"Select: Brev {n}").is_checked() for n in range(3))
    page.get_by_label("Select: Brev 1").uncheck()
    assert select_all.evaluate("box => box.indeterminate") is True
    page.get_by_label("Select: Brev 1").check()
    assert select_all.is_checked()
    shot(page, "inbox-selection-all")

    page.get_by_role("button", name="Mark as read").click()
    page.wait_for_load_state()
    assert page.get_by_text("3 letters are marked as read.").is_visible()
    assert all(item.read_at is not None for item in MailboxItem.objects.filter(pk__in=[i.pk for i in items]))
