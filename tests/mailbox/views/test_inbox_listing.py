"""The folder listing: search, sort, filters, pages, and a constant number of queries."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mailbox.models import Folder, MailboxItem, MessageText
from mailbox.search import extract_text, message_texts_index, message_texts_sweep
from tests.factories import OrganisationFactory, PersonFactory, make_message
from tests.mailbox.views.helpers import (
    deliver_letter,
    html_file,
    logged_in,
    pdf_file,
    self_service,
    text_file,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna():
    return PersonFactory(name="Anna Andersen")


def _titles(response) -> list[str]:
    return re.findall(r'<a href="/post/message/\d+/">([^<]+)</a>', response.content.decode())


def _letters(anna):
    skat = OrganisationFactory(name="Skattestyrelsen")
    kommune = OrganisationFactory(name="Aarhus Kommune")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    deliver_letter(sender=kommune, recipient=anna, label="Bibliotek", at=start)
    deliver_letter(
        sender=skat,
        recipient=anna,
        label="Årsopgørelse",
        files=[pdf_file("Din restskat er 1200 kroner")],
        at=start + timedelta(days=1),
    )
    deliver_letter(
        sender=kommune,
        recipient=anna,
        label="Affald",
        files=[html_file("<p>Storskrald hentes</p><script>hemmelig()</script>")],
        reply=True,
        reply_by=datetime(2031, 1, 1, tzinfo=UTC),
        at=start + timedelta(days=2),
    )
    return skat, kommune


def test_it_lists_newest_first_and_sorts_both_ways(anna):
    _letters(anna)
    client = logged_in(anna)
    assert _titles(client.get("/post/")) == ["Affald", "Årsopgørelse", "Bibliotek"]
    assert _titles(client.get("/post/?sort=received")) == ["Bibliotek", "Årsopgørelse", "Affald"]
    assert _titles(client.get("/post/?sort=title")) == ["Affald", "Bibliotek", "Årsopgørelse"]
    assert _titles(client.get("/post/?sort=-title")) == ["Årsopgørelse", "Bibliotek", "Affald"]
    assert _titles(client.get("/post/?sort=sender")) == ["Affald", "Bibliotek", "Årsopgørelse"]
    assert _titles(client.get("/post/?sort=-sender")) == ["Årsopgørelse", "Affald", "Bibliotek"]
    assert _titles(client.get("/post/?sort=nonsense")) == ["Affald", "Årsopgørelse", "Bibliotek"]


def test_it_filters_unread_sender_and_deadline(anna):
    skat, _ = _letters(anna)
    MailboxItem.objects.filter(message__label="Bibliotek").update(read_at=timezone.now())
    client = logged_in(anna)
    assert _titles(client.get("/post/?unread=on")) == ["Affald", "Årsopgørelse"]
    assert _titles(client.get(f"/post/?sender={skat.cvr}")) == ["Årsopgørelse"]
    assert _titles(client.get("/post/?deadline=on")) == ["Affald"]


def test_an_action_deadline_counts_as_a_deadline(anna):
    kommune = OrganisationFactory()
    deliver_letter(sender=kommune, recipient=anna, label="Betal", actions=[self_service(end=timezone.now())])
    deliver_letter(sender=kommune, recipient=anna, label="Info")
    assert _titles(logged_in(anna).get("/post/?deadline=on")) == ["Betal"]


def test_it_searches_title_and_sender_at_once_and_document_text_once_indexed(anna):
    _letters(anna)
    client = logged_in(anna)
    assert _titles(client.get("/post/?q=skattestyrelsen")) == ["Årsopgørelse"]
    assert _titles(client.get("/post/?q=biblio")) == ["Bibliotek"]
    assert _titles(client.get("/post/?q=restskat")) == []
    message_texts_index(message_ids=list(MailboxItem.objects.values_list("message_id", flat=True)))
    assert _titles(client.get("/post/?q=restskat")) == ["Årsopgørelse"]
    assert _titles(client.get("/post/?q=storskrald")) == ["Affald"]
    # Scripts in an HTML letter are not text anyone reads.
    assert _titles(client.get("/post/?q=hemmelig")) == []
    assert _titles(client.get("/post/?q=storskrald+bibliotek")) == []


def test_a_search_answers_with_the_listing_alone_for_htmx(anna):
    _letters(anna)
    response = logged_in(anna).get(
        "/post/?q=affald", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="mailbox-listing"
    )
    body = response.content.decode()
    assert "<html" not in body
    assert "1 letter matches" in body


def test_it_pages_through_a_big_folder(anna):
    sender = OrganisationFactory()
    for n in range(30):
        make_message(sender=sender, recipient=anna, label=f"Brev {n:02d}")
    client = logged_in(anna)
    first, second = client.get("/post/"), client.get("/post/?page=2")
    assert len(_titles(first)) == 25 and len(_titles(second)) == 5
    assert 'aria-current="page"' in first.content.decode()
    assert "page=2" in first.content.decode()
    assert _titles(client.get("/post/?page=99")) == _titles(second)
    # A searched listing is paged the same way, past its end too.
    assert len(_titles(client.get("/post/?q=brev&page=2"))) == 5
    assert _titles(client.get("/post/?q=brev&page=99")) == _titles(second)
    assert "30 letters match" in client.get("/post/?q=brev&page=abc").content.decode()


def _inbox_queries(client, url="/post/") -> int:
    # Cold: the sender list is cached per folder content, and a cached page needs one query less.
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_mailbox(anna):
    sender = OrganisationFactory()
    client = logged_in(anna)
    for _ in range(5):
        deliver_letter(
            sender=sender,
            recipient=anna,
            files=[text_file("x"), text_file("y", "y.txt")],
            reply=True,
            reply_by=timezone.now(),
        )
    few = _inbox_queries(client)
    few_search = _inbox_queries(client, "/post/?q=brev&sort=sender&deadline=on")
    for n in range(45):
        make_message(
            sender=OrganisationFactory(), recipient=anna, label=f"Et brev {n}", reply_by=timezone.now()
        )
    assert _inbox_queries(client) == few
    assert _inbox_queries(client, "/post/?q=brev&sort=sender&deadline=on") == few_search
    assert _inbox_queries(client, "/post/?page=2") == few


def _sender_options(response) -> list[str]:
    select = re.search(
        r'<select class="form-select" id="id_sender".*?</select>', response.content.decode(), re.S
    )
    return re.findall(r'<option value="([^"]*)"', select.group(0)) if select else []


def test_the_sender_filter_follows_letters_arriving_moving_and_being_emptied(anna):
    skat, kommune, politi = (OrganisationFactory(name=n) for n in ("Skat", "Kommunen", "Politiet"))
    client = logged_in(anna)
    from_skat = deliver_letter(sender=skat, recipient=anna)
    from_kommune = deliver_letter(sender=kommune, recipient=anna)
    assert _sender_options(client.get("/post/")) == ["", kommune.cvr, skat.cvr]
    # Twice: the second page view reads the cached list, which must be the same.
    assert _sender_options(client.get("/post/")) == ["", kommune.cvr, skat.cvr]
    archive = Folder.objects.create(mailbox=anna.mailbox, kind=Folder.Kind.CUSTOM, name="Arkiv")
    MailboxItem.objects.filter(pk=from_kommune.pk).update(folder=archive)
    assert _sender_options(client.get("/post/")) == ["", skat.cvr]
    assert _sender_options(client.get(f"/post/folder/{archive.pk}/")) == ["", kommune.cvr]
    deliver_letter(sender=politi, recipient=anna)
    assert _sender_options(client.get("/post/")) == ["", politi.cvr, skat.cvr]
    MailboxItem.objects.filter(pk=from_skat.pk).update(deleted_at=timezone.now())
    assert _sender_options(client.get("/post/")) == ["", politi.cvr]
    MailboxItem.objects.filter(pk=from_kommune.pk).update(folder=from_skat.folder)
    assert _sender_options(client.get("/post/")) == ["", kommune.cvr, politi.cvr]


def test_a_listing_row_has_the_same_flag_form_as_the_flag_template(anna):
    client = logged_in(anna)
    item = deliver_letter(sender=OrganisationFactory(), recipient=anna, label="Rød & grøn")
    MailboxItem.objects.filter(pk=item.pk).update(flagged=True)
    item.refresh_from_db()
    for url in ("/post/", "/post/?q=r%C3%B8d&sort=title"):
        response = client.get(url)
        form = render_to_string(
            "mailbox/_flag.html",
            {
                "item": item,
                "compact": True,
                "next": url,
                "csrf_token": response.context["csrf_token"],
                "request": response.wsgi_request,
            },
        )
        assert 'aria-pressed="true"' in form
        assert form in response.content.decode()


def test_indexing_is_idempotent_and_the_sweep_finds_what_was_left(anna):
    sender = OrganisationFactory()
    items = [deliver_letter(sender=sender, recipient=anna, files=[text_file(f"tekst {n}")]) for n in range(3)]
    assert message_texts_index(message_ids=[items[0].message_id]) == 1
    assert message_texts_index(message_ids=[items[0].message_id]) == 0
    assert message_texts_sweep(batch=1) == 2
    assert message_texts_sweep() == 0
    assert sorted(MessageText.objects.values_list("text", flat=True)) == ["tekst 0", "tekst 1", "tekst 2"]


def test_the_command_indexes_what_is_not_yet_indexed(anna, capsys):
    deliver_letter(sender=OrganisationFactory(), recipient=anna, files=[text_file("noget")])
    call_command("index_messages")
    call_command("index_messages")
    assert capsys.readouterr().out.splitlines() == ["Indexed 1 messages.", "Indexed 0 messages."]


def test_a_damaged_pdf_is_recorded_not_retried(anna):
    from memo import model as m

    broken = m.File.from_bytes(b"%PDF-1.4 garbage", filename="x.pdf", encoding_format="application/pdf")
    item = deliver_letter(sender=OrganisationFactory(), recipient=anna, files=[broken])
    message_texts_index(message_ids=[item.message_id])
    row = MessageText.objects.get(pk=item.message_id)
    assert row.text == ""
    assert [p["file"] for p in row.problems] == ["x.pdf"]
    assert message_texts_sweep() == 0


def test_delivery_queues_the_indexing_after_commit(anna, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        deliver_letter(sender=OrganisationFactory(), recipient=anna, files=[text_file("x")])
    # message_deliver_to_mailbox is the plain service; the engine and the release queue the task.
    from mailbox.search import message_texts_index_later

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message_texts_index_later(message_ids=list(MailboxItem.objects.values_list("message_id", flat=True)))
    assert len(callbacks) == 1
    assert MessageText.objects.get().text == "x"


def test_extract_text_reads_text_html_and_pdf():
    assert extract_text(b"Hej\r\n\r\n\r\nverden", "text/plain; charset=utf-8") == "Hej\nverden"
    assert extract_text(b"<style>x{}</style><p>A&amp;B</p>", "text/html") == "A&B"
    assert "Din restskat" in extract_text(pdf_file("Din restskat").data, "application/pdf")
    assert extract_text(b"\x00\x01", "application/octet-stream") == ""


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_full_text_search_on_postgresql_stems_and_matches_prefixes(anna):
    _letters(anna)
    message_texts_index(message_ids=list(MailboxItem.objects.values_list("message_id", flat=True)))
    assert MessageText.objects.exclude(vector=None).count() == 3
    client = logged_in(anna)
    assert _titles(client.get("/post/?q=restskat")) == ["Årsopgørelse"]
    assert _titles(client.get("/post/?q=skatte")) == ["Årsopgørelse"]  # prefix of the sender
    assert _titles(client.get("/post/?q=kroner")) == ["Årsopgørelse"]
    assert _titles(client.get("/post/?q=Storskrald+hentes")) == ["Affald"]
    assert _titles(client.get("/post/?q=hemmelig")) == []
    # Not yet indexed: still found by title and sender.
    deliver_letter(sender=OrganisationFactory(name="Politiet"), recipient=anna, label="Bødeforelæg")
    assert _titles(client.get("/post/?q=politi")) == ["Bødeforelæg"]
    assert _titles(client.get("/post/?q=bødeforelæg")) == ["Bødeforelæg"]
