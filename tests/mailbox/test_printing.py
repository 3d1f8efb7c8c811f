"""Remote print (fjernprint): print jobs are created, rendered and exported once each."""

import dataclasses
import io
import json
import uuid
from datetime import UTC, datetime

import pytest
from fpdf import FPDF
from pypdf import PdfReader

from adminaccess.models import Event
from mailbox.models import Message, PrintJob
from mailbox.print_export import FolderExporter, PrintExporter
from mailbox.printing import (
    html_to_text,
    print_job_create,
    print_job_render,
    print_jobs_export,
    print_letter,
    print_process,
)
from mailbox.services import message_store
from memo import model as m
from memo.writer import serialize
from rights.models import Person
from tests.factories import CompanyFactory, PersonFactory, make_exemption, make_message

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ADDRESS = "Vestergade 1, 2. th.\n8000 Aarhus C"


def _pdf(pages: int) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(0, 10, f"Afgørelse side {number}")
    return bytes(pdf.output())


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 20), "red").save(out, format="PNG")
    return out.getvalue()


def _file(data: bytes, filename: str, mime_type: str) -> m.File:
    return m.File.from_bytes(data, filename=filename, encoding_format=mime_type)


def _letter(sender, mailbox, documents: list[list[m.File]], *, label="Afgørelse om boligstøtte") -> Message:
    """A letter to an exempt recipient as the hub stores it: REMOTE_PRINT, ACCEPTED."""
    owner = mailbox.owner
    recipient_id = mailbox.owner_identifier
    memo = m.Message(
        memo_version="1.2",
        header=m.MessageHeader(
            message_type=m.MessageType.DIGITALPOST,
            message_uuid=uuid.uuid4(),
            label=label,
            sender=m.Sender(sender_id=sender.cvr, id_type="CVR", label=sender.name),
            recipient=m.Recipient(recipient_id=recipient_id, id_type=mailbox.owner_id_type, label=owner.name),
        ),
        body=m.MessageBody(
            created_datetime=datetime(2030, 1, 1, tzinfo=UTC),
            main_document=m.MainDocument(label="Brev", files=documents[0]),
            additional_documents=[
                m.AdditionalDocument(label=f"Bilag {n}", files=files)
                for n, files in enumerate(documents[1:], start=1)
            ],
        ),
    )
    return message_store(
        memo=memo,
        memo_bytes=serialize(memo),
        channel=Message.Channel.REMOTE_PRINT,
        state=Message.State.ACCEPTED,
        sender_organisation=sender,
        recipient_mailbox=mailbox,
    )


@pytest.fixture
def folder(settings, tmp_path):
    settings.DIGITALPOST_PRINT_FOLDER = tmp_path / "print"
    return tmp_path / "print"


@pytest.fixture
def exempt(db):
    person = PersonFactory(name="Karen Jensen", address=ADDRESS)
    make_exemption(mailbox=person.mailbox)
    return person


@pytest.fixture
def letter(authority, exempt):
    """A two-page PDF letter with a text attachment and a spreadsheet attachment."""
    return _letter(
        authority,
        exempt.mailbox,
        [
            [_file(_pdf(2), "afgoerelse.pdf", "application/pdf")],
            [_file("Beregning af boligstøtte: 1.234 kr.".encode(), "beregning.txt", "text/plain")],
            [_file(b"PK\x03\x04 not really a workbook", "tal.xlsx", XLSX)],
        ],
    )


def _rendered(message) -> PrintJob:
    job = print_job_create(message=message)
    return print_job_render(print_job_id=job.pk)


def _pages(job: PrintJob) -> PdfReader:
    with job.pdf.open("rb") as stored:
        return PdfReader(io.BytesIO(stored.read()))


# --- create ---------------------------------------------------------------------------------


def test_it_posts_to_the_print_address_of_the_open_exemption(authority, exempt):
    exempt.mailbox.exemptions.update(print_address="c/o Hansen\n  Nørregade 7\n\n5000 Odense C ")
    message = _letter(authority, exempt.mailbox, [[_file(b"hej", "brev.txt", "text/plain")]])

    job = print_job_create(message=message)

    assert job.address == "c/o Hansen\nNørregade 7\n5000 Odense C"
    assert job.state == PrintJob.State.PENDING
    assert job.problems == []


def test_without_a_print_address_it_posts_to_the_owners_postal_address(authority, exempt):
    message = _letter(authority, exempt.mailbox, [[_file(b"hej", "brev.txt", "text/plain")]])

    assert print_job_create(message=message).address == ADDRESS


def test_creating_twice_gives_the_same_job(authority, exempt):
    message = _letter(authority, exempt.mailbox, [[_file(b"hej", "brev.txt", "text/plain")]])

    first = print_job_create(message=message)
    exempt.mailbox.exemptions.update(print_address="Et andet sted 1\n1000 København K")
    second = print_job_create(message=message)

    assert second.pk == first.pk
    assert second.address == ADDRESS
    assert PrintJob.objects.count() == 1


def test_it_refuses_a_message_that_is_not_for_remote_print(db):
    message = make_message()

    with pytest.raises(ValueError, match="not for remote print"):
        print_job_create(message=message)
    assert PrintJob.objects.count() == 0


def test_an_organisation_without_a_print_address_is_a_problem_and_is_not_printed(authority):
    company = CompanyFactory(name="Tømrer ApS")
    make_exemption(mailbox=company.mailbox)
    message = _letter(authority, company.mailbox, [[_file(b"hej", "brev.txt", "text/plain")]])

    job = print_job_create(message=message)
    assert job.address == ""
    assert job.problems == [
        {
            "document": "",
            "filename": "",
            "mimeType": "",
            "reason": "No postal address is known for the recipient.",
        }
    ]

    job = print_job_render(print_job_id=job.pk)
    assert job.state == PrintJob.State.FAILED
    assert not job.pdf
    assert len(job.problems) == 1


def test_an_organisation_is_posted_to_its_exemptions_print_address(authority, folder):
    company = CompanyFactory(name="Tømrer ApS")
    make_exemption(mailbox=company.mailbox, print_address="Havnevej 3\n9000 Aalborg")
    message = _letter(authority, company.mailbox, [[_file(b"hej", "brev.txt", "text/plain")]])

    job = _rendered(message)

    assert job.state == PrintJob.State.RENDERED
    cover = _pages(job).pages[0].extract_text()
    assert "Tømrer ApS\nHavnevej 3\n9000 Aalborg" in cover


# --- render ---------------------------------------------------------------------------------


def test_it_renders_a_cover_every_printable_page_and_a_problems_page(letter):
    job = _rendered(letter)

    assert job.state == PrintJob.State.RENDERED
    # 1 cover + 2 PDF pages + 1 text page + 1 page listing what could not be printed.
    assert len(_pages(job).pages) == 5
    assert job.problems == [
        {
            "document": "Bilag 2",
            "filename": "tal.xlsx",
            "mimeType": XLSX,
            "reason": "This type of file cannot be printed.",
        }
    ]


def test_the_pages_come_in_document_order(letter):
    pages = [page.extract_text() for page in _pages(_rendered(letter)).pages]

    assert "Afgørelse side 1" in pages[1]
    assert "Afgørelse side 2" in pages[2]
    assert "Bilag 1 (beregning.txt)" in pages[3]
    assert "Beregning af boligstøtte: 1.234 kr." in pages[3]
    # The letter is printed in its recipient's language: Danish unless they chose English.
    assert "Dokumenter, der ikke kunne printes" in pages[4]
    assert "Bilag 2: tal.xlsx" in pages[4]
    assert "Denne filtype kan ikke printes." in pages[4].replace("\n", " ")


def test_the_cover_shows_the_address_for_the_window_envelope_and_why_it_came_by_post(letter):
    cover = _pages(_rendered(letter)).pages[0].extract_text()

    assert "Karen Jensen\nVestergade 1, 2. th.\n8000 Aarhus C" in cover
    assert "Test Kommune" in cover
    assert "Afgørelse om boligstøtte" in cover
    assert "fordi du er fritaget for Digital" in cover
    assert "kunne ikke printes" in cover
    assert str(letter.message_uuid) in cover


def test_the_cover_is_in_english_for_a_recipient_who_chose_english(letter):
    Person.objects.filter(pk=letter.recipient_mailbox.owner_person_id).update(language="en")

    cover = _pages(_rendered(letter)).pages[0].extract_text()

    assert "because you are exempt from Digital Post" in cover.replace("\n", " ")


def test_rendering_twice_does_nothing(letter):
    first = _rendered(letter)
    first_bytes = first.pdf.read()

    second = print_job_render(print_job_id=first.pk)

    assert second.state == PrintJob.State.RENDERED
    assert second.pdf.name == first.pdf.name
    assert second.pdf.read() == first_bytes
    assert second.problems == first.problems


def test_without_problems_there_is_no_problems_page(authority, exempt):
    message = _letter(authority, exempt.mailbox, [[_file(_pdf(3), "brev.pdf", "application/pdf")]])

    job = _rendered(message)

    assert len(_pages(job).pages) == 4
    assert job.problems == []
    assert "could not be printed" not in _pages(job).pages[0].extract_text()


def test_an_unreadable_pdf_is_a_problem_not_a_crash(authority, exempt):
    message = _letter(
        authority,
        exempt.mailbox,
        [
            [_file(b"hej", "brev.txt", "text/plain")],
            [_file(b"%PDF-1.4 this is no PDF at all", "bilag.pdf", "application/pdf")],
        ],
    )

    job = _rendered(message)

    assert job.state == PrintJob.State.RENDERED
    assert len(_pages(job).pages) == 3
    assert job.problems == [
        {
            "document": "Bilag 1",
            "filename": "bilag.pdf",
            "mimeType": "application/pdf",
            "reason": "The PDF file could not be read.",
        }
    ]


def test_html_is_printed_as_its_text_without_tags_or_scripts(authority, exempt):
    html = (
        "<html><head><title>x</title><style>p{color:red}</style></head><body>"
        "<h1>Kære Karen</h1><p>Du får <b>1.234&nbsp;kr.</b> &amp; mere.</p>"
        '<img src="https://tracker.example/pixel.png"><script>alert(1)</script>'
        "<ul><li>første</li><li>anden</li></ul></body></html>"
    )
    message = _letter(authority, exempt.mailbox, [[_file(html.encode(), "brev.html", "text/html")]])

    job = _rendered(message)

    text = _pages(job).pages[1].extract_text()
    assert "Kære Karen" in text
    assert "Du får 1.234 kr. & mere." in text
    assert "- første\n- anden" in text
    assert "<" not in text
    assert "alert" not in text
    assert "color" not in text
    assert job.problems == []


def test_html_to_text_keeps_paragraphs_apart():
    assert html_to_text("<p>En</p><p>To\n  tre</p><br>fire") == "En\n\nTo tre\n\nfire"


def test_an_image_gets_a_page_and_a_broken_image_is_a_problem(authority, exempt):
    message = _letter(
        authority,
        exempt.mailbox,
        [
            [_file(b"hej", "brev.txt", "text/plain")],
            [_file(_png(), "kort.png", "image/png")],
            [_file(b"\xff\xd8 not a jpeg", "foto.jpg", "image/jpeg")],
        ],
    )

    job = _rendered(message)

    pages = _pages(job).pages
    assert len(pages) == 4
    assert "Bilag 1 (kort.png)" in pages[2].extract_text()
    assert pages[2].images
    assert [(p["filename"], p["reason"]) for p in job.problems] == [
        ("foto.jpg", "The image could not be read.")
    ]


def test_text_outside_the_pdf_fonts_is_printed_not_refused(authority, exempt):
    text = "“Citat” – 100 € … Łódź 中"
    message = _letter(authority, exempt.mailbox, [[_file(text.encode(), "brev.txt", "text/plain")]])

    job = _rendered(message)

    assert job.state == PrintJob.State.RENDERED
    assert '"Citat" - 100 EUR ... Lódz ?' in _pages(job).pages[1].extract_text()


def test_a_recalled_message_is_not_printed(letter):
    job = print_job_create(message=letter)
    Message.objects.filter(pk=letter.pk).update(state=Message.State.RECALLED, recalled_at=letter.created_at)

    job = print_job_render(print_job_id=job.pk)

    assert job.state == PrintJob.State.FAILED
    assert not job.pdf
    assert job.problems[-1]["reason"].startswith("The message was not printed")


def test_print_process_creates_and_renders_once(letter):
    job = print_process(message_id=letter.pk)
    again = print_process(message_id=letter.pk)

    assert job.state == again.state == PrintJob.State.RENDERED
    assert again.pk == job.pk
    assert again.pdf.name == job.pdf.name
    assert PrintJob.objects.count() == 1


# --- export ---------------------------------------------------------------------------------


def test_it_writes_one_folder_per_batch_with_the_pdfs_and_a_manifest(letter, authority, folder):
    job = _rendered(letter)

    batch = print_jobs_export()

    assert sorted(p.name for p in folder.iterdir()) == [batch]
    assert sorted(p.name for p in (folder / batch).iterdir()) == [
        f"{letter.message_uuid}.pdf",
        "manifest.json",
    ]
    assert (folder / batch / f"{letter.message_uuid}.pdf").read_bytes() == job.pdf.read()
    manifest = json.loads((folder / batch / "manifest.json").read_text())
    assert manifest["batchId"] == batch
    assert manifest["count"] == 1
    assert manifest["jobs"] == [
        {
            "messageUUID": str(letter.message_uuid),
            "file": f"{letter.message_uuid}.pdf",
            "pages": 5,
            "recipient": {"name": "Karen Jensen", "addressLines": ["Vestergade 1, 2. th.", "8000 Aarhus C"]},
            "sender": {"name": "Test Kommune", "id": authority.cvr},
            "problems": job.problems,
        }
    ]


def test_exporting_marks_jobs_exported_and_messages_delivered_with_an_event(
    letter, authority, exempt, folder
):
    job = _rendered(letter)

    batch = print_jobs_export()

    job.refresh_from_db()
    letter.refresh_from_db()
    assert (job.state, job.batch) == (PrintJob.State.EXPORTED, batch)
    assert job.exported_at is not None
    assert letter.state == Message.State.DELIVERED
    assert letter.delivered_at == job.exported_at
    [event] = Event.objects.filter(tag=Event.Tag.PHYSICAL_LETTER_SENT)
    assert (event.organisation, event.message, event.message_uuid, event.subject) == (
        authority,
        letter,
        letter.message_uuid,
        exempt.cpr,
    )
    assert event.details == {"batch": batch, "pages": 5, "problems": 1}


def test_exporting_again_finds_nothing(letter, folder):
    _rendered(letter)
    batch = print_jobs_export()

    assert print_jobs_export() is None
    assert [p.name for p in folder.iterdir()] == [batch]
    assert Event.objects.filter(tag=Event.Tag.PHYSICAL_LETTER_SENT).count() == 1


def test_a_batch_takes_at_most_batch_size_jobs_oldest_first(authority, exempt, folder):
    messages = [
        _letter(authority, exempt.mailbox, [[_file(b"hej", f"brev{n}.txt", "text/plain")]]) for n in range(3)
    ]
    for message in messages:
        _rendered(message)

    first = print_jobs_export(batch_size=2)
    second = print_jobs_export(batch_size=2)

    assert first != second
    assert list(PrintJob.objects.order_by("created_at", "pk").values_list("batch", flat=True)) == [
        first,
        first,
        second,
    ]
    assert json.loads((folder / first / "manifest.json").read_text())["count"] == 2
    assert json.loads((folder / second / "manifest.json").read_text())["count"] == 1


def test_pending_and_failed_jobs_are_not_exported(authority, exempt, folder):
    message = _letter(authority, exempt.mailbox, [[_file(b"hej", "brev.txt", "text/plain")]])
    print_job_create(message=message)

    assert print_jobs_export() is None
    assert not folder.exists()


class ExplodingExporter(PrintExporter):
    def export(self, batch_id, jobs):
        raise OSError("print provider unreachable")


def test_an_exporter_failure_leaves_jobs_rendered_and_logs_nothing(letter, settings, folder):
    settings.DIGITALPOST_PRINT_EXPORTER = "tests.mailbox.test_printing.ExplodingExporter"
    job = _rendered(letter)

    with pytest.raises(OSError, match="print provider unreachable"):
        print_jobs_export()

    job.refresh_from_db()
    letter.refresh_from_db()
    assert (job.state, job.batch, job.exported_at) == (PrintJob.State.RENDERED, "", None)
    assert (letter.state, letter.delivered_at) == (Message.State.ACCEPTED, None)
    assert not Event.objects.filter(tag=Event.Tag.PHYSICAL_LETTER_SENT).exists()


def test_a_folder_that_cannot_be_completed_leaves_no_half_batch(letter, folder):
    job = _rendered(letter)
    good = print_letter(job)
    gone = dataclasses.replace(good, message_uuid=uuid.uuid4(), pdf_name="print/gone.pdf")

    with pytest.raises(FileNotFoundError):
        FolderExporter().export("batch-1", [good, gone])

    assert list(folder.iterdir()) == []


def test_a_letter_recalled_after_rendering_is_kept_out_of_the_batch(letter, folder):
    job = _rendered(letter)
    Message.objects.filter(pk=letter.pk).update(state=Message.State.RECALLED, recalled_at=letter.created_at)

    assert print_jobs_export() is None

    job.refresh_from_db()
    assert job.state == PrintJob.State.FAILED
    assert not folder.exists()
    assert not Event.objects.filter(tag=Event.Tag.PHYSICAL_LETTER_SENT).exists()


def test_the_folder_exporter_refuses_a_batch_id_that_is_not_a_plain_name(tmp_path):
    with pytest.raises(ValueError, match="Unsafe batch id"):
        FolderExporter(tmp_path).export("../elsewhere", [])
    assert list(tmp_path.iterdir()) == []
