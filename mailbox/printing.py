"""Remote print (fjernprint): letters for recipients exempt from Digital Post go out on paper.

The steps, each safe to run twice because each moves :class:`PrintJob.state` with a
conditional UPDATE that refuses an illegal move:

    print_job_create    one print job per message, with the postal address to print on it
    print_job_render    PENDING -> RENDERED: one print-ready PDF (cover page for a window
                        envelope, every printable file, and a page listing what could not be
                        printed); no address, or a message no longer ACCEPTED -> FAILED
    print_jobs_export   RENDERED -> EXPORTED, a batch at a time, through the configured
                        exporter (mailbox/print_export.py); the message becomes DELIVERED and
                        PHYSICAL_LETTER_SENT is logged per letter

The delivery engine calls :func:`print_process` (create + render) for a REMOTE_PRINT delivery
and leaves the message ACCEPTED; the export marks it delivered, since that is when the letter
leaves the hub.

A file that cannot be printed (a spreadsheet, a broken PDF) is never dropped silently: it is
listed on the letter's last page, so the recipient knows to ask the sender, and recorded in
``PrintJob.problems`` (``{document, filename, mimeType, reason}``) for staff and the provider.
"""

from __future__ import annotations

import io
import unicodedata
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Prefetch
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, gettext_noop
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from adminaccess.models import Event
from adminaccess.services import event_log_write
from mailbox.models import Document, DocumentFile, Message, PrintJob
from mailbox.print_export import PrintExporter, PrintLetter, print_exporter
from mailbox.services import document_file_content

EXPORT_BATCH = 500
IMAGE_TYPES = {"image/jpeg", "image/png"}

# Reasons are stored in English (staff, event log, manifest) and translated when printed.
NOT_PRINTABLE = gettext_noop("This type of file cannot be printed.")
UNREADABLE_PDF = gettext_noop("The PDF file could not be read.")
ENCRYPTED_PDF = gettext_noop("The PDF file is password-protected.")
EMPTY_PDF = gettext_noop("The PDF file has no pages.")
UNREADABLE_IMAGE = gettext_noop("The image could not be read.")
NO_ADDRESS = gettext_noop("No postal address is known for the recipient.")
NOT_ACCEPTED = gettext_noop("The message was not printed because it is no longer waiting for delivery.")


# --- create ---------------------------------------------------------------------------------


def print_job_create(*, message: Message) -> PrintJob:
    """The message's print job, created once with the address it will be posted to.

    The address is the open exemption's print address if one was given, else the owner's
    postal address. An organisation has no address of its own here: without a print address
    on its exemption the job records the problem, and rendering fails it for staff to see.
    """
    if message.channel != Message.Channel.REMOTE_PRINT:
        raise ValueError(f"Message {message.message_uuid} is not for remote print ({message.channel}).")
    existing = PrintJob.objects.filter(message=message).first()
    if existing is not None:
        return existing
    address = _postal_address(message)
    problems = [] if address else [_problem(reason=NO_ADDRESS)]
    # get_or_create, not create: two workers racing here end up with the same one job.
    job, _ = PrintJob.objects.get_or_create(
        message=message, defaults={"address": address, "problems": problems}
    )
    return job


def _postal_address(message: Message) -> str:
    mailbox = message.recipient_mailbox
    if mailbox is None:
        return ""
    exemption = mailbox.exemptions.filter(ended_at__isnull=True).first()
    candidates = [exemption.print_address if exemption else ""]
    if mailbox.owner_person_id:
        candidates.append(mailbox.owner_person.address)
    for candidate in candidates:
        lines = [line.strip() for line in candidate.splitlines() if line.strip()]
        if lines:
            return "\n".join(lines)
    return ""


def _problem(*, reason: str, document: str = "", filename: str = "", mime_type: str = "") -> dict:
    return {"document": document, "filename": filename, "mimeType": mime_type, "reason": reason}


# --- render ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parties:
    sender_name: str
    sender_id: str
    recipient_name: str
    language: str


def print_job_render(*, print_job_id: int) -> PrintJob:
    """Render the job's PDF and move it PENDING -> RENDERED. A job in any other state is left as is."""
    job = PrintJob.objects.select_related(*_MESSAGE_PARTIES).get(pk=print_job_id)
    if job.state != PrintJob.State.PENDING:
        return job
    message = job.message
    if message.state != Message.State.ACCEPTED:
        return _fail(job, _problem(reason=NOT_ACCEPTED))
    if not job.address:
        # The missing address was recorded when the job was created.
        return _fail(job, None)
    parties = _parties(message)
    data, problems = _render_pdf(message=message, address=job.address, parties=parties)
    field = PrintJob._meta.get_field("pdf")
    name = field.storage.save(field.generate_filename(job, f"{message.message_uuid}.pdf"), ContentFile(data))
    changed = PrintJob.objects.filter(pk=job.pk, state=PrintJob.State.PENDING).update(
        state=PrintJob.State.RENDERED, pdf=name, problems=job.problems + problems
    )
    if not changed:
        # Another worker rendered it first; keep only its file.
        field.storage.delete(name)
    job.refresh_from_db()
    return job


def _fail(job: PrintJob, problem: dict | None) -> PrintJob:
    problems = job.problems + ([problem] if problem else [])
    PrintJob.objects.filter(pk=job.pk, state=PrintJob.State.PENDING).update(
        state=PrintJob.State.FAILED, problems=problems
    )
    job.refresh_from_db()
    return job


_MESSAGE_PARTIES = (
    "message__sender_organisation",
    "message__sender_person",
    "message__recipient_mailbox__owner_person",
    "message__recipient_mailbox__owner_organisation",
)


def _parties(message: Message) -> _Parties:
    sender = message.sender_organisation or message.sender_person
    owner = message.recipient_mailbox.owner if message.recipient_mailbox_id else None
    language = getattr(owner, "language", "") or translation.get_language() or "da"
    return _Parties(
        sender_name=message.sender_label or (sender.name if sender else message.sender_id),
        sender_id=message.sender_id,
        recipient_name=owner.name if owner else message.recipient_label,
        language=language,
    )


class _Unprintable(Exception):
    """A file that cannot go on paper; the message is one of the reasons above."""


def _render_pdf(*, message: Message, address: str, parties: _Parties) -> tuple[bytes, list[dict]]:
    """The print-ready PDF of a letter, and the files that could not be printed.

    Cover page, then every file of the main document and the attachments in order, then (if
    anything could not be printed) a page listing it. Technical documents are data for
    systems, not for people, and are not printed.
    """
    documents = (
        Document.objects.filter(message=message)
        .exclude(kind=Document.Kind.TECHNICAL)
        .order_by("position")
        .prefetch_related(Prefetch("files", queryset=DocumentFile.objects.order_by("position")))
    )
    with translation.override(parties.language):
        parts: list[bytes] = []
        problems: list[dict] = []
        for document in documents:
            for file in document.files.all():
                mime_type = file.mime_type.split(";", 1)[0].strip().lower()
                try:
                    parts.append(_file_pdf(document, file, mime_type))
                except _Unprintable as unprintable:
                    problems.append(
                        _problem(
                            document=document.label,
                            filename=file.filename,
                            mime_type=file.mime_type,
                            reason=str(unprintable),
                        )
                    )
        parts.insert(0, _cover_pdf(message=message, address=address, parties=parties, problems=problems))
        if problems:
            parts.append(_problems_pdf(problems))
        writer = PdfWriter()
        for part in parts:
            writer.append(PdfReader(io.BytesIO(part)))
        writer.add_metadata({"/Title": message.label, "/Author": parties.sender_name})
        out = io.BytesIO()
        writer.write(out)
    return out.getvalue(), problems


def _file_pdf(document: Document, file: DocumentFile, mime_type: str) -> bytes:
    if mime_type not in {"application/pdf", "text/plain", "text/html", *IMAGE_TYPES}:
        raise _Unprintable(NOT_PRINTABLE)
    data = document_file_content(file)
    heading = f"{document.label} ({file.filename})"
    if mime_type == "application/pdf":
        return _checked_pdf(data)
    if mime_type == "text/plain":
        return _text_pdf(heading, _decode(data, file.mime_type), monospace=True)
    if mime_type == "text/html":
        return _text_pdf(heading, html_to_text(_decode(data, file.mime_type)), monospace=False)
    return _image_pdf(heading, data)


def _checked_pdf(data: bytes) -> bytes:
    """The PDF rewritten by pypdf, so that a file that parses here also merges later."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _Unprintable(ENCRYPTED_PDF)
        writer = PdfWriter()
        for page in reader.pages:
            writer.add_page(page)
        if not writer.pages:
            raise _Unprintable(EMPTY_PDF)
        out = io.BytesIO()
        writer.write(out)
    except _Unprintable:
        raise
    except Exception as exc:  # pypdf raises many kinds of error on a malformed file
        raise _Unprintable(UNREADABLE_PDF) from exc
    return out.getvalue()


def _new_pdf() -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_creator("Digital Post hub")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_margins(20, 20, 20)
    return pdf


def _text_pdf(heading: str, text: str, *, monospace: bool) -> bytes:
    pdf = _new_pdf()
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=11)
    pdf.multi_cell(0, 6, latin1(heading), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Courier" if monospace else "Helvetica", size=10)
    pdf.multi_cell(0, 5, latin1(text.replace("\t", "    ")) or " ", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _image_pdf(heading: str, data: bytes) -> bytes:
    pdf = _new_pdf()
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=11)
    pdf.multi_cell(0, 6, latin1(heading), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    top = pdf.get_y()
    try:
        pdf.image(
            io.BytesIO(data),
            x=pdf.l_margin,
            y=top,
            w=pdf.epw,
            h=pdf.h - pdf.b_margin - top,
            keep_aspect_ratio=True,
        )
        return bytes(pdf.output())
    except Exception as exc:  # Pillow and fpdf2 raise many kinds of error on a broken image
        raise _Unprintable(UNREADABLE_IMAGE) from exc


def _cover_pdf(*, message: Message, address: str, parties: _Parties, problems: list[dict]) -> bytes:
    """The first page. The address sits where a C5/DL window envelope shows it (DIN 5008 B):
    20 mm from the left, 50 mm from the top, within 85 x 40 mm."""
    pdf = _new_pdf()
    pdf.set_title(latin1(message.label))
    pdf.set_author(latin1(parties.sender_name))
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.set_xy(20, 20)
    pdf.multi_cell(170, 7, latin1(parties.sender_name), new_x="LMARGIN", new_y="NEXT")

    pdf.set_font("Helvetica", size=11)
    pdf.set_xy(20, 50)
    recipient = "\n".join([parties.recipient_name, *address.splitlines()])
    pdf.multi_cell(85, 5, latin1(recipient), max_line_height=5)

    pdf.set_font("Helvetica", size=10)
    pdf.set_xy(125, 50)
    today = formats.date_format(timezone.localdate(), "SHORT_DATE_FORMAT")
    pdf.multi_cell(65, 5, latin1(gettext("Date: %(date)s") % {"date": today}))

    pdf.set_xy(20, 105)
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.multi_cell(170, 7, latin1(message.label), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)
    pdf.set_font("Helvetica", size=11)
    lines = [
        gettext(
            "This letter is sent to you by post because you are exempt from Digital Post. "
            "It was sent by %(sender)s."
        )
        % {"sender": parties.sender_name},
    ]
    if problems:
        lines.append(
            gettext(
                "Some documents of this letter could not be printed. They are listed on the last "
                "page; contact the sender to receive them another way."
            )
        )
    for line in lines:
        pdf.multi_cell(170, 6, latin1(line), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.set_font("Helvetica", size=8)
    pdf.set_xy(20, pdf.h - 25)
    pdf.multi_cell(170, 4, latin1(gettext("Message ID: %(uuid)s") % {"uuid": message.message_uuid}))
    return bytes(pdf.output())


def _problems_pdf(problems: list[dict]) -> bytes:
    pdf = _new_pdf()
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.multi_cell(
        0, 7, latin1(gettext("Documents that could not be printed")), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(3)
    pdf.set_font("Helvetica", size=11)
    intro = gettext(
        "These documents belong to this letter but could not be printed. "
        "Contact the sender to receive them another way."
    )
    pdf.multi_cell(0, 6, latin1(intro), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for problem in problems:
        what = f"{problem['document']}: {problem['filename']} ({problem['mimeType']})"
        line = f"- {what}. {gettext(problem['reason'])}"
        pdf.multi_cell(0, 6, latin1(line), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    return bytes(pdf.output())


def _decode(data: bytes, mime_type: str) -> str:
    charset = ""
    for param in mime_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"')
    for encoding in filter(None, [charset, "utf-8-sig"]):
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", errors="replace")


_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2026": "...", "\u20ac": "EUR", "\u2022": "-",
        "\u00a0": " ", "\u200b": "",
        "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u0152": "OE", "\u0153": "oe",
    }
)  # fmt: skip


def latin1(text: str) -> str:
    """Text the PDF core fonts can show (Latin-1: all of Danish); anything else becomes its
    closest plain letter, or ``?``. A bundled Unicode font would lift this limit."""
    text = text.translate(_PUNCTUATION)
    out = []
    for char in text:
        if ord(char) < 256:
            if char == "\n" or unicodedata.category(char)[0] != "C":
                out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if ord(c) < 128)
        out.append(base or "?")
    return "".join(out)


class _HtmlText(HTMLParser):
    """Visible text of an HTML document. Nothing is fetched: images, links and styles are ignored."""

    BLOCKS = {
        "address", "article", "blockquote", "br", "div", "footer", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "tr", "ul",
    }  # fmt: skip
    HIDDEN = {"head", "script", "style", "template", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.hidden = 0
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.chunks.append("\n")
            if tag == "li":
                self.chunks.append("- ")
            if tag == "pre":
                self.pre += 1
        elif tag in {"td", "th"}:
            self.chunks.append("  ")

    def handle_startendtag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.chunks.append("\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        if self.hidden:
            return
        if self.pre:
            self.chunks.append(data)
            return
        # Collapse white space as a browser does, keeping a space where the text had one.
        words = " ".join(data.split())
        lead = " " if data[:1].isspace() else ""
        trail = " " if data[-1:].isspace() and words else ""
        self.chunks.append(lead + words + trail)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.chunks).splitlines()]
    text, blank = [], False
    for line in lines:
        if line or not blank:
            text.append(line)
        blank = not line
    return "\n".join(text).strip()


# --- export ---------------------------------------------------------------------------------


def print_jobs_export(*, batch_size: int = EXPORT_BATCH, exporter: PrintExporter | None = None) -> str | None:
    """Export one batch of rendered letters; returns its id, or None when there was nothing to do.

    Jobs are claimed with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent runs take disjoint
    batches, and their messages are locked too: a recall either happens first (the letter is
    not exported) or waits and then finds the message delivered. Everything is marked in the
    same transaction after the exporter returns; if it raises, nothing is marked and the jobs
    stay RENDERED for the next run. If the process dies after the exporter finished but before
    the commit, the next run exports the letters again in a new batch: the provider can tell
    by ``messageUUID``. Printing twice beats a letter that is never printed.
    """
    exporter = exporter or print_exporter()
    now = timezone.now()
    batch_id = f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:12]}"
    with transaction.atomic():
        ids = list(
            PrintJob.objects.select_for_update(skip_locked=True)
            .filter(state=PrintJob.State.RENDERED)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return None
        jobs = list(
            PrintJob.objects.filter(pk__in=ids).select_related(*_MESSAGE_PARTIES).order_by("created_at", "pk")
        )
        states = dict(
            Message.objects.select_for_update()
            .filter(pk__in=[job.message_id for job in jobs])
            .values_list("pk", "state")
        )
        live = [job for job in jobs if states[job.message_id] == Message.State.ACCEPTED]
        for job in jobs:
            if states[job.message_id] != Message.State.ACCEPTED:
                # Recalled (or otherwise settled) after rendering: it must not be posted.
                PrintJob.objects.filter(pk=job.pk, state=PrintJob.State.RENDERED).update(
                    state=PrintJob.State.FAILED, problems=[*job.problems, _problem(reason=NOT_ACCEPTED)]
                )
        if not live:
            return None
        letters = [print_letter(job) for job in live]
        exporter.export(batch_id, letters)
        PrintJob.objects.filter(pk__in=[job.pk for job in live], state=PrintJob.State.RENDERED).update(
            state=PrintJob.State.EXPORTED, exported_at=now, batch=batch_id
        )
        Message.objects.filter(pk__in=[job.message_id for job in live], state=Message.State.ACCEPTED).update(
            state=Message.State.DELIVERED, delivered_at=now
        )
        for job, letter in zip(live, letters, strict=True):
            message = job.message
            event_log_write(
                tag=Event.Tag.PHYSICAL_LETTER_SENT,
                organisation=message.sender_organisation,
                message=message,
                mailbox=message.recipient_mailbox,
                subject=message.recipient_id,
                details={"batch": batch_id, "pages": letter.pages, "problems": len(job.problems)},
            )
    return batch_id


def print_letter(job: PrintJob) -> PrintLetter:
    """What the exporter gets for one rendered job."""
    parties = _parties(job.message)
    with job.pdf.storage.open(job.pdf.name, "rb") as pdf:
        pages = len(PdfReader(pdf).pages)
    return PrintLetter(
        message_uuid=job.message.message_uuid,
        sender_name=parties.sender_name,
        sender_id=parties.sender_id,
        recipient_name=parties.recipient_name,
        recipient_address=job.address,
        pages=pages,
        problems=job.problems,
        pdf_name=job.pdf.name,
        storage=job.pdf.storage,
    )


# --- the engine's entry point ---------------------------------------------------------------


def print_process(*, message_id: int) -> PrintJob:
    """Create and render the message's print job; the engine calls this for REMOTE_PRINT.

    Idempotent. The returned job is RENDERED (waiting for the next export) or FAILED (no
    address, or the message was no longer ACCEPTED; ``problems`` says which).
    """
    message = Message.objects.get(pk=message_id)
    job = print_job_create(message=message)
    return print_job_render(print_job_id=job.pk)
