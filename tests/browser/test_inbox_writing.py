"""A citizen replies to a letter, and writes to an authority found through search suggestions."""

import pytest

from mailbox.models import Folder, MailboxItem, Message
from tests.browser.conftest import log_in, shot
from tests.factories import OrganisationFactory, PersonFactory, make_contact_point
from tests.mailbox.writing.helpers import delivered_letter, recipient_system

pytestmark = pytest.mark.django_db(transaction=True)


class _RunAtOnce:
    """Outside a test transaction on_commit runs at once; this stands in for the capture fixture."""

    def __call__(self, execute=True):
        from contextlib import nullcontext

        return nullcontext()


def test_a_citizen_replies_to_a_letter(page):
    town = OrganisationFactory(name="Byens Kommune")
    system = recipient_system(town, default=True)
    anna = PersonFactory(name="Anna Andersen")
    item = delivered_letter(_RunAtOnce(), authority=town, mailbox=anna.mailbox)

    log_in(page, anna)
    page.goto(f"/post/message/{item.pk}/")
    page.get_by_role("link", name="Reply").click()
    page.get_by_label("Message").fill("Tak, jeg kommer gerne.")
    shot(page, "writing-reply-form")
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    shot(page, "writing-reply-sent")

    assert "Your message was sent to Byens Kommune." in page.content()
    reply = Message.objects.get(sender_person=anna)
    assert reply.reply_to == item.message and reply.recipient_system == system
    assert MailboxItem.objects.get(message=reply).folder.kind == Folder.Kind.SENT


def test_a_citizen_writes_to_an_authority_found_through_suggestions(page):
    town = OrganisationFactory(name="Byens Kommune")
    recipient_system(town, default=True)
    point = make_contact_point(
        town,
        label="Parkering og bøder",
        keywords=["p-afgift"],
        info_text="Klager over parkeringsafgifter.",
        field1_label="Registreringsnummer",
        field1_required=True,
    )
    anna = PersonFactory(name="Anna Andersen")

    log_in(page, anna)
    page.goto("/post/write/")
    page.get_by_label("Search for a contact point").press_sequentially("afgift", delay=30)
    suggestion = page.locator("#suggestions").get_by_role("link", name="Parkering og bøder")
    suggestion.wait_for()
    shot(page, "writing-search-suggestions")
    suggestion.click()
    page.wait_for_url(f"**/post/write/{point.deep_link_key}/")

    page.get_by_label("Title").fill("Klage over afgift")
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    shot(page, "writing-write-error")
    assert page.locator("#id_field1-error1").is_visible()

    page.get_by_label("Registreringsnummer").fill("AB 12 345")
    page.get_by_label("Message").fill("Jeg holdt lovligt parkeret.")
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    shot(page, "writing-write-sent")

    assert "Your message was sent to Byens Kommune, Parkering og bøder." in page.content()
    message = Message.objects.get(sender_person=anna)
    assert message.contact_point == point and message.label == "Klage over afgift"


def test_a_citizen_browses_the_contact_tree_and_saves_a_draft(page):
    from contactstructure.models import ContactGroup
    from mailbox.models import Draft

    town = OrganisationFactory(name="Byens Kommune")
    family = ContactGroup.objects.create(
        organisation=town, label="Familie og børn", info_text="Dagtilbud og skole"
    )
    point = make_contact_point(
        town, label="Pladsanvisningen", group=family, info_text="Om pladser i dagtilbud"
    )
    anna = PersonFactory(name="Anna Andersen")

    log_in(page, anna)
    page.goto("/post/write/")
    page.get_by_role("link", name="Byens Kommune").click()
    page.get_by_text("Familie og børn").click()
    shot(page, "writing-browse-tree")
    page.get_by_role("link", name="Pladsanvisningen").click()
    # Nothing can receive it yet: the form says so, and a draft can still be saved.
    assert page.get_by_text("cannot receive messages right now").is_visible()
    page.get_by_label("Title").fill("Plads til Ida")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()
    page.goto("/post/drafts/")
    shot(page, "writing-drafts")

    assert page.get_by_role("link", name="Plads til Ida").is_visible()
    assert Draft.objects.get(author=anna).contact_point == point
