"""The path of one message into the hub, step by step as in DESIGN.md:

receive -> parse + validate MeMo -> authorise the sender for this message -> resolve the
recipient -> persist message + receipt + outbox row in ONE transaction -> receipt, and the
delivery task queued only after commit.

Services here never see a request: the API (and the test portal, and replies written in the
inbox) call them with bytes and the calling system.
"""

from __future__ import annotations

import decimal
import functools
import hashlib
import itertools
import posixpath
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time

import orjson
from django.core.files.base import ContentFile
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import NOT_PROVIDED, Q
from django.db.models.base import ModelState
from django.utils import timezone

from adminaccess.authentication import UncheckedVersion
from adminaccess.models import Event, System
from adminaccess.services import event_log_write
from contactstructure.models import ContactPoint
from digitalpost.prepared import execute_prepared
from digitalpost.queueing import enqueue_after_commit, wake_up_after_commit
from mailbox.models import (
    Action,
    Delivery,
    Document,
    DocumentFile,
    Exemption,
    Mailbox,
    Message,
    Receipt,
    StoredFile,
)
from mailbox.storage import DatabaseStorage
from mailbox.storage import save as storage_save
from memo import NOT_READ, MemoParseError, from_tree, validate
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


def memo_send(
    *,
    data: bytes,
    system: System,
    expected_uuid: uuid.UUID | None = None,
    unchecked: UncheckedVersion | None = None,
) -> SendResult:
    """Accept one MeMo from a sender system, or refuse it with a specific error.

    ``unchecked``: the system comes from the API's credential cache and its rows are still
    to be checked (adminaccess/authentication.py); that happens in the storing statement
    or before anything else is stored or answered, and raises CredentialsChanged (nothing
    stored) if they changed.
    """
    try:
        root = memo_validated_tree(data)
        memo = memo_from_tree(root, skip=SEND_SKIPS)
        today = timezone.localdate()
        if _is_held(memo.header, today):
            # Held mail is released on its date set-based (mailbox/release.py), with no step
            # that could build its documents: they are stored with it. Other mail gets them
            # on delivery, from the stored MeMo (Message.documents_pending).
            memo = memo_from_tree(root, skip=SEND_SKIPS - {memo_model.MessageBody})
        if expected_uuid is not None and memo.header.message_uuid != expected_uuid:
            raise SendRefused(
                400,
                "MESSAGE_UUID_MISMATCH",
                f"The query parameter memo-message-uuid ({expected_uuid}) is not the MeMo's messageUUID "
                f"({memo.header.message_uuid}).",
            )
        sender = authorise_sender(system=system, memo=memo)
    except SendRefused:
        if unchecked is not None:
            unchecked.check()  # a refusal judged on out-of-date rows is no answer
        raise
    try:
        stored = _store_for_citizen(data, memo, sender, system, unchecked, today)
        if stored is None:
            if unchecked is not None:
                unchecked.check()
            route = resolve_recipient(memo=memo, sender=sender, system=system)
            if isinstance(route, NotAllowed):
                # A message already accepted stays accepted, whatever has changed since.
                existing = _existing(sender, memo.header.message_uuid, hashlib.sha256(data).hexdigest())
                if existing is not None:
                    return SendResult(existing, created=False)
                return SendResult(_refusal_receipt(system, sender, memo, route), created=True)
            stored = _persist(data, memo, sender, system, route)
    except IntegrityError:
        # The messageUUID is taken (a resend, or two sends racing): the unique constraint
        # decides, so the common case costs no lookup. The same bytes get the same receipt.
        # (A guarded statement inserts nothing, so cannot fail, unless its guard held.)
        existing = _existing(sender, memo.header.message_uuid, hashlib.sha256(data).hexdigest())
        if existing is None:
            raise
        # Where the first send's answer was lost with its connection, its wake-up was too:
        # the resend wakes delivery, rather than leave the message to the sweep.
        pending = Delivery.objects.filter(message_id=existing.message_id, state=Delivery.State.PENDING)
        for delivery_pk in pending.values_list("pk", flat=True):
            _wake_delivery(delivery_pk)
        return SendResult(existing, created=False)
    receipt, delivery = stored
    if delivery.state == Delivery.State.PENDING:
        _wake_delivery(delivery.pk)
    return SendResult(receipt, created=True)


def _wake_delivery(delivery_pk: int) -> None:
    from mailbox.tasks import deliver, deliver_many

    # One task per window (half a second) for all the messages this process accepted in it,
    # not one publish per message; the outbox row is the record (see digitalpost/queueing.py).
    wake_up_after_commit(deliver, deliver_many, delivery_pk)


def _store_for_citizen(
    data: bytes, memo, sender: Organisation, system: System, unchecked: UncheckedVersion | None, today: date
) -> tuple[Receipt, Delivery] | None:
    """The common case in one statement: a letter from an authority to a citizen whose
    mailbox is open and who is not exempt, from a system whose cached credentials still
    hold. The statement's guard (:class:`_Guard`) finds the mailbox and checks all that; if
    any of it fails, nothing is stored and this returns None, for the general path to judge
    the message as :func:`resolve_recipient` does. PostgreSQL only."""
    header = memo.header
    if (
        connection.vendor != "postgresql"
        or header.recipient.id_type.strip().upper() != "CPR"
        or header.message_type == memo_model.MessageType.NEMSMS
        or not sender.is_authority
    ):
        return None
    guard = _Guard(
        cpr=header.recipient.recipient_id,
        day=header.do_not_deliver_until_date or today,
        # Mandatory post from a sender that may send it reaches exempt citizens too.
        exemption_matters=not (header.mandatory and sender.may_send_mandatory_post),
        unchecked=unchecked,
    )
    held = _is_held(header, today)
    accepted = (None, memo, data, sender, Route(Message.Channel.MAILBOX), held)
    return _store_one_statement(accepted, system, guard=guard)


def memo_parse_and_validate(data: bytes) -> memo_model.Message:
    """The typed model of an acceptable MeMo, or SendRefused (400) saying all that is wrong."""
    return memo_from_tree(memo_validated_tree(data))


def memo_validated_tree(data: bytes):
    """The parsed tree of an acceptable MeMo, or SendRefused (400) saying all that is wrong."""
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
    return report.root


#: What a single send does not build into the typed model (memo.reader.from_tree's ``skip``;
#: their values are checked all the same): the body, whose rows the delivery builds from the
#: stored MeMo, and the header's parts the hub neither stores in columns nor routes by. They
#: stay in the stored MeMo for whoever reads it. Using one of them raises NotReadError.
SEND_SKIPS = frozenset(
    {
        memo_model.MessageBody,
        memo_model.AttentionData,
        memo_model.ContactInfo,
        memo_model.Representative,
        memo_model.ForwardData,
        memo_model.ReplyData,
        memo_model.CPRData,
        memo_model.CVRData,
        memo_model.MotorVehicle,
        memo_model.PropertyNumber,
        memo_model.CaseID,
        memo_model.FORMData,
        memo_model.ProductionUnit,
        memo_model.Education,
        memo_model.Address,
        memo_model.UnstructuredAddress,
    }
)


def memo_from_tree(root, *, skip=frozenset()) -> memo_model.Message:
    """The typed model of a validated tree, without the parts in ``skip``, or SendRefused
    (400) for a value that cannot be read."""
    try:
        return from_tree(root, skip=skip)
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
                    "documents_pending": _documents_later(memo),
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


@dataclass(frozen=True)
class _Guard:
    """What the one-statement store checks before it stores a letter to a citizen: the
    citizen's mailbox (found by CPR, open, and with no exemption on ``day`` where one
    matters) and, for credentials from the cache, that the system's rows are unchanged. The
    message takes its recipient mailbox from the guard; where the guard finds nothing, the
    statement inserts nothing."""

    cpr: str
    day: date
    exemption_matters: bool
    unchecked: UncheckedVersion | None

    @property
    def shape(self) -> tuple[bool, bool]:
        return self.exemption_matters, self.unchecked is not None

    def params(self) -> list:
        params = [self.cpr, Mailbox.Status.ACTIVE]
        if self.exemption_matters:
            day = connection.ops.adapt_datefield_value(self.day)
            params += [day, day]
        if self.unchecked is not None:
            params += self.unchecked.params
        return params


@functools.cache
def _guard_sql(exemption_matters: bool, check_version: bool) -> str:
    """The guard as a SELECT of the mailbox's id (see :class:`_Guard`; parameters in the
    order of :meth:`_Guard.params`)."""
    quote = connection.ops.quote_name
    person, mailbox, exemption = Person._meta, Mailbox._meta, Exemption._meta

    def column(meta, name: str) -> str:
        return quote(meta.get_field(name).column)

    mailbox_id, until = quote(mailbox.pk.column), column(exemption, "valid_until")
    sql = (
        f"SELECT mb.{mailbox_id} AS mailbox FROM {quote(person.db_table)} p"  # noqa: S608
        f" JOIN {quote(mailbox.db_table)} mb"
        f" ON mb.{column(mailbox, 'owner_person')} = p.{quote(person.pk.column)}"
        f" WHERE p.{column(person, 'cpr')} = %s AND mb.{column(mailbox, 'status')} = %s"
    )
    if exemption_matters:
        sql += (
            f" AND NOT EXISTS (SELECT 1 FROM {quote(exemption.db_table)} e"  # noqa: S608
            f" WHERE e.{column(exemption, 'mailbox')} = mb.{mailbox_id}"
            f" AND e.{column(exemption, 'ended_at')} IS NULL AND e.{column(exemption, 'valid_from')} <= %s"
            f" AND (e.{until} IS NULL OR e.{until} >= %s))"
        )
    if check_version:
        sql += f" AND ({UncheckedVersion.SQL})"
    return sql + " LIMIT 1"


def _store_one_statement(
    accepted, system: System, guard: _Guard | None = None
) -> tuple[Receipt, Delivery] | None:
    """:func:`_store_accepted` for one message as ONE SQL statement, on PostgreSQL.

    The rows hold the values the bulk path stores (both take them from the same functions; a
    test compares every stored column of both paths), inserted by one ``WITH m AS (INSERT ...
    SELECT ... RETURNING id), ... INSERT ...`` whose later inserts take the new ids from the
    earlier ones. A single statement is atomic by itself, so outside a transaction it runs
    in autocommit: one round trip instead of BEGIN, seven INSERTs and COMMIT. The rows are
    plain values, not model instances: building and preparing some twenty instances cost more
    than running the statement. With a ``guard`` the message row is inserted only where the
    guard finds the recipient's mailbox, and every other row only with the message; the
    message takes that mailbox. The MeMo is a row of the same statement where it is kept in
    the database (the default); in any other storage the file is written first, so a
    committed message always has its file, and removed again if the statement fails (a used
    messageUUID; not where the connection failed, see :func:`_answer_lost`) or its guard
    stored nothing. Returns None, having stored nothing, where the guard found no mailbox,
    and where a table has a column only the ORM can write (a database default).
    """
    from mailbox.services import document_values, message_values

    _, memo, data, sender, route, held = accepted
    tables = _store_tables()
    if tables is None:
        return None
    now = timezone.now()
    message = message_values(memo, data)
    message.update(
        channel=route.channel,
        state=Message.State.HELD if held else Message.State.ACCEPTED,
        sender_organisation_id=sender.pk,
        sender_system_id=system.pk,
        recipient_mailbox_id=_pk(route.recipient_mailbox),
        recipient_organisation_id=_pk(route.recipient_organisation),
        recipient_system_id=_pk(route.recipient_system),
        contact_point_id=_pk(route.contact_point),
        documents_pending=_documents_later(memo),
        transmission_id=uuid.uuid4(),
        created_at=now,
    )
    message["memo_file"] = _memo_file_name(message)
    memo_file = Message._meta.get_field("memo_file")
    receipt = {
        "kind": Receipt.Kind.TECHNICAL,
        "sender_system_id": system.pk,
        "organisation_id": sender.pk,
        "message_uuid": message["message_uuid"],
        "transmission_id": message["transmission_id"],
        "status": Receipt.Status.RECEIVED,
        "details": {},
        "in_queue": False,
        "created_at": now,
    }
    delivery, event = _outbox_values(
        route=route,
        held=held,
        now=now,
        value_date=message["value_date"],
        message_uuid=message["message_uuid"],
        recipient_id=message["recipient_id"],
    )
    event.update(organisation_id=sender.pk, system_id=system.pk, occurred_at=now)
    documents = [] if _documents_later(memo) or not memo.body else document_values(memo.body)

    storage = memo_file.storage
    in_database = isinstance(storage, DatabaseStorage)
    written = None
    if not in_database:  # a file written first, removed again if nothing is stored
        written = storage_save(storage, message["memo_file"], ContentFile(data))
        message["memo_file"] = written  # the same unless storage renamed it
    try:
        ids = _store_rows(tables, message, documents, receipt, delivery, event, data, guard, in_database)
    except BaseException as exc:
        if written is not None and not _answer_lost(exc):
            storage.delete(written)
        raise
    message_pk, receipt_pk, delivery_pk, mailbox_pk = ids
    if message_pk is None:  # the guard found no mailbox: nothing was stored
        if written is not None:
            storage.delete(written)
        return None
    if guard is not None:
        message["recipient_mailbox_id"] = mailbox_pk
    stored = _loaded(Message, message_pk, message)
    receipt = _loaded(Receipt, receipt_pk, receipt, message=stored)
    delivery = _loaded(Delivery, delivery_pk, delivery, message=stored)
    return receipt, delivery


def _documents_later(memo: memo_model.Message) -> bool:
    """Whether a message's documents are built on delivery (Message.documents_pending): it
    was read without its body (see memo_send)."""
    return memo.body is NOT_READ


def _memo_file_name(message: dict) -> str:
    """The name ``Message.memo_file`` gives the MeMo of this message (by its transmission id),
    as FileField.generate_filename does. With a fixed ``upload_to`` the folder's name is the
    same all day: it is worked out once per folder, and the file name, a UUID, needs nothing
    made valid."""
    field = Message._meta.get_field("memo_file")
    name = f"{message['transmission_id']}.xml"
    if callable(field.upload_to):
        return field.generate_filename(Message(**message), name)
    # The local clock without a zone, as Django names the folder.
    folder = _memo_folder(field.storage, datetime.now().strftime(str(field.upload_to)))
    return f"{folder}/{name}" if folder else name


@functools.lru_cache(maxsize=16)
def _memo_folder(storage, folder: str) -> str:
    """The folder ``storage`` puts files named in ``folder`` in (see _memo_file_name)."""
    return posixpath.dirname(storage.generate_filename(posixpath.join(folder, "name.xml")))


def _loaded(model, pk: int, values: dict, **parents):
    """The instance of a row just stored from ``values`` (every field, as the statement's
    defaults completed them), as if loaded: built the way Django unpickles one, without
    ``__init__``'s walk of every field. ``parents`` are the foreign keys' objects."""
    obj = model.__new__(model)
    obj._state = state = ModelState()
    state.adding, state.db = False, connection.alias
    obj.__dict__.update(values)
    obj.__dict__[model._meta.pk.attname] = pk
    for name, parent in parents.items():
        # What the descriptor's __set__ leaves, without its checks and database router, which
        # cost more than building the row: the parent's id, the parent cached on the child
        # and, for a one-to-one, the child on the parent.
        field = model._meta.get_field(name)
        obj.__dict__[field.attname] = parent.pk
        state.fields_cache[field.cache_name] = parent
        if field.one_to_one:
            parent._state.fields_cache[field.remote_field.cache_name] = obj
    return obj


def _store_rows(
    tables: dict,
    message: dict,
    documents: list,
    receipt: dict,
    delivery: dict,
    event: dict,
    data: bytes,
    guard: _Guard | None,
    in_database: bool,
) -> tuple:
    """Run the one statement for these rows (see :func:`_store_one_statement`): the new ids
    of the message, receipt and outbox row, and the guard's mailbox, all None where the
    guard found none. The dicts are given the defaults they did not have."""
    params: list = guard.params() if guard is not None else []
    params.append(tables[(Message, guard is not None)].rows_json([message]))
    if documents:
        params.append(tables[Document].rows_json([document for document, _, _ in documents]))
        for position, model in ((1, DocumentFile), (2, Action)):
            if any(parts[position] for parts in documents):
                params.append(tables[model].rows_json([parts[position] for parts in documents], nested=True))
    for model, values in ((Receipt, receipt), (Delivery, delivery), (Event, event)):
        params.append(tables[model].rows_json([values]))
    memo_row = None
    if in_database:  # the MeMo is one more row of the statement
        text = _utf8_text(data)
        memo_row = "bytea" if text is None else "text"
        stored_file = {"name": message["memo_file"], "size": len(data)}
        # The content is in the SELECT list, before the row's other values in its FROM.
        params += [
            data if text is None else _memo_constant(data, text),
            tables[StoredFile].rows_json([stored_file]),
        ]
    sql = _store_sql(
        (
            bool(documents),
            any(files for _, files, _ in documents),
            any(actions for _, _, actions in documents),
        ),
        guard.shape if guard is not None else None,
        memo_row,
    )
    if connection.in_atomic_block:
        with transaction.atomic():  # a savepoint: a used messageUUID leaves the caller's work intact
            return _run_store_statement(sql, params)
    return _run_store_statement(sql, params)


def _answer_lost(exc: BaseException) -> bool:
    """Whether the statement may have committed although it raised: it ran by itself (in a
    transaction, the caller's commit decides) and the connection failed, so its answer may be
    all that was lost. Its file then stays (at worst one no message refers to): a resend
    finds the message, which must still have its MeMo."""
    if not isinstance(exc, OperationalError | InterfaceError) or connection.in_atomic_block:
        return False
    return connection.connection is None or not connection.is_usable()


def _pk(obj) -> int | None:
    return None if obj is None else obj.pk


def _utf8_text(data: bytes) -> str | None:
    """The MeMo as text where it is UTF-8 (nearly all are) and the database's encoding is too,
    else None. As text it goes to PostgreSQL as it is, and ``convert_to`` gives back exactly
    these bytes; as bytea the driver would send it hex-encoded, twice the size for the server
    to read. Text cannot hold NUL, which no XML document contains, but bytes may."""
    if b"\x00" in data:  # memchr over the bytes: several times cheaper than over the text
        return None
    if not _utf8_database():
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _memo_constant(data: bytes, text: str):
    """The UTF-8 MeMo (``data``, as ``text``) as the statement's parameter: as it is, in a
    PostgreSQL dollar-quoted constant (:class:`_DollarQuoted`), where it holds no ``$memo``
    (which could end the constant early, also across its end), else as text the driver
    escapes. Escaping a MeMo's every character cost the driver more than the rest of the
    statement's values together."""
    if b"$memo" in data:  # memchr over the bytes, not a search of the text
        return text
    return _DollarQuoted(data)


class _DollarQuoted:
    """A psycopg2 parameter that is UTF-8 bytes without NUL sent as they are, between
    ``$memo$`` quotes, which the bytes do not hold (see :func:`_memo_constant`)."""

    __slots__ = ("quoted",)

    def __init__(self, data: bytes) -> None:
        self.quoted = b"$memo$" + data + b"$memo$"

    def __conform__(self, protocol):
        return self

    def getquoted(self) -> bytes:
        return self.quoted


def _utf8_database() -> bool:
    """Whether the database's encoding is UTF-8, asked once per database connection."""
    if connection.connection is None:
        connection.ensure_connection()  # the statement may be the request's first use of it
    raw = connection.connection
    known = getattr(connection, "_dp_utf8", None)
    if known is None or known[0] is not raw:
        known = connection._dp_utf8 = (raw, raw.info.parameter_status("server_encoding") == "UTF8")
    return known[1]


def _run_store_statement(sql: str, params: list) -> tuple:
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, params)
        return cursor.fetchone()


class _Insert:
    """One model's INSERT of rows given as one JSON parameter: its columns, and the JSON of
    rows from dicts of field values by attribute name, with the model's default where a
    field is not given.

    Columns come from the model's own fields, so a field added to a model is written here too
    (with its default). The statement reads the rows with ``jsonb_populate_recordset`` into
    the table's own row type, so each value goes through its column's type as in any INSERT
    (a text too long for its column is an error, not cut short). One parameter per table
    instead of one per value: quoting some 170 values one by one cost the driver more than
    encoding them all as JSON. ``refs`` are the columns taken from rows of the same statement
    (a parent's new id), ``own`` those given by SQL of their own (a stored file's content).
    """

    JSON_READY = frozenset(
        {
            "BigIntegerField",
            "BooleanField",
            "CharField",
            "DateField",
            "DateTimeField",
            "FileField",
            "ForeignKey",
            "IntegerField",
            "OneToOneField",
            "PositiveBigIntegerField",
            "PositiveIntegerField",
            "PositiveSmallIntegerField",
            "SmallIntegerField",
            "TextField",
            "UUIDField",
        }
    )

    def __init__(self, model, refs: tuple[str, ...] = (), own: tuple[str, ...] = ()) -> None:
        quote = connection.ops.quote_name
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.generated and f is not meta.auto_field]
        self.table = quote(meta.db_table)
        self.columns = ", ".join(quote(f.column) for f in fields)
        self.refs, self.own = set(refs), set(own)
        self.selected = [(f.attname, quote(f.column)) for f in fields]
        valued = [f for f in fields if f.attname not in self.refs | self.own]
        # The JSON is keyed by attribute name, which must be the column's name too; a field
        # that needs the ORM's conversion, or a database default, leaves this path aside.
        self.supported = all(f.db_default is NOT_PROVIDED for f in fields) and all(
            f.attname == f.column
            and (
                f.get_internal_type() in self.JSON_READY
                or (f.get_internal_type() == "JSONField" and f.encoder is None)
            )
            for f in valued
        )
        # A default that is the same value every time (None, "", a number) is taken once;
        # one a function makes (now, a fresh dict) is made for each row.
        self.defaults = []
        self.constants = {}
        for model_field in valued:
            default = self._default(model_field)
            if default is None:
                self.constants[model_field.attname] = model_field.get_default()
            else:
                self.defaults.append((model_field.attname, default))

    #: Values a row may share: not to be changed in place by whoever holds the row.
    IMMUTABLE = (type(None), str, int, float, bool, decimal.Decimal, date, datetime, uuid.UUID)

    @classmethod
    def _default(cls, field):
        """The function that makes ``field``'s default, or None where it is a constant."""
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            return timezone.now
        if field.has_default() and callable(field.default):
            return field.default
        if isinstance(field.get_default(), cls.IMMUTABLE):
            return None
        return field.get_default

    def rows_json(self, rows: list, *, nested: bool = False) -> str:
        """The rows as one JSON array (with ``nested``, an array per parent, in the parents'
        order); each dict is given the defaults it did not have, so that it holds what is
        stored."""
        constants = self.constants
        for values in itertools.chain.from_iterable(rows) if nested else rows:
            for name in constants.keys() - values.keys():
                values[name] = constants[name]
            for name, default in self.defaults:
                if name not in values:
                    values[name] = default()
        return orjson.dumps(rows, default=_json_value).decode()

    def select_sql(self, refs: dict[str, str], own: dict[str, str] | None = None) -> str:
        """The SELECT list of a row read as ``r``: ``refs`` and ``own`` give the SQL of the
        columns in :attr:`refs` and :attr:`own`."""
        sql = {**refs, **(own or {})}
        return ", ".join(sql.get(name, f"r.{column}") for name, column in self.selected)


def _json_value(value):
    """orjson's fallback: it writes dates, times (ISO 8601), UUIDs and enums itself, which is
    all the rows hold besides JSON's own types; PostgreSQL reads them back by the column's
    type."""
    raise TypeError(f"{type(value).__name__} has no JSON form for the one-statement store")


@functools.cache
def _store_tables() -> dict | None:
    """The one-statement store's tables, or None where a model needs the ORM's INSERT.
    The message's comes twice: as given, and (``True``) with its mailbox from the guard."""
    tables = {
        (Message, False): _Insert(Message),
        (Message, True): _Insert(Message, ("recipient_mailbox_id",)),
        Document: _Insert(Document, ("message_id",)),
        DocumentFile: _Insert(DocumentFile, ("document_id",)),
        Action: _Insert(Action, ("document_id",)),
        Receipt: _Insert(Receipt, ("message_id",)),
        Delivery: _Insert(Delivery, ("message_id",)),
        Event: _Insert(Event, ("message_id",)),
        StoredFile: _Insert(StoredFile, own=("content",)),
    }
    return tables if all(t.supported for t in tables.values()) else None


@functools.lru_cache(maxsize=32)
def _store_sql(
    documents: tuple[bool, bool, bool], guard: tuple[bool, bool] | None, memo_row: str | None
) -> str:
    """The statement for a message with documents, files and actions or not (``documents``),
    with a guard of this shape or none: its parts find the mailbox (the guard, ``g``) and
    insert, in order, the message, documents, files, actions, receipt, outbox row, event
    and, with ``memo_row``, the MeMo itself (a StoredFile, its content given as ``"bytea"``
    or as UTF-8 ``"text"``); it answers the new ids of the message, receipt and outbox row,
    and the guard's mailbox. Each table's rows are one JSON parameter (see :class:`_Insert`);
    files and actions come as one array per document and join their document by its
    position. Each insert reads from the row it hangs on, so without the message nothing
    else is inserted. Parameters come in the order :func:`_store_one_statement` adds them."""
    tables = _store_tables()
    quote = connection.ops.quote_name
    parts = []

    def insert(
        name: str, table: _Insert, source: str, refs: dict[str, str], returning: str = "id", own=None
    ) -> None:
        parts.append(
            f"{name} AS (INSERT INTO {table.table} ({table.columns})"  # noqa: S608
            f" SELECT {table.select_sql(refs, own)} FROM {source} RETURNING {returning})"
        )

    def rows(table: _Insert) -> str:
        return f"jsonb_populate_recordset(NULL::{table.table}, %s::jsonb) r"

    message = tables[(Message, guard is not None)]
    if guard is not None:
        parts.append(f"g AS ({_guard_sql(*guard)})")
        insert("m", message, f"g, {rows(message)}", {"recipient_mailbox_id": "g.mailbox"})
    else:
        insert("m", message, rows(message), {})
    position = quote(Document._meta.get_field("position").column)
    has_documents, has_files, has_actions = documents
    if has_documents:
        insert(
            "d", tables[Document], f"m, {rows(tables[Document])}", {"message_id": "m.id"}, f"id, {position}"
        )
        for name, model, present in (("f", DocumentFile, has_files), ("a", Action, has_actions)):
            if present:
                source = (
                    f"jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS per_document(rows, n)"
                    f" JOIN d ON d.{position} = per_document.n - 1, jsonb_populate_recordset("
                    f"NULL::{tables[model].table}, per_document.rows) r"
                )
                insert(name, tables[model], source, {"document_id": "d.id"})
    for name, model in (("r", Receipt), ("o", Delivery), ("e", Event)):
        insert(name, tables[model], f"m, {rows(tables[model])}", {"message_id": "m.id"})
    if memo_row is not None:
        content = "convert_to(%s::text, 'UTF8')" if memo_row == "text" else "%s::bytea"
        insert("s", tables[StoredFile], f"m, {rows(tables[StoredFile])}", {}, own={"content": content})
    mailbox = "(SELECT mailbox FROM g)" if guard is not None else "NULL"
    ids = f"(SELECT id FROM m), (SELECT id FROM r), (SELECT id FROM o), {mailbox}"  # noqa: S608
    return f"WITH {', '.join(parts)} SELECT {ids}"


def _outbox_values(
    *, route: Route, held: bool, now: datetime, value_date: date | None, message_uuid, recipient_id: str
) -> tuple[dict, dict]:
    """The outbox row's and the "validated" event's fields for one accepted message, by
    attribute name, without the message and without who sent it."""
    delivery = {
        "channel": route.channel,
        "state": Delivery.State.HELD if held else Delivery.State.PENDING,
        "due_at": _value_date_start(value_date) if held else now,
        "next_attempt_at": None if held else now,
        "recipient_system_id": _pk(route.recipient_system),
        "created_at": now,
    }
    details = {"channel": route.channel, **route.notes}
    if held:
        details["valueDate"] = value_date.isoformat()
    event = {
        "tag": Event.Tag.DELAYED_MEMO_SEND_VALIDATED_AWAITING_DELAY
        if held
        else Event.Tag.MEMO_SEND_VALIDATED,
        "message_uuid": message_uuid,
        "subject": recipient_id,
        "details": details,
    }
    return delivery, event


def accepted_outbox_rows(
    *, message: Message, route: Route, held: bool, now: datetime, **event_refs
) -> tuple[Delivery, Event]:
    """The outbox row and the "validated" event for one accepted message, not yet saved.

    Shared by the API (:func:`_store_accepted`) and by mail written in the inbox
    (mailbox/writing.py), so the delivery engine cannot tell them apart. ``event_refs`` say
    who sent it (Event fields: organisation, system, mailbox, actor_person...).
    """
    delivery, event = _outbox_values(
        route=route,
        held=held,
        now=now,
        value_date=message.value_date,
        message_uuid=message.message_uuid,
        recipient_id=message.recipient_id,
    )
    return Delivery(message=message, **delivery), Event(message=message, **event, **event_refs)


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
