"""The path of one message into the hub, step by step as in DESIGN.md:

receive -> parse + validate MeMo -> authorise the sender for this message -> resolve the
recipient -> persist message + receipt + outbox row in ONE transaction -> receipt, and the
delivery task queued only after commit.

Services here never see a request: the API (and the test portal, and replies written in the
inbox) call them with bytes and the calling system.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.core.files.base import ContentFile
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from adminaccess.models import Event, System
from adminaccess.services import event_log_write
from contactstructure.models import ContactPoint
from digitalpost.prepared import execute_prepared
from digitalpost.queueing import enqueue_after_commit, wake_up_after_commit
from mailbox.models import Delivery, Exemption, Mailbox, Message, Receipt
from mailbox.storage import save as storage_save
from memo import MemoParseError, from_tree, validate
from memo import model as memo_model
from rights.models import Organisation, Person


@dataclass(frozen=True)
class FieldError:
    resource: str
    field: str
    code: str
    message: str
    rejected_value: str | None = None


class SendRefused(Exception):
    """The message is refused before anything is stored: an HTTP error with NgDP's body."""

    def __init__(self, status: int, code: str, message: str, field_errors: list[FieldError] = ()) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.field_errors = list(field_errors)


@dataclass(frozen=True)
class NotAllowed:
    """The message is valid but cannot be delivered: a NOT_ALLOWED receipt, nothing else."""

    code: str
    message: str


@dataclass
class Route:
    """Where a message goes, as decided when it is accepted."""

    channel: str
    recipient_mailbox: Mailbox | None = None
    recipient_organisation: Organisation | None = None
    recipient_system: System | None = None
    contact_point: ContactPoint | None = None
    notes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    receipt: Receipt
    created: bool


def memo_send(*, data: bytes, system: System, expected_uuid: uuid.UUID | None = None) -> SendResult:
    """Accept one MeMo from a sender system, or refuse it with a specific error."""
    memo = memo_parse_and_validate(data)
    if expected_uuid is not None and memo.header.message_uuid != expected_uuid:
        raise SendRefused(
            400,
            "MESSAGE_UUID_MISMATCH",
            f"The query parameter memo-message-uuid ({expected_uuid}) is not the MeMo's messageUUID "
            f"({memo.header.message_uuid}).",
        )
    sender = authorise_sender(system=system, memo=memo)
    route = resolve_recipient(memo=memo, sender=sender, system=system)
    if isinstance(route, NotAllowed):
        # A message already accepted stays accepted, whatever has changed since.
        existing = _existing(sender, memo.header.message_uuid, hashlib.sha256(data).hexdigest())
        if existing is not None:
            return SendResult(existing, created=False)
        return SendResult(_refusal_receipt(system, sender, memo, route), created=True)
    try:
        receipt, delivery = _persist(data, memo, sender, system, route)
    except IntegrityError:
        # The messageUUID is taken (a resend, or two sends racing): the unique constraint
        # decides, so the common case costs no lookup. The same bytes get the same receipt.
        existing = _existing(sender, memo.header.message_uuid, hashlib.sha256(data).hexdigest())
        if existing is None:
            raise
        return SendResult(existing, created=False)
    if delivery.state == Delivery.State.PENDING:
        from mailbox.tasks import deliver, deliver_many

        # One task per 100 ms window for all the messages this process accepted in it, not one
        # publish per message; the outbox row is the record (see digitalpost/queueing.py).
        wake_up_after_commit(deliver, deliver_many, delivery.pk)
    return SendResult(receipt, created=True)


def memo_parse_and_validate(data: bytes) -> memo_model.Message:
    report = validate(data)
    if not report.ok:
        code = "MEMO_UNREADABLE" if report.xml_errors else "MEMO_INVALID"
        message = (
            "The request body is not a readable MeMo document."
            if report.xml_errors
            else f"The MeMo message is not valid ({len(report.errors)} errors)."
        )
        raise SendRefused(
            400, code, message, [FieldError("memo", e.path, e.code, e.message) for e in report.errors]
        )
    try:
        return from_tree(report.root)
    except MemoParseError as exc:
        error = exc.error
        raise SendRefused(
            400, "MEMO_INVALID", error.message, [FieldError("memo", error.path, error.code, error.message)]
        ) from None


def authorise_sender(*, system: System, memo: memo_model.Message) -> Organisation:
    """The organisation the message is sent as, if this system may send as it, and this kind."""
    if system.kind != System.Kind.SENDER:
        raise SendRefused(403, "NOT_A_SENDER_SYSTEM", "Only sender systems may send messages.")
    header = memo.header
    sender = header.sender
    own = system.organisation
    if sender.id_type.strip().upper() != "CVR":
        raise SendRefused(
            403, "SENDER_NOT_ALLOWED", f"A system sends as an organisation (CVR), not as {sender.id_type}."
        )
    if sender.sender_id == own.cvr:
        organisation = own
    else:
        organisation = system.send_on_behalf_of.filter(cvr=sender.sender_id).first()
        if organisation is None:
            raise SendRefused(
                403,
                "SENDER_NOT_ALLOWED",
                f"This system belongs to CVR {own.cvr} and may not send as CVR {sender.sender_id}.",
                [
                    FieldError(
                        "memo",
                        "/Message/MessageHeader/Sender/senderID",
                        "SENDER_NOT_ALLOWED",
                        "Not this system's organisation.",
                        sender.sender_id,
                    )
                ],
            )
    if header.legal_notification and not organisation.may_send_legal_notification:
        raise SendRefused(
            403, "LEGAL_NOTIFICATION_NOT_ALLOWED", f"{organisation.name} may not send legal notifications."
        )
    if header.mandatory and not organisation.may_send_mandatory_post:
        raise SendRefused(403, "MANDATORY_NOT_ALLOWED", f"{organisation.name} may not send mandatory post.")
    return organisation


class Directory:
    """Who is who, for resolving recipients: one query per question (a single send)."""

    def person(self, cpr: str) -> Person | None:
        return Person.objects.filter(cpr=cpr).select_related("mailbox").first()

    def is_exempt(self, mailbox: Mailbox, day) -> bool:
        return mailbox.exemptions.filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=day), ended_at__isnull=True, valid_from__lte=day
        ).exists()


class OneQueryDirectory(Directory):
    """For one message: the person, their mailbox and whether it is exempt on ``day``, in ONE
    query whose SQL is built once per process from the models' fields (building it through
    the ORM for every send cost more than running it)."""

    def __init__(self, day) -> None:
        self.day = day
        self._exempt: dict[int, bool] = {}

    def person(self, cpr: str) -> Person | None:
        sql, person_fields, mailbox_fields = _person_lookup_sql()
        day = connection.ops.adapt_datefield_value(self.day)
        with connection.cursor() as cursor:
            execute_prepared(cursor, sql, [day, day, cpr])
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        person = Person.from_db(connection.alias, None, _converted(person_fields, row[: len(person_fields)]))
        mailbox_values = row[len(person_fields) : -1]
        owner = Mailbox._meta.get_field("owner_person")
        if mailbox_values[0] is None:  # no mailbox: as select_related leaves it, ``person.mailbox`` raises
            owner.remote_field.set_cached_value(person, None)
            return person
        mailbox = Mailbox.from_db(connection.alias, None, _converted(mailbox_fields, mailbox_values))
        owner.set_cached_value(mailbox, person)
        owner.remote_field.set_cached_value(person, mailbox)
        self._exempt[mailbox.pk] = bool(row[-1])
        return person

    def is_exempt(self, mailbox: Mailbox, day) -> bool:
        if day == self.day and mailbox.pk in self._exempt:
            return self._exempt[mailbox.pk]
        return super().is_exempt(mailbox, day)


@functools.cache
def _person_lookup_sql() -> tuple[str, list, list]:
    """SELECT every Person column, every Mailbox column and "exempt on the day" by CPR."""
    quote = connection.ops.quote_name
    person, mailbox, exemption = Person._meta, Mailbox._meta, Exemption._meta
    person_fields, mailbox_fields = list(person.concrete_fields), list(mailbox.concrete_fields)
    columns = [f"p.{quote(f.column)}" for f in person_fields]
    columns += [f"mb.{quote(f.column)}" for f in mailbox_fields]
    e_mailbox, e_ended, e_from, e_until = (
        quote(exemption.get_field(name).column)
        for name in ("mailbox", "ended_at", "valid_from", "valid_until")
    )
    exempt = (
        f"EXISTS (SELECT 1 FROM {quote(exemption.db_table)} e"  # noqa: S608
        f" WHERE e.{e_mailbox} = mb.{quote(mailbox.pk.column)} AND e.{e_ended} IS NULL"
        f" AND e.{e_from} <= %s AND (e.{e_until} IS NULL OR e.{e_until} >= %s))"
    )
    owner = quote(mailbox.get_field("owner_person").column)
    sql = (
        f"SELECT {', '.join(columns)}, {exempt} FROM {quote(person.db_table)} p"  # noqa: S608
        f" LEFT JOIN {quote(mailbox.db_table)} mb ON mb.{owner} = p.{quote(person.pk.column)}"
        f" WHERE p.{quote(person.get_field('cpr').column)} = %s LIMIT 1"
    )
    return sql, person_fields, mailbox_fields


def _converted(fields: list, values: list) -> list:
    """Database values as the ORM would hand them to ``from_db`` (backend and field converters)."""
    out = []
    for f, value in zip(fields, values, strict=True):
        for converter in connection.ops.get_db_converters(f.cached_col) + f.get_db_converters(connection):
            value = converter(value, f.cached_col, connection)
        out.append(value)
    return out


class PrefetchedDirectory(Directory):
    """The same answers for a whole batch of citizens, fetched with two queries."""

    def __init__(self, cprs: set[str]) -> None:
        self._people = {p.cpr: p for p in Person.objects.filter(cpr__in=cprs).select_related("mailbox")}
        self._exemptions: dict[int, list[Exemption]] = {}
        for exemption in Exemption.objects.filter(mailbox__owner_person__cpr__in=cprs, ended_at__isnull=True):
            self._exemptions.setdefault(exemption.mailbox_id, []).append(exemption)

    def person(self, cpr: str) -> Person | None:
        return self._people.get(cpr)

    def is_exempt(self, mailbox: Mailbox, day) -> bool:
        return any(exemption.covers(day) for exemption in self._exemptions.get(mailbox.pk, ()))


def resolve_recipient(
    *, memo: memo_model.Message, sender: Organisation, system: System, directory: Directory | None = None
) -> Route | NotAllowed:
    header = memo.header
    directory = directory or OneQueryDirectory(header.do_not_deliver_until_date or timezone.localdate())
    recipient = header.recipient
    id_type = recipient.id_type.strip().upper()
    nemsms = header.message_type == memo_model.MessageType.NEMSMS
    if id_type == "CPR":
        if not sender.is_authority:
            return NotAllowed("COMPANIES_SEND_ONLY_TO_AUTHORITIES", "A company may send only to authorities.")
        person = directory.person(recipient.recipient_id)
        if person is None or not hasattr(person, "mailbox"):
            return NotAllowed(
                "RECIPIENT_NOT_FOUND", f"No Digital Post mailbox for CPR {recipient.recipient_id}."
            )
        if nemsms:
            if not person.nemsms_mobile:
                return NotAllowed("NEMSMS_NOT_REGISTERED", "The recipient has not registered for NemSMS.")
            return Route(Message.Channel.NEMSMS, recipient_mailbox=person.mailbox)
        return _to_mailbox(person.mailbox, header, sender, directory)
    if id_type != "CVR":
        return NotAllowed(
            "RECIPIENT_ID_TYPE_UNSUPPORTED", f"Recipients are CPR or CVR, not {recipient.id_type}."
        )
    if nemsms:
        return NotAllowed("NEMSMS_ONLY_TO_CITIZENS", "NemSMS messages go to citizens (CPR) only.")
    organisation = Organisation.objects.filter(cvr=recipient.recipient_id).first()
    if organisation is None:
        return NotAllowed("RECIPIENT_NOT_FOUND", f"No organisation with CVR {recipient.recipient_id}.")
    if organisation.is_authority:
        return _to_authority(organisation, recipient, header)
    if not sender.is_authority:
        return NotAllowed("COMPANIES_SEND_ONLY_TO_AUTHORITIES", "A company may send only to authorities.")
    # A company with a recipient system of its own gets its mail there, not in the browser.
    company_system = _default_recipient_system(organisation)
    if company_system is not None:
        return Route(
            Message.Channel.RECIPIENT_SYSTEM,
            recipient_organisation=organisation,
            recipient_system=company_system,
            recipient_mailbox=getattr(organisation, "mailbox", None),
        )
    mailbox = Mailbox.objects.filter(owner_organisation=organisation).first()
    if mailbox is None:
        return NotAllowed("RECIPIENT_NOT_FOUND", f"No Digital Post mailbox for CVR {organisation.cvr}.")
    return _to_mailbox(mailbox, header, sender, directory)


def _to_mailbox(
    mailbox: Mailbox, header: memo_model.MessageHeader, sender: Organisation, directory: Directory
) -> Route | NotAllowed:
    if mailbox.status != Mailbox.Status.ACTIVE:
        return NotAllowed("RECIPIENT_MAILBOX_CLOSED", "The recipient's Digital Post mailbox is closed.")
    day = header.do_not_deliver_until_date or timezone.localdate()
    if directory.is_exempt(mailbox, day) and not (header.mandatory and sender.may_send_mandatory_post):
        return Route(Message.Channel.REMOTE_PRINT, recipient_mailbox=mailbox, notes={"exempt": True})
    return Route(Message.Channel.MAILBOX, recipient_mailbox=mailbox)


def _to_authority(organisation: Organisation, recipient: memo_model.Recipient, header) -> Route | NotAllowed:
    contact_point = None
    system = None
    if recipient.contact_point is not None:
        contact_point = (
            ContactPoint.objects.filter(
                organisation=organisation,
                contact_point_id=recipient.contact_point.contact_point_id,
                is_active=True,
            )
            .select_related("recipient_system")
            .first()
        )
        if contact_point is None:
            return NotAllowed(
                "CONTACT_POINT_NOT_FOUND",
                f"{organisation.name} has no active contact point "
                f"{recipient.contact_point.contact_point_id!r}.",
            )
        system = _route_by_rules(contact_point, header) or contact_point.recipient_system
    if system is not None and not system.is_active:
        # Mail for a deactivated system goes to the organisation's default recipient system.
        system = None
    system = system or _default_recipient_system(organisation)
    if system is None:
        return NotAllowed(
            "NO_RECIPIENT_SYSTEM", f"{organisation.name} has no recipient system for this message."
        )
    return Route(
        Message.Channel.RECIPIENT_SYSTEM,
        recipient_organisation=organisation,
        recipient_system=system,
        contact_point=contact_point,
    )


def _route_by_rules(contact_point: ContactPoint, header: memo_model.MessageHeader) -> System | None:
    rules = list(contact_point.routing_rules.select_related("recipient_system"))
    if not rules:
        return None
    content = header.content_data
    kle = content.kle_data.subject_key if content and content.kle_data else ""
    extra = {
        (d.content_data_name, d.content_data_value)
        for d in (content.additional_content_data if content else [])
    }
    for rule in rules:
        if rule.kle_prefix and kle.startswith(rule.kle_prefix) and rule.recipient_system.is_active:
            return rule.recipient_system
        if (
            rule.content_key
            and (rule.content_key, rule.content_value) in extra
            and rule.recipient_system.is_active
        ):
            return rule.recipient_system
    return None


def _default_recipient_system(organisation: Organisation) -> System | None:
    return System.objects.filter(
        organisation=organisation, kind=System.Kind.RECIPIENT, is_default=True, status=System.Status.ACTIVE
    ).first()


def _existing(sender: Organisation, message_uuid: uuid.UUID, digest: str) -> Receipt | None:
    message = Message.objects.filter(sender_organisation=sender, message_uuid=message_uuid).first()
    if message is None:
        return None
    if message.memo_sha256 != digest:
        raise SendRefused(
            409,
            "MESSAGE_UUID_ALREADY_USED",
            f"messageUUID {message_uuid} was already used by {sender.name} for a different message.",
        )
    receipt = Receipt.objects.filter(message=message, kind=Receipt.Kind.TECHNICAL).order_by("pk").first()
    if receipt is None:  # sent from the inbox or the test portal, not through the API
        raise SendRefused(409, "MESSAGE_UUID_ALREADY_USED", f"messageUUID {message_uuid} is already in use.")
    return receipt


def _value_date_start(value_date: date) -> datetime:
    """Midnight at the start of the value date, Danish time: when the message may go out."""
    return datetime.combine(value_date, time.min, tzinfo=timezone.get_default_timezone())


def _is_held(header: memo_model.MessageHeader, today) -> bool:
    return header.do_not_deliver_until_date is not None and header.do_not_deliver_until_date > today


def _persist(
    data: bytes, memo, sender: Organisation, system: System, route: Route
) -> tuple[Receipt, Delivery]:
    """Store one accepted message, its receipt and outbox row, all or nothing.

    On PostgreSQL that is ONE statement (see :func:`_store_one_statement`); elsewhere the
    bulk inserts of :func:`_store_accepted` in one transaction. Raises IntegrityError, having
    stored nothing, when the sender has used the messageUUID before.
    """
    # The technical receipt is the HTTP answer; the queue holds what comes later.
    held = _is_held(memo.header, timezone.localdate())
    accepted = (None, memo, data, sender, route, held)
    if connection.vendor == "postgresql":
        stored = _store_one_statement(accepted, system)
        if stored is not None:
            return stored
    with transaction.atomic():
        [(receipt, delivery)] = _store_accepted([accepted], system, in_queue=False)
    return receipt, delivery


def _store_accepted(
    accepted: list[tuple[dict | None, memo_model.Message, bytes, Organisation, Route, bool]],
    system: System,
    *,
    in_queue: bool,
) -> list[tuple[Receipt, Delivery]]:
    """Record accepted messages: message (and MeMo file, documents), technical receipt,
    outbox row and event, one bulk insert per table. ``accepted`` holds (receipt details,
    memo, bytes, sender, route, held) per message; runs in the caller's transaction."""
    from mailbox.services import StoreEntry, messages_store

    messages = messages_store(
        entries=[
            StoreEntry(
                memo,
                data,
                {
                    "channel": route.channel,
                    "state": Message.State.HELD if held else Message.State.ACCEPTED,
                    "sender_organisation": sender,
                    "sender_system": system,
                    "recipient_mailbox": route.recipient_mailbox,
                    "recipient_organisation": route.recipient_organisation,
                    "recipient_system": route.recipient_system,
                    "contact_point": route.contact_point,
                },
            )
            for _, memo, data, sender, route, held in accepted
        ]
    )
    now = timezone.now()
    receipts, deliveries, events = [], [], []
    for message, (details, _, _, sender, route, held) in zip(messages, accepted, strict=True):
        receipts.append(
            Receipt(
                kind=Receipt.Kind.TECHNICAL,
                sender_system=system,
                organisation=sender,
                message=message,
                message_uuid=message.message_uuid,
                transmission_id=message.transmission_id,
                status=Receipt.Status.RECEIVED,
                details=details or {},
                in_queue=in_queue,
            )
        )
        delivery, event = accepted_outbox_rows(
            message=message, route=route, held=held, now=now, organisation=sender, system=system
        )
        deliveries.append(delivery)
        events.append(event)
    Receipt.objects.bulk_create(receipts)
    Delivery.objects.bulk_create(deliveries)
    Event.objects.bulk_create(events)
    return list(zip(receipts, deliveries, strict=True))


def _store_one_statement(accepted, system: System) -> tuple[Receipt, Delivery] | None:
    """:func:`_store_accepted` for one message as ONE SQL statement, on PostgreSQL.

    The rows are built as the bulk path builds them (the message row and the outbox row by the
    very same functions; a test compares every stored column of both paths), inserted by
    one ``WITH m AS (INSERT ... RETURNING id), ... INSERT ...`` whose later inserts take the
    new ids from the earlier ones. A single statement is atomic by itself, so outside a
    transaction it runs in autocommit: one round trip instead of BEGIN, seven INSERTs and
    COMMIT. The MeMo file is written first, so a committed message always has its file; if
    the statement fails (a used messageUUID) the file is removed again. Returns None, having
    done nothing, where a row holds a value only the ORM can write (a database expression).
    """
    from mailbox.services import StoreEntry, _action, _message_row

    _, memo, data, sender, route, held = accepted
    message = _message_row(
        StoreEntry(
            memo,
            data,
            {
                "channel": route.channel,
                "state": Message.State.HELD if held else Message.State.ACCEPTED,
                "sender_organisation": sender,
                "sender_system": system,
                "recipient_mailbox": route.recipient_mailbox,
                "recipient_organisation": route.recipient_organisation,
                "recipient_system": route.recipient_system,
                "contact_point": route.contact_point,
            },
        )
    )
    memo_file = Message._meta.get_field("memo_file")
    message.memo_file.name = memo_file.generate_filename(message, f"{message.transmission_id}.xml")
    receipt = Receipt(
        kind=Receipt.Kind.TECHNICAL,
        sender_system=system,
        organisation=sender,
        message=message,
        message_uuid=message.message_uuid,
        transmission_id=message.transmission_id,
        status=Receipt.Status.RECEIVED,
        details={},
        in_queue=False,
    )
    delivery, event = accepted_outbox_rows(
        message=message, route=route, held=held, now=timezone.now(), organisation=sender, system=system
    )
    documents, files, actions = _document_rows(message, memo.body, _action) if memo.body else ([], [], [])

    sql = _OneStatement()
    new_message = sql.insert("m", message, returning=True)
    new_document = {}
    if documents:
        new_document = sql.insert_many(
            "d", documents, refs={"message_id": [new_message] * len(documents)}, returning="position"
        )
        for name, rows in (("f", files), ("a", actions)):
            if rows:
                parents = [new_document[position] for position, _ in rows]
                sql.insert_many(name, [row for _, row in rows], refs={"document_id": parents})
    new_receipt = sql.insert("r", receipt, refs={"message_id": new_message}, returning=True)
    new_delivery = sql.insert("o", delivery, refs={"message_id": new_message}, returning=True)
    new_event = sql.insert("e", event, refs={"message_id": new_message}, returning=True)
    if sql.unsupported:
        return None

    storage = message.memo_file.storage
    stored_name = storage_save(storage, message.memo_file.name, ContentFile(data))
    message.memo_file.name = stored_name
    sql.set_value(message, "memo_file", stored_name)  # the same unless storage renamed it
    try:
        if connection.in_atomic_block:
            with transaction.atomic():  # a savepoint: a used messageUUID leaves the caller's work intact
                ids = sql.execute([new_message, new_receipt, new_delivery, new_event])
        else:
            ids = sql.execute([new_message, new_receipt, new_delivery, new_event])
    except BaseException:
        storage.delete(stored_name)
        raise
    for obj, pk in zip((message, receipt, delivery, event), ids, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection.alias
    receipt.message, delivery.message, event.message = message, message, message
    return receipt, delivery


def _document_rows(message: Message, body: memo_model.MessageBody, action_row):
    """The Document, DocumentFile and Action rows of one message, as mailbox.services stores
    them (``_store_documents``): files and actions come paired with their document's position."""
    from mailbox.models import Document, DocumentFile
    from memo.rules import base64_decoded_size

    kinds = [(Document.Kind.MAIN, body.main_document)]
    kinds += [(Document.Kind.ADDITIONAL, d) for d in body.additional_documents]
    kinds += [(Document.Kind.TECHNICAL, d) for d in body.technical_documents]
    documents, files, actions = [], [], []
    for position, (kind, source) in enumerate(kinds):
        document = Document(
            message=message,
            kind=kind,
            position=position,
            document_id=source.document_id or "",
            label=source.label or (source.files[0].filename if source.files else ""),
        )
        documents.append(document)
        for file_position, source_file in enumerate(source.files):
            size = base64_decoded_size(source_file.content)
            files.append(
                (
                    position,
                    DocumentFile(
                        document=document,
                        position=file_position,
                        filename=source_file.filename,
                        mime_type=source_file.encoding_format,
                        language=source_file.language or "",
                        size=size if size is not None else len(source_file.data),
                    ),
                )
            )
        # Technical documents carry no actions.
        source_actions = enumerate(getattr(source, "actions", []))
        actions += [(position, action_row(document, n, action)) for n, action in source_actions]
    return documents, files, actions


class _OneStatement:
    """Builds ``WITH a AS (INSERT ...), b AS (INSERT ...) SELECT ...`` from model instances.

    Columns and values come from the models' own fields (``pre_save`` and
    ``get_db_prep_save``, as the ORM's INSERT does), so a field added to a model is written
    here too. A foreign key to a row of the same statement is given in ``refs`` as the SQL
    that selects the new id. Identifiers are the models' quoted table and column names; every
    value is a query parameter.
    """

    def __init__(self) -> None:
        self.parts: list[tuple[str, str, list]] = []  # (name, sql, params)
        self.unsupported = False
        self._slots: dict[tuple[int, str], tuple[int, int]] = {}  # (object, field) -> (part, param)
        self.connection = connections[DEFAULT_DB_ALIAS]  # looked up once, not per value

    def insert(self, name: str, obj, refs=None, returning: bool = False) -> str:
        refs = {column: [sql] for column, sql in (refs or {}).items()}
        return self.insert_many(name, [obj], refs=refs, returning=returning)[0]

    def insert_many(self, name: str, objs, refs=None, returning: bool | str = False):
        """Insert ``objs``; with ``returning=True`` (one row) the SQL of its new id, with
        ``returning="position"`` the SQL of each row's new id by its position."""
        refs = refs or {}
        conn = self.connection
        fields, table, columns, pk = _insert_shape(type(objs[0]))
        rows, params = [], []
        for index, obj in enumerate(objs):
            placeholders = []
            for f in fields:
                if f.attname in refs:
                    placeholders.append(refs[f.attname][index])
                    continue
                value = f.pre_save(obj, True)
                if hasattr(value, "resolve_expression"):
                    self.unsupported = True
                self._slots[(id(obj), f.name)] = (len(self.parts), len(params))
                placeholders.append("%s")
                params.append(f.get_db_prep_save(value, connection=conn))
            rows.append(f"({', '.join(placeholders)})")
        sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join(rows)}"  # noqa: S608
        if not returning:
            self.parts.append((name, sql, params))
            return None
        if returning is True:
            self.parts.append((name, f"{sql} RETURNING {pk}", params))
            return [f"(SELECT {pk} FROM {name})"]  # noqa: S608
        # Several rows: each is told apart by its position (unique per parent).
        self.parts.append((name, f'{sql} RETURNING {pk}, "position"', params))
        return {
            obj.position: f'(SELECT {pk} FROM {name} WHERE "position" = {int(obj.position)})'  # noqa: S608
            for obj in objs
        }

    def set_value(self, obj, field_name: str, value) -> None:
        part, index = self._slots[(id(obj), field_name)]
        field = obj._meta.get_field(field_name)
        self.parts[part][2][index] = field.get_db_prep_save(value, connection=connection)

    def execute(self, selects: list[str]) -> tuple:
        ctes = ", ".join(f"{name} AS ({sql})" for name, sql, _ in self.parts)
        params = [p for _, _, part_params in self.parts for p in part_params]
        sql = f"WITH {ctes} SELECT {', '.join(selects)}"
        with connection.cursor() as cursor:
            execute_prepared(cursor, sql, params)
            return cursor.fetchone()


@functools.cache
def _insert_shape(model) -> tuple[list, str, str, str]:
    """A model's inserted fields, quoted table, column list and primary key column."""
    quote = connection.ops.quote_name
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.generated and f is not meta.auto_field]
    return fields, quote(meta.db_table), ", ".join(quote(f.column) for f in fields), quote(meta.pk.column)


def accepted_outbox_rows(
    *, message: Message, route: Route, held: bool, now: datetime, **event_refs
) -> tuple[Delivery, Event]:
    """The outbox row and the "validated" event for one accepted message, not yet saved.

    Shared by the API (:func:`_store_accepted`) and by mail written in the inbox
    (mailbox/writing.py), so the delivery engine cannot tell them apart. ``event_refs`` say
    who sent it (Event fields: organisation, system, mailbox, actor_person...).
    """
    delivery = Delivery(
        message=message,
        channel=route.channel,
        state=Delivery.State.HELD if held else Delivery.State.PENDING,
        due_at=_value_date_start(message.value_date) if held else now,
        next_attempt_at=None if held else now,
        recipient_system=route.recipient_system,
    )
    details = {"channel": route.channel, **route.notes}
    if held:
        details["valueDate"] = message.value_date.isoformat()
    event = Event(
        tag=Event.Tag.DELAYED_MEMO_SEND_VALIDATED_AWAITING_DELAY if held else Event.Tag.MEMO_SEND_VALIDATED,
        message=message,
        message_uuid=message.message_uuid,
        subject=message.recipient_id,
        details=details,
        **event_refs,
    )
    return delivery, event


def _refusal_receipt(system: System, sender: Organisation, memo, refusal: NotAllowed) -> Receipt:
    with transaction.atomic():
        receipt = Receipt.objects.create(
            kind=Receipt.Kind.TECHNICAL,
            sender_system=system,
            organisation=sender,
            message_uuid=memo.header.message_uuid,
            status=Receipt.Status.NOT_ALLOWED,
            error_code=refusal.code,
            error_message=refusal.message,
            in_queue=False,
        )
        event_log_write(
            tag=Event.Tag.MEMO_SEND_NOT_ALLOWED,
            organisation=sender,
            system=system,
            message_uuid=memo.header.message_uuid,
            subject=memo.header.recipient.recipient_id,
            details={"code": refusal.code, "message": refusal.message},
        )
    return receipt


class RecallRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def memo_recall(
    *, message_uuid: uuid.UUID, system: System | None = None, organisation=None, actor_user=None
) -> Message:
    """Recall a message not yet delivered. Exactly one of recall and release wins.

    Both move the message out of HELD/ACCEPTED with a conditional UPDATE; whichever runs
    second changes no row and says so.
    """
    senders = [system.organisation, *system.send_on_behalf_of.all()] if system else [organisation]
    message = Message.objects.filter(sender_organisation__in=senders, message_uuid=message_uuid).first()
    if message is None:
        raise RecallRefused(404, "MESSAGE_NOT_FOUND", f"No message {message_uuid} sent by this organisation.")
    now = timezone.now()
    with transaction.atomic():
        changed = Message.objects.filter(
            pk=message.pk, state__in=[Message.State.HELD, Message.State.ACCEPTED]
        ).update(state=Message.State.RECALLED, recalled_at=now, recalled_by=actor_user)
        if not changed:
            message.refresh_from_db(fields=["state"])
            if message.state == Message.State.RECALLED:
                raise RecallRefused(409, "ALREADY_RECALLED", f"Message {message_uuid} was already recalled.")
            raise RecallRefused(
                409, "ALREADY_DELIVERED", f"Message {message_uuid} has already been delivered."
            )
        Delivery.objects.filter(message=message).exclude(state=Delivery.State.DONE).update(
            state=Delivery.State.CANCELLED, completed_at=now
        )
        event_log_write(
            tag=Event.Tag.MESSAGE_RECALLED_BY_ADMINISTRATOR
            if actor_user
            else Event.Tag.MEMO_MESSAGE_RECALLED,
            organisation=message.sender_organisation,
            system=system,
            message=message,
            actor_user=actor_user,
            subject=message.recipient_id,
        )
    message.refresh_from_db()
    return message


# --- Many at once (batches) ------------------------------------------------------------------

#: Messages judged, stored and committed together in a batch.
BATCH_CHUNK = 500


def memo_send_many(
    *, items: list[tuple[str, bytes | None]], system: System, batch_id: uuid.UUID
) -> list[str]:
    """Accept many MeMo at once (a batch). Each is judged exactly as :func:`memo_send` judges
    one; they are stored with one bulk insert per table per chunk and delivered by one task per
    chunk. Every file's receipt goes to the sender's queue. Returns each file's outcome."""
    outcomes: list[str] = []
    for start in range(0, len(items), BATCH_CHUNK):
        chunk = items[start : start + BATCH_CHUNK]
        try:
            outcomes += _send_chunk(chunk, system, batch_id)
        except IntegrityError:
            # A single send raced us for a messageUUID: judge this chunk one by one instead.
            outcomes += [_send_one_of_batch(name, data, system, batch_id) for name, data in chunk]
    return outcomes


def _batch_refusal(system, details, status, code, message, message_uuid=None, field_errors=()) -> Receipt:
    details = {
        **details,
        "fieldErrors": [{"field": e.field, "code": e.code, "message": e.message} for e in field_errors],
    }
    return Receipt(
        kind=Receipt.Kind.TECHNICAL,
        sender_system=system,
        organisation=system.organisation,
        message_uuid=message_uuid,
        status=status,
        error_code=code,
        error_message=message,
        details=details,
    )


def _refused_status(refused: SendRefused) -> str:
    return Receipt.Status.INVALID if refused.status in (400, 409, 413) else Receipt.Status.NOT_ALLOWED


def _send_chunk(chunk, system: System, batch_id: uuid.UUID) -> list[str]:
    outcomes: list[str] = [""] * len(chunk)
    receipts: list[Receipt] = []
    judged = []
    for index, (name, data) in enumerate(chunk):
        details = {"batchId": str(batch_id), "file": name}
        if data is None:
            receipts.append(
                _batch_refusal(
                    system, details, Receipt.Status.INVALID, "PAYLOAD_TOO_LARGE", "The file is too large."
                )
            )
            outcomes[index] = Receipt.Status.INVALID
            continue
        try:
            memo = memo_parse_and_validate(data)
            sender = authorise_sender(system=system, memo=memo)
        except SendRefused as refused:
            outcomes[index] = _refused_status(refused)
            receipts.append(
                _batch_refusal(
                    system,
                    details,
                    outcomes[index],
                    refused.code,
                    refused.message,
                    field_errors=refused.field_errors,
                )
            )
            continue
        judged.append((index, details, memo, data, sender))

    existing = {
        (org, message_uuid): (digest, pk)
        for org, message_uuid, digest, pk in Message.objects.filter(
            sender_organisation__in={s.pk for *_, s in judged},
            message_uuid__in={m.header.message_uuid for _, _, m, _, _ in judged},
        ).values_list("sender_organisation_id", "message_uuid", "memo_sha256", "pk")
    }
    directory = PrefetchedDirectory(
        {
            m.header.recipient.recipient_id
            for _, _, m, _, _ in judged
            if m.header.recipient.id_type.strip() == "CPR"
        }
    )
    seen: dict[tuple, str] = {}
    duplicates: list[int] = []
    to_store = []
    today = timezone.localdate()
    for index, details, memo, data, sender in judged:
        header = memo.header
        key, digest = (sender.pk, header.message_uuid), hashlib.sha256(data).hexdigest()
        known = existing[key][0] if key in existing else seen.get(key)
        if known is not None:
            if known != digest:
                outcomes[index] = Receipt.Status.INVALID
                receipts.append(
                    _batch_refusal(
                        system,
                        details,
                        outcomes[index],
                        "MESSAGE_UUID_ALREADY_USED",
                        f"messageUUID {header.message_uuid} was already used for a different message.",
                        header.message_uuid,
                    )
                )
            else:
                outcomes[index] = "DUPLICATE"
                if key in existing:
                    duplicates.append(existing[key][1])
            continue
        seen[key] = digest
        route = resolve_recipient(memo=memo, sender=sender, system=system, directory=directory)
        if isinstance(route, NotAllowed):
            outcomes[index] = Receipt.Status.NOT_ALLOWED
            receipt = _batch_refusal(
                system, details, outcomes[index], route.code, route.message, header.message_uuid
            )
            receipt.organisation = sender
            receipts.append(receipt)
            continue
        held = _is_held(header, today)
        outcomes[index] = Receipt.Status.RECEIVED
        to_store.append((details, memo, data, sender, route, held))

    with transaction.atomic():
        stored = _store_accepted(to_store, system, in_queue=True)
        events = []
        for receipt in receipts:
            if receipt.status == Receipt.Status.NOT_ALLOWED and receipt.message_uuid:
                events.append(
                    Event(
                        tag=Event.Tag.MEMO_SEND_NOT_ALLOWED,
                        organisation=receipt.organisation,
                        system=system,
                        message_uuid=receipt.message_uuid,
                        details={"code": receipt.error_code},
                    )
                )
        Receipt.objects.bulk_create(receipts)
        Event.objects.bulk_create(events)
        # A file already received earlier: its receipt goes to the queue again.
        Receipt.objects.filter(message_id__in=duplicates, kind=Receipt.Kind.TECHNICAL).update(in_queue=True)
        pending = [d.pk for _, d in stored if d.state == Delivery.State.PENDING]
        if pending:
            from mailbox.tasks import deliver_many

            enqueue_after_commit(deliver_many, pending)
    return outcomes


def _send_one_of_batch(name: str, data: bytes | None, system: System, batch_id: uuid.UUID) -> str:
    details = {"batchId": str(batch_id), "file": name}
    if data is None:
        _batch_refusal(
            system, details, Receipt.Status.INVALID, "PAYLOAD_TOO_LARGE", "The file is too large."
        ).save()
        return Receipt.Status.INVALID
    try:
        result = memo_send(data=data, system=system)
    except SendRefused as refused:
        status = _refused_status(refused)
        _batch_refusal(
            system, details, status, refused.code, refused.message, field_errors=refused.field_errors
        ).save()
        return status
    Receipt.objects.filter(pk=result.receipt.pk).update(in_queue=True, details=details)
    return result.receipt.status if result.created else "DUPLICATE"
