"""Searching a mailbox: the text of documents, and the query over title, sender and that text.

The text is extracted after delivery, never while a message is received or released (both are
hot paths): delivery queues :func:`message_texts_index_later` with the delivered ids, a task
calls :func:`message_texts_index`, and the ``index_messages`` sweep indexes whatever a lost task
left behind. Every step is idempotent: a message with a :class:`MessageText` row is done.

On PostgreSQL the search is full text (``to_tsvector('danish', ...)`` with prefix matching, one
GIN-indexed tsvector per message); on SQLite it is a plain ``icontains`` per word. Title and
sender are searchable from the moment a message is delivered: until its text row exists, the
query reads them from the message row itself.
"""

from __future__ import annotations

import io
import logging
import re
import time
from html.parser import HTMLParser

from django.contrib.postgres.search import SearchQuery, SearchVector, SearchVectorExact
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from digitalpost.queueing import enqueue_after_commit
from mailbox.models import Document, MailboxItem, Message, MessageText
from memo import MemoParseError
from memo import parse as memo_parse

log = logging.getLogger(__name__)

#: The text kept per message. Enough for any letter; keeps a tsvector far below its 1 MB limit.
MAX_TEXT_CHARS = 100_000
#: Pages read from one PDF: letters are short, and a huge PDF must not cost the worker minutes.
MAX_PDF_PAGES = 50
#: Messages indexed per database round (task chunks and sweep batches).
INDEX_BATCH = 200
#: The text search configuration: the hub's mail is Danish.
TS_CONFIG = "danish"
#: Words used from one search, each at most this long.
MAX_SEARCH_WORDS, MAX_WORD_CHARS = 8, 50

TEXT_TYPES = ("text/plain", "text/html", "application/xhtml+xml", "application/pdf")


class ExtractError(Exception):
    """A file whose text cannot be read (damaged PDF, unknown encoding)."""


# --- Extracting text -------------------------------------------------------------------------


class _HTMLText(HTMLParser):
    """The visible text of an HTML document: no scripts, styles or markup."""

    SKIP = {"script", "style", "head", "title", "template", "noscript"}
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "section"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _normalise(text: str) -> str:
    """One space between words, one newline between lines, no blank lines."""
    lines = (re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.replace("\r", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def extract_text(data: bytes, mime_type: str) -> str:
    """The readable text of one document file, or "" for a type that has none we can read."""
    mime_type = mime_type.split(";")[0].strip().lower()
    if mime_type == "text/plain":
        return _normalise(_decode(data))[:MAX_TEXT_CHARS]
    if mime_type in ("text/html", "application/xhtml+xml"):
        parser = _HTMLText()
        try:
            parser.feed(_decode(data))
            parser.close()
        except Exception as error:  # HTMLParser is lenient; anything it still raises is bad input
            raise ExtractError(f"unreadable HTML: {error}") from error
        return _normalise("".join(parser.parts))[:MAX_TEXT_CHARS]
    if mime_type == "application/pdf":
        return _pdf_text(data)
    return ""


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        parts, size = [], 0
        for page in reader.pages[:MAX_PDF_PAGES]:
            text = page.extract_text() or ""
            parts.append(text)
            size += len(text)
            if size >= MAX_TEXT_CHARS:
                break
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as error:
        raise ExtractError(f"unreadable PDF: {error}") from error
    return _normalise("\n".join(parts))[:MAX_TEXT_CHARS]


def _message_text(message: Message, documents: list[Document]) -> tuple[str, list[dict]]:
    """All readable text of a message's main document and attachments, and what failed.

    The stored MeMo is parsed once for all files; a file already extracted to storage
    (mailbox.services.document_file_content) is read from there instead.
    """
    readable = [
        (document, file)
        for document in documents
        if document.kind != Document.Kind.TECHNICAL
        for file in document.files.all()
        if file.mime_type.split(";")[0].strip().lower() in TEXT_TYPES
    ]
    if not readable:
        return "", []
    memo = None
    if any(not file.content for _, file in readable):
        try:
            with message.memo_file.open("rb") as stored:
                memo = memo_parse(stored.read())
        except (MemoParseError, OSError, ValueError) as error:
            return "", [{"file": None, "reason": f"unreadable MeMo: {error}"}]
    parts, problems = [], []
    sources = list(memo.body.documents()) if memo is not None and memo.body else []
    for document, file in readable:
        try:
            if file.content:
                with file.content.open("rb") as stored:
                    data = stored.read()
            else:
                data = sources[document.position].files[file.position].data
            parts.append(extract_text(data, file.mime_type))
        except (ExtractError, MemoParseError, IndexError, OSError) as error:
            problems.append({"file": file.filename, "reason": str(error)[:200]})
    return _normalise("\n".join(p for p in parts if p))[:MAX_TEXT_CHARS], problems


# --- Indexing --------------------------------------------------------------------------------


def message_texts_index_later(*, message_ids: list[int]) -> None:
    """Queue text extraction for delivered messages once the caller's transaction commits."""
    from mailbox.tasks import index_message_texts

    if message_ids:
        enqueue_after_commit(index_message_texts, list(message_ids))


def message_texts_index(*, message_ids: list[int]) -> int:
    """Extract and store the searchable text of these messages. Idempotent; returns how many new."""
    done = 0
    for start in range(0, len(message_ids), INDEX_BATCH):
        done += _index_batch(message_ids[start : start + INDEX_BATCH])
    return done


def _index_batch(ids: list[int]) -> int:
    todo = (
        Message.objects.filter(pk__in=ids, search_text__isnull=True)
        .only("pk", "memo_file")
        .prefetch_related("documents__files")
    )
    rows = []
    for message in todo:
        text, problems = _message_text(message, list(message.documents.all()))
        if problems:
            log.warning("Message %s: some text could not be read: %s", message.pk, problems)
        rows.append(MessageText(message=message, text=text, problems=problems, indexed_at=timezone.now()))
    if not rows:
        return 0
    with transaction.atomic():
        # A second task with the same ids (or the sweep) may have won: its rows are kept.
        MessageText.objects.bulk_create(rows, ignore_conflicts=True)
        message_vectors_update(message_ids=[r.message_id for r in rows])
    return len(rows)


def message_vectors_update(*, message_ids: list[int]) -> None:
    """PostgreSQL: build the tsvector of title, sender, recipient and text for these rows."""
    if connection.vendor != "postgresql" or not message_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE mailbox_messagetext t SET vector =
                setweight(to_tsvector(%s::regconfig, m.label), 'A')
                || setweight(to_tsvector(%s::regconfig, m.sender_label), 'A')
                || setweight(to_tsvector(%s::regconfig, m.recipient_label), 'A')
                || setweight(to_tsvector(%s::regconfig, t.text), 'B')
            FROM mailbox_message m
            WHERE m.id = t.message_id AND t.vector IS NULL AND t.message_id = ANY(%s)
            """,
            [TS_CONFIG, TS_CONFIG, TS_CONFIG, TS_CONFIG, list(message_ids)],
        )


def messages_unindexed(*, after_id: int = 0, limit: int = INDEX_BATCH) -> list[int]:
    """Ids of messages in some mailbox that have no text row yet, in id order after ``after_id``.

    Walks mailbox items by their message index, so finding nothing left costs an index scan,
    and a sweep goes through the table once however many batches it takes.
    """
    return list(
        MailboxItem.objects.filter(message_id__gt=after_id, message__search_text__isnull=True)
        .order_by("message_id")
        .values_list("message_id", flat=True)
        .distinct()[:limit]
    )


def message_texts_sweep(*, batch: int = INDEX_BATCH, time_budget: float | None = None) -> int:
    """Index every delivered message that has no text yet. Harmless when run twice."""
    deadline = time.monotonic() + time_budget if time_budget else None
    after, done = 0, 0
    while ids := messages_unindexed(after_id=after, limit=batch):
        done += message_texts_index(message_ids=ids)
        after = ids[-1]
        if deadline is not None and time.monotonic() > deadline:
            break
    return done


# --- Searching -------------------------------------------------------------------------------


def search_words(query: str) -> list[str]:
    """The words of a search, lower-cased; punctuation and tsquery operators are dropped."""
    words = re.findall(r"\w+", query.lower())
    return [w[:MAX_WORD_CHARS] for w in words[:MAX_SEARCH_WORDS]]


def items_search(items: QuerySet[MailboxItem], query: str) -> QuerySet[MailboxItem]:
    """Mailbox items whose title, sender, recipient or document text matches every word."""
    words = search_words(query)
    if not words:
        return items
    if connection.vendor == "postgresql":
        # Each word as a prefix, so "skat" finds "Skattestyrelsen"; words are \w+ only.
        tsquery = SearchQuery(" & ".join(f"{w}:*" for w in words), search_type="raw", config=TS_CONFIG)
        on_the_row = SearchVector(
            "message__label", "message__sender_label", "message__recipient_label", config=TS_CONFIG
        )
        return items.filter(
            Q(message__search_text__vector=tsquery)
            | (Q(message__search_text__vector__isnull=True) & SearchVectorExact(on_the_row, tsquery))
        )
    for word in words:
        items = items.filter(
            Q(message__label__icontains=word)
            | Q(message__sender_label__icontains=word)
            | Q(message__recipient_label__icontains=word)
            | Q(message__search_text__text__icontains=word)
        )
    return items
