"""The single-send hot path: one-statement store, cached credentials, coalesced wake-ups, the
receipt built without DRF. Each must answer and store exactly what the general path does."""

from __future__ import annotations

import threading
import time
import uuid
from types import SimpleNamespace

import pytest
from django.core.exceptions import TooManyFieldsSent
from django.db import OperationalError, connection
from django.utils import timezone

from adminaccess.models import Event, System
from adminaccess.services import system_rotate_token
from digitalpost.queueing import WakeUps
from mailbox.api.sending import ReceiptSerializer, receipt_body
from mailbox.models import Action, Delivery, Document, DocumentFile, Mailbox, Message, Receipt
from mailbox.sending import (
    SEND_SKIPS,
    Route,
    _is_held,
    _store_accepted,
    memo_from_tree,
    memo_send,
    memo_validated_tree,
)
from mailbox.services import message_documents_build
from memo.model import MessageBody
from rights.models import Organisation, Person
from tests.factories import OrganisationFactory, PersonFactory, make_exemption, make_system
from tests.mailbox.api.helpers import basic, letter, send, send_rows, stored_memo_names
from tests.memo.conftest import reference_dir

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the one-statement store and row versions are PostgreSQL's"
)


def _full_example() -> bytes:
    path = reference_dir() / "samples" / "v1.2" / "MeMo_Full_Example.xml"
    if not path.is_file():
        pytest.skip(f"the official v1.2 Full example is not at {path}")
    return path.read_bytes()


def _with_uuid(data: bytes, message_uuid: uuid.UUID) -> bytes:
    start = data.index(b"<memo:messageUUID>") + len(b"<memo:messageUUID>")
    end = data.index(b"<", start)
    return data[:start] + str(message_uuid).encode() + data[end:]


@pytest.fixture
def full_example_sender():
    """The Full example's sender (CVR 12345678, may send mandatory and legal mail), its system
    and recipient (CPR 2211771212)."""
    sender = OrganisationFactory(
        cvr="12345678", may_send_legal_notification=True, may_send_mandatory_post=True
    )
    PersonFactory(cpr="2211771212")
    return make_system(sender)


def _rows(message: Message) -> dict:
    """Every stored row of a message, without what differs between any two sends."""
    differ = {"id", "message", "message_id", "message_uuid", "transmission_id", "created_at", "occurred_at"}

    def clean(queryset, *extra):
        return [{k: v for k, v in row.items() if k not in differ | set(extra)} for row in queryset.values()]

    documents = Document.objects.filter(message=message).order_by("position")
    return {
        "message": clean(
            Message.objects.filter(pk=message.pk), "memo_file", "memo_sha256", "memo_size", "due_at"
        ),
        "documents": clean(documents),
        "files": clean(
            DocumentFile.objects.filter(document__message=message).order_by("document__position", "position"),
            "document_id",
        ),
        "actions": clean(
            Action.objects.filter(document__message=message).order_by("document__position", "position"),
            "document_id",
        ),
        "receipts": clean(Receipt.objects.filter(message=message), "receipt_id"),
        "deliveries": clean(Delivery.objects.filter(message=message), "due_at", "next_attempt_at"),
        "events": clean(Event.objects.filter(message=message)),
    }


@postgres_only
def test_the_one_statement_store_writes_the_rows_the_bulk_store_writes(client, full_example_sender):
    system, token = full_example_sender
    data = _full_example()
    fast_uuid, bulk_uuid, whole_uuid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    response = send(client, system, token, _with_uuid(data, fast_uuid), fast_uuid)
    assert response.status_code == 201, response.json()
    assert response.json()["receiptStatus"] == "RECEIVED"

    sender = Organisation.objects.get(cvr="12345678")
    mailbox = Person.objects.get(cpr="2211771212").mailbox
    route = Route(Message.Channel.MAILBOX, recipient_mailbox=mailbox)

    def bulk_store(message_uuid, *, body: bool) -> Message:
        bulk_data = _with_uuid(data, message_uuid)
        skip = SEND_SKIPS if not body else SEND_SKIPS - {MessageBody}
        memo = memo_from_tree(memo_validated_tree(bulk_data), skip=skip)
        held = _is_held(memo.header, timezone.localdate())
        _store_accepted([(None, memo, bulk_data, sender, route, held)], system, in_queue=False)
        return Message.objects.get(message_uuid=message_uuid)

    # As the API stores it: read without its body, the documents to come on delivery.
    bulk = bulk_store(bulk_uuid, body=False)
    fast = Message.objects.get(message_uuid=fast_uuid)
    fast_rows = _rows(fast)
    assert fast_rows == _rows(bulk)
    assert fast.documents_pending and fast_rows["message"][0]["documents_pending"]
    assert fast_rows["documents"] == fast_rows["files"] == fast_rows["actions"] == []
    assert (fast.memo_size, fast.memo_sha256 != bulk.memo_sha256) == (len(data), True)
    with fast.memo_file.open("rb") as stored:
        assert stored.read() == _with_uuid(data, fast_uuid)

    # Built from the stored MeMo, they are the rows a store of the whole message writes.
    whole = bulk_store(whole_uuid, body=True)
    assert not whole.documents_pending
    assert message_documents_build(fast) and not message_documents_build(fast)
    fast_rows = _rows(Message.objects.get(pk=fast.pk))
    assert fast_rows == _rows(whole)
    assert len(fast_rows["documents"]) == 4 and len(fast_rows["files"]) == 6 and fast_rows["actions"]
    # The files and actions hang on their own documents, not just on some document.
    main = Document.objects.get(message=fast, position=0)
    assert sorted(main.files.values_list("filename", flat=True)) == [
        "Pladsanvisning.pdf",
        "Pladsanvisning.txt",
    ]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_statement_commits_alone_and_a_used_uuid_leaves_no_file(client):
    sender, person = OrganisationFactory(), PersonFactory()
    system, token = make_system(sender)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    first = send(client, system, token, data, message_uuid)
    assert first.status_code == 201, first.json()
    # The folder the MeMo files of today go in (named by local date, whatever the clock's zone).
    files = stored_memo_names()
    again = send(client, system, token, data, message_uuid)
    _, other = letter(
        sender_cvr=sender.cvr, recipient_id=person.cpr, message_uuid=message_uuid, label="Andet"
    )
    refused = send(client, system, token, other, message_uuid)
    assert (again.status_code, again.json()) == (201, first.json())
    assert (refused.status_code, refused.json()["code"]) == (409, "MESSAGE_UUID_ALREADY_USED")
    assert stored_memo_names() == files
    assert (Message.objects.count(), Receipt.objects.count(), Delivery.objects.count()) == (1, 1, 1)


def test_each_row_gets_its_own_value_of_a_default_a_function_makes():
    from mailbox.sending import _Insert, _store_tables

    for table in _store_tables().values():
        first, second = {}, {}
        table.rows_json([first, second])
        assert first.keys() == second.keys() == {name for name, _ in table.selected} - table.refs - table.own
        # Taken once: only values nobody can change in place.
        assert all(isinstance(value, _Insert.IMMUTABLE) for value in table.constants.values())
        for name, value in first.items():
            if isinstance(value, dict | list):
                assert second[name] is not value, name


@postgres_only
def test_what_the_one_statement_store_returns_is_what_it_stored(client):
    sender, person = OrganisationFactory(), PersonFactory()
    system, _ = make_system(sender)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    result = memo_send(data=data, system=system, expected_uuid=message_uuid)
    receipt = result.receipt
    stored = Receipt.objects.get(pk=receipt.pk)
    fields = [f.attname for f in Receipt._meta.concrete_fields]
    assert [getattr(receipt, f) for f in fields] == [getattr(stored, f) for f in fields]
    message = Message.objects.get(pk=receipt.message.pk)
    fields = [f.attname for f in Message._meta.concrete_fields if f.name != "memo_file"]
    assert [getattr(receipt.message, f) for f in fields] == [getattr(message, f) for f in fields]
    assert receipt.message.recipient_mailbox_id == person.mailbox.pk
    assert receipt.message.memo_file.name == message.memo_file.name


@postgres_only
def test_the_stored_rows_come_back_linked_as_loaded_ones_would(client, django_assert_num_queries):
    sender, person = OrganisationFactory(), PersonFactory()
    system, _ = make_system(sender)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    receipt = memo_send(data=data, system=system, expected_uuid=message_uuid).receipt
    delivery = Delivery.objects.get(message_id=receipt.message_id)
    with django_assert_num_queries(0):  # the parents are there, as after assigning them
        message = receipt.message
        assert message.pk == receipt.message_id == delivery.message_id
        assert message.delivery.pk == delivery.pk  # the one-to-one's other side too
        assert message.delivery.message is message
        assert receipt.message_uuid == message_uuid


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", ["exempt", "closed", "no mailbox", "unknown"])
def test_where_the_guard_finds_no_open_mailbox_the_general_path_judges_and_no_file_is_left(client, case):
    sender = OrganisationFactory()
    system, token = make_system(sender)
    person = PersonFactory()
    if case == "exempt":
        make_exemption(mailbox=person.mailbox, valid_from=timezone.localdate())
    elif case == "closed":
        Mailbox.objects.filter(pk=person.mailbox.pk).update(
            status=Mailbox.Status.CLOSED, closed_at=timezone.now()
        )
    elif case == "no mailbox":
        person = Person.objects.create(cpr="0101011234", name="Uden Postkasse")
    cpr = "0101019999" if case == "unknown" else person.cpr
    before = stored_memo_names()
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=cpr)
    response = send(client, system, token, data, message_uuid)
    assert response.status_code == 201, response.json()
    expected = {
        "exempt": ("RECEIVED", ""),
        "closed": ("NOT_ALLOWED", "RECIPIENT_MAILBOX_CLOSED"),
        "no mailbox": ("NOT_ALLOWED", "RECIPIENT_NOT_FOUND"),
        "unknown": ("NOT_ALLOWED", "RECIPIENT_NOT_FOUND"),
    }[case]
    assert (response.json()["receiptStatus"], response.json()["errorCode"]) == expected
    stored = list(Message.objects.all())
    if case == "exempt":
        [message] = stored
        assert (message.channel, message.recipient_mailbox_id) == (
            Message.Channel.REMOTE_PRINT,
            person.mailbox.pk,
        )
        assert stored_memo_names() == {*before, message.memo_file.name}
    else:
        assert stored == []
        assert stored_memo_names() == before


@postgres_only
def test_mandatory_post_from_a_sender_that_may_send_it_reaches_an_exempt_citizen(client):
    sender = OrganisationFactory(may_send_mandatory_post=True)
    system, token = make_system(sender)
    person = PersonFactory()
    make_exemption(mailbox=person.mailbox, valid_from=timezone.localdate())
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr, mandatory=True)
    assert send(client, system, token, data, message_uuid).status_code == 201
    assert Message.objects.get().channel == Message.Channel.MAILBOX


# --- Cached credentials ------------------------------------------------------------------------


@pytest.fixture
def sent_once(client):
    """A system that has sent once, so its credentials are in this process's cache."""
    sender, person = OrganisationFactory(), PersonFactory()
    system, token = make_system(sender)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    assert send(client, system, token, data, message_uuid).status_code == 201
    return system, token, sender, person


def _send_again(client, system, token, sender, person):
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    before = send_rows()
    response = send(client, system, token, data, message_uuid)
    if response.status_code != 201:
        assert send_rows() == before
    return response


def test_a_rotated_token_stops_working_at_once(client, sent_once):
    system, token, sender, person = sent_once
    new_token = system_rotate_token(system=system)
    response = _send_again(client, system, token, sender, person)
    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHORIZED")
    assert _send_again(client, system, new_token, sender, person).status_code == 201


def test_a_deactivated_system_is_refused_at_once(client, sent_once):
    system, token, sender, person = sent_once
    System.objects.filter(pk=system.pk).update(
        status=System.Status.DEACTIVATED, deactivated_at=timezone.now()
    )
    response = _send_again(client, system, token, sender, person)
    assert (response.status_code, response.json()["code"]) == (403, "SYSTEM_NOT_ALLOWED")


def test_an_organisation_losing_a_right_is_seen_at_once(client, sent_once):
    system, token, sender, person = sent_once
    Organisation.objects.filter(pk=sender.pk).update(may_send_mandatory_post=False)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr, mandatory=True)
    response = send(client, system, token, data, message_uuid)
    assert (response.status_code, response.json()["code"]) == (403, "MANDATORY_NOT_ALLOWED")


def test_an_organisation_gaining_a_right_is_seen_at_once(client):
    sender, person = OrganisationFactory(may_send_mandatory_post=False), PersonFactory()
    system, token = make_system(sender)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    assert send(client, system, token, data, message_uuid).status_code == 201  # now in the cache
    Organisation.objects.filter(pk=sender.pk).update(may_send_mandatory_post=True)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr, mandatory=True)
    response = send(client, system, token, data, message_uuid)
    assert (response.status_code, response.json()["receiptStatus"]) == (201, "RECEIVED")
    assert Message.objects.get(message_uuid=message_uuid).mandatory


@pytest.mark.parametrize("problem", ["invalid memo", "no uuid", "too large", "unknown recipient"])
def test_a_rotated_token_gets_401_whatever_else_is_wrong(client, sent_once, problem, settings):
    system, token, sender, person = sent_once
    system_rotate_token(system=system)
    message_uuid, data = letter(
        sender_cvr=sender.cvr, recipient_id="0101019999" if problem == "unknown recipient" else person.cpr
    )
    if problem == "invalid memo":
        data = data.replace(b"<memo:label>", b"<memo:nonsense/><memo:label>", 1)
    if problem == "too large":
        settings.DIGITALPOST_MAX_MEMO_BYTES = 100
    before = send_rows()
    path = "/apis/v1/memos/" if problem == "no uuid" else f"/apis/v1/memos/?memo-message-uuid={message_uuid}"
    response = client.post(path, data=data, content_type="application/xml", **basic(system, token))
    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHORIZED")
    assert send_rows() == before


def test_after_a_change_to_the_organisation_the_send_is_judged_on_fresh_rows_and_stored_once(
    client, sent_once
):
    system, token, sender, person = sent_once
    Organisation.objects.filter(pk=sender.pk).update(name="Nyt Navn")
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    response = send(client, system, token, data, message_uuid)
    assert (response.status_code, response.json()["receiptStatus"]) == (201, "RECEIVED")
    assert Message.objects.filter(message_uuid=message_uuid).count() == 1
    assert Receipt.objects.filter(message_uuid=message_uuid).count() == 1


def test_a_recipient_system_is_refused_by_the_same_answer_as_before(client):
    system, token = make_system(OrganisationFactory(), kind=System.Kind.RECIPIENT)
    message_uuid, data = letter(sender_cvr=system.organisation.cvr, recipient_id=PersonFactory().cpr)
    response = send(client, system, token, data, message_uuid)
    assert (response.status_code, response.json()["code"]) == (403, "FORBIDDEN")


def test_a_person_without_a_mailbox_is_not_found(client):
    sender = OrganisationFactory()
    system, token = make_system(sender)
    Person.objects.create(cpr="0101011234", name="Uden Postkasse")
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id="0101011234")
    response = send(client, system, token, data, message_uuid)
    assert (response.status_code, response.json()["errorCode"]) == (201, "RECIPIENT_NOT_FOUND")


# --- The receipt --------------------------------------------------------------------------------


def test_the_receipt_body_is_what_the_serializer_writes(client):
    sender, person = OrganisationFactory(), PersonFactory()
    system, token = make_system(sender)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    data = data.replace(b"<memo:label>", b"<memo:messageID>J-1</memo:messageID><memo:label>", 1)
    assert send(client, system, token, data, message_uuid).status_code == 201
    unknown_uuid, unknown = letter(sender_cvr=sender.cvr, recipient_id="0101019999")
    assert send(client, system, token, unknown, unknown_uuid).json()["receiptStatus"] == "NOT_ALLOWED"
    receipts = list(Receipt.objects.order_by("pk"))
    assert [r.status for r in receipts] == ["RECEIVED", "NOT_ALLOWED"]
    for receipt in receipts:
        assert receipt_body(receipt) == ReceiptSerializer(receipt).data
    assert receipt_body(receipts[0])["messageId"] == "J-1"


def test_the_answer_is_compact_json(client):
    sender, person = OrganisationFactory(), PersonFactory()
    system, token = make_system(sender)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    response = client.post(
        f"/apis/v1/memos/?memo-message-uuid={message_uuid}",
        data=data,
        content_type="application/xml",
        **basic(system, token),
    )
    assert response["Content-Type"] == "application/json"
    assert response.content.startswith(b'{"transmissionId":"')


# --- Wake-ups -----------------------------------------------------------------------------------


class FakeTask:
    def __init__(self, name: str, eager: bool = False) -> None:
        self.name, self.calls = name, []
        self.app = SimpleNamespace(conf=SimpleNamespace(task_always_eager=eager))
        self.published = threading.Event()

    def apply_async(self, args, **options):
        self.calls.append(args)
        self.published.set()


def test_ids_of_one_window_go_out_as_one_task():
    one, many = FakeTask("one"), FakeTask("many")
    wake_ups = WakeUps(window=60)
    assert wake_ups.flush() == 0  # just published: the thread would wait a minute, flush by hand
    for pk in (1, 2, 3):
        wake_ups.add(one, many, pk)
    assert wake_ups.flush() == 1
    assert (one.calls, many.calls) == ([], [([1, 2, 3],)])
    wake_ups.add(one, many, 4)
    wake_ups.flush()
    assert one.calls == [(4,)]
    assert wake_ups.flush() == 0


def test_a_quiet_process_publishes_at_once_and_then_once_per_window():
    one, many = FakeTask("one"), FakeTask("many")
    wake_ups = WakeUps(window=60)
    start = time.monotonic()
    wake_ups.add(one, many, 7)  # nothing went out in the last minute: no waiting
    assert one.published.wait(5)
    assert one.calls == [(7,)]
    assert time.monotonic() - start < 5
    # Just published: the next ids wait for the window (here a minute) and go out together.
    wake_ups.add(one, many, 8)
    wake_ups.add(one, many, 9)
    time.sleep(0.3)
    assert (one.calls, many.calls) == ([(7,)], [])
    assert wake_ups.flush() == 1 and many.calls == [([8, 9],)]


def test_the_window_is_published_by_itself_soon():
    one, many = FakeTask("one"), FakeTask("many")
    wake_ups = WakeUps(window=0.05)
    wake_ups.flush()  # as if it had just published: this one waits for the window
    start = time.monotonic()
    wake_ups.add(one, many, 7)
    assert one.published.wait(5)
    assert one.calls == [(7,)]
    assert time.monotonic() - start < 5


def test_eager_tasks_are_queued_at_once():
    one, many = FakeTask("one", eager=True), FakeTask("many", eager=True)
    WakeUps(window=60).add(one, many, 9)
    assert (one.calls, many.calls) == ([(9,)], [])


def test_whether_tasks_run_eagerly_is_read_once_per_task_and_again_after_a_settings_change(settings):
    from digitalpost.queueing import runs_eagerly
    from mailbox.tasks import deliver

    task = FakeTask("one", eager=True)
    assert runs_eagerly(task)
    task.app.conf.task_always_eager = False
    assert runs_eagerly(task)  # remembered: configuration does not change under a process
    assert not runs_eagerly(FakeTask("other"))
    assert runs_eagerly(deliver)  # the test settings run tasks eagerly
    settings.CELERY_TASK_ALWAYS_EAGER = False  # override_settings: read again
    assert not runs_eagerly(task)
    assert not runs_eagerly(deliver)


def test_a_send_wakes_delivery_after_commit(client, django_capture_on_commit_callbacks):
    sender, person = OrganisationFactory(), PersonFactory()
    system, token = make_system(sender)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert send(client, system, token, data, message_uuid).status_code == 201
    assert len(callbacks) == 1
    assert Delivery.objects.get().state == Delivery.State.PENDING


@postgres_only
def test_statements_are_prepared_once_per_connection_unless_pgbouncer_is_configured(client, monkeypatch):
    sender, person = OrganisationFactory(), PersonFactory()
    system, token = make_system(sender)

    def prepared_names() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'dp_ingest_%%'")
            return {name for (name,) in cursor.fetchall()}

    with connection.cursor() as cursor:  # earlier tests on this connection prepared theirs
        cursor.execute("DEALLOCATE ALL")
    connection._ingest_prepared = None
    for _ in range(3):
        message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
        assert send(client, system, token, data, message_uuid).status_code == 201
    after_three = prepared_names()
    # The credential check (the first send's), and this shape of store statement with its
    # guard: by itself (the first send) and with a cached credential's check folded in.
    assert len(after_three) == 3
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    assert send(client, system, token, data, message_uuid).status_code == 201
    assert prepared_names() == after_three

    # A NemSMS takes the general path (the recipient lookup) and has no documents: a store
    # statement of another shape; neither is prepared behind pgbouncer.
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    Person.objects.filter(pk=person.pk).update(nemsms_mobile="+4512345678")
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr, nemsms=True)
    response = send(client, system, token, data, message_uuid)
    assert (response.status_code, response.json()["receiptStatus"]) == (201, "RECEIVED")
    assert prepared_names() == after_three
    assert Message.objects.get(message_uuid=message_uuid).channel == Message.Channel.NEMSMS
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", False)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr, nemsms=True)
    assert send(client, system, token, data, message_uuid).status_code == 201
    assert len(prepared_names()) == len(after_three) + 2


@postgres_only
@pytest.mark.parametrize("as_text", [True, False], ids=["as text", "as bytea"])
@pytest.mark.parametrize(
    "label",
    [
        "Æblegrød på Ærø ✉",
        # What could end or break a quoted constant: quotes, backslashes, dollar signs, and
        # the dollar quote's own tag (the text then goes escaped).
        "it's \\' \\ $$ $$x$ $body$ \\x00",
        "holds $memo$ itself",
    ],
)
def test_the_stored_memo_is_byte_for_byte_what_was_sent(client, monkeypatch, as_text, label):
    """The statement sends a UTF-8 MeMo as text (dollar-quoted, converted back to bytes by the
    database) and any other as bytea; either way what is stored is what came in: the
    byte-order mark, the Danish letters, the line ends, whatever the text holds."""
    import mailbox.sending

    if not as_text:
        monkeypatch.setattr(mailbox.sending, "_utf8_text", lambda data: None)
    sender, person = OrganisationFactory(), PersonFactory()
    system, token = make_system(sender)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr, label=label)
    data = b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n")
    response = send(client, system, token, data, message_uuid)
    assert response.status_code == 201, response.json()
    message = Message.objects.get(message_uuid=message_uuid)
    assert message.label == label
    with message.memo_file.open("rb") as stored:
        assert stored.read() == data
    assert message.memo_file.size == len(data) == message.memo_size


@postgres_only
@pytest.mark.parametrize(
    "text",
    [
        "<a/>",
        "it's",
        "\\'",
        "$",
        "$$",
        "$memo",
        "$memo$",
        "x$memo",
        "$memo$x",
        "a$memo$b$memo",
        "",
        "ø ✉ \r\n",
    ],
)
def test_a_dollar_quoted_text_reaches_the_database_as_it_is(text):
    from mailbox.sending import _DollarQuoted, _memo_constant

    parameter = _memo_constant(text.encode(), text)
    # Unescaped wherever the tag cannot end it early; escaped by the driver elsewhere.
    assert isinstance(parameter, _DollarQuoted) == ("$memo" not in text)
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text", [parameter])
        assert cursor.fetchone()[0] == text


@postgres_only
def test_a_text_memo_is_sent_as_text_only_to_a_utf8_database():
    from mailbox.sending import _utf8_text

    connection.ensure_connection()
    assert connection.connection.info.parameter_status("server_encoding") == "UTF8"
    assert _utf8_text("<a>ø</a>".encode()) == "<a>ø</a>"
    assert _utf8_text(b"<a>\xf8</a>") is None  # not UTF-8: bytea
    assert _utf8_text(b"<a>\x00</a>") is None  # text cannot hold NUL


@postgres_only
def test_stored_memo_are_compressed_with_lz4_on_postgresql():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = 'mailbox_storedfile'::regclass"
            " AND attname = 'content'"
        )
        assert cursor.fetchone() == ("l",)
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'mailbox_storedfile'")
        indexes = [definition for (definition,) in cursor.fetchall()]
    assert len(indexes) == 2, indexes  # the primary key and the name's uniqueness, no pattern index


def _sent_once(client):
    """A sender system whose credentials are cached, having sent one letter to ``person``:
    (sender, person, system, token)."""
    sender, person = OrganisationFactory(), PersonFactory()
    system, token = make_system(sender)
    first_uuid, first = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    assert send(client, system, token, first, first_uuid).status_code == 201
    return sender, person, system, token


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_send_that_is_the_first_use_of_a_new_database_connection_is_stored(client):
    """A new thread, or a connection past its age: nothing has connected before the send."""
    sender, person, system, token = _sent_once(client)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    connection.close()  # the credentials stay cached; the connection is gone

    response = send(client, system, token, data, message_uuid)
    assert response.status_code == 201, response.content
    assert Message.objects.get(message_uuid=message_uuid).memo_file.open("rb").read() == data


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _terminate(pid: int) -> None:
    """End a backend from another connection, as a server restart or an idle timeout would."""
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone() == (True,)
    finally:
        other.close()
    time.sleep(0.1)  # the backend is gone once its process has exited


def _new_request() -> None:
    """What Django does as a request starts, and the test client leaves out: the reused
    connection is to be checked again before its first query."""
    connection.health_check_done = False


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_send_on_a_live_connection_skips_the_health_check(client, monkeypatch):
    sender, person, system, token = _sent_once(client)  # credentials cached
    assert connection.health_check_enabled
    checks = []
    is_usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or is_usable())

    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    _new_request()
    assert send(client, system, token, data, message_uuid).status_code == 201
    assert checks == []
    # Anything else on the API still has its connection checked first.
    _new_request()
    assert client.get("/apis/v1/receipts/", **basic(system, token)).status_code == 200
    assert checks == [1]


@pytest.fixture
def memo_in_memory(monkeypatch):
    """MeMo kept outside the database (MEMO_STORAGE set to a file or object storage): the
    file is written before the statement and must match what the statement stored."""
    from django.core.files.storage import InMemoryStorage

    storage = InMemoryStorage()
    monkeypatch.setattr(Message._meta.get_field("memo_file"), "storage", storage)
    return storage


def _answer_lost_after_commit(monkeypatch):
    """The store statement commits, then the connection dies before its answer arrives: it
    runs on the driver's own cursor (so the hub sees no answer), the backend is ended, and
    the driver's error is raised."""
    import mailbox.sending

    calls = []

    def commit_then_die(cursor, sql, params):
        calls.append(1)
        monkeypatch.setattr(mailbox.sending, "execute_prepared", execute_prepared)
        raw = cursor.cursor
        raw.execute(sql, params)  # autocommit: committed
        raw.execute("SELECT pg_backend_pid()")
        _terminate(raw.fetchone()[0])
        raise OperationalError("server closed the connection unexpectedly")

    from digitalpost.prepared import execute_prepared

    monkeypatch.setattr(mailbox.sending, "execute_prepared", commit_then_die)
    return calls


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("storage", ["database", "files"])
def test_a_send_on_a_connection_found_dead_is_sent_again_on_a_new_one(client, request, storage):
    if storage == "files":
        request.getfixturevalue("memo_in_memory")
    sender, person, system, token = _sent_once(client)  # credentials cached
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    _terminate(_backend_pid())

    _new_request()
    response = send(client, system, token, data, message_uuid)
    assert response.status_code == 201, response.content
    message = Message.objects.get(message_uuid=message_uuid)
    assert Receipt.objects.filter(message=message).count() == 1
    assert message.memo_file.open("rb").read() == data


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("storage", ["database", "files"])
def test_a_send_whose_answer_was_lost_after_the_commit_gets_its_receipt_and_keeps_its_memo(
    client, monkeypatch, request, storage
):
    """The statement committed, the connection died before its answer came: the send is made
    again on a new connection, finds the message by its messageUUID and answers with its
    receipt; the MeMo written before the statement stays."""
    if storage == "files":
        request.getfixturevalue("memo_in_memory")
    sender, person, system, token = _sent_once(client)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    calls = _answer_lost_after_commit(monkeypatch)

    _new_request()
    response = send(client, system, token, data, message_uuid)
    assert calls == [1]
    assert response.status_code == 201, response.content
    [receipt] = Receipt.objects.filter(message__message_uuid=message_uuid)
    assert response.json() == receipt_body(receipt)
    assert Message.objects.get(message_uuid=message_uuid).memo_file.open("rb").read() == data


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_connection_that_fails_after_a_query_went_through_is_not_sent_again(client, monkeypatch):
    """Only a connection found dead at the send's first query takes the health check's place;
    one that dies later in the send is the error it was before."""
    import mailbox.sending

    sender, person, system, token = _sent_once(client)
    calls = []

    def answer_then_die(sql, params):
        calls.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        _terminate(_backend_pid())
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(mailbox.sending, "_run_store_statement", answer_then_die)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    client.raise_request_exception = True
    _new_request()
    with pytest.raises(OperationalError):
        send(client, system, token, data, message_uuid)
    assert calls == [1]
    connection.close()
    assert not Message.objects.filter(message_uuid=message_uuid).exists()


@postgres_only
@pytest.mark.parametrize("case", ["stored", "resent", "guard miss"])
def test_with_memo_outside_the_database_the_file_is_there_exactly_when_the_message_is(
    client, memo_in_memory, case
):
    sender, person = OrganisationFactory(), PersonFactory()
    system, token = make_system(sender)
    if case == "guard miss":
        person = Person.objects.create(cpr="0101011234", name="Uden Postkasse")
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    response = send(client, system, token, data, message_uuid)
    assert response.status_code == 201, response.content
    if case == "resent":
        assert send(client, system, token, data, message_uuid).json() == response.json()
    names = {m.memo_file.name for m in Message.objects.all()}
    assert stored_memo_names(storage=memo_in_memory) == names
    if case == "guard miss":
        assert names == set()  # no mailbox: refused, and no file left behind
    else:
        assert Message.objects.get(message_uuid=message_uuid).memo_file.open("rb").read() == data


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_error_on_a_live_connection_is_not_sent_again(client, monkeypatch):
    import mailbox.sending

    sender, person, system, token = _sent_once(client)
    calls = []

    def fails(sql, params):
        calls.append(1)
        raise OperationalError("canceling statement due to statement timeout")

    monkeypatch.setattr(mailbox.sending, "_run_store_statement", fails)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    client.raise_request_exception = True
    _new_request()
    with pytest.raises(OperationalError, match="statement timeout"):
        send(client, system, token, data, message_uuid)
    assert calls == [1]


def test_the_memo_file_is_named_as_the_file_field_names_it():
    from mailbox.sending import _memo_file_name

    field = Message._meta.get_field("memo_file")
    for _ in range(3):
        values = {"transmission_id": uuid.uuid4()}
        assert _memo_file_name(values) == field.generate_filename(None, f"{values['transmission_id']}.xml")


def test_the_query_is_read_as_django_reads_it(rf, settings):
    from mailbox.api.sending import query_value

    for query in (
        "memo-message-uuid=a",
        "x=1&memo-message-uuid=a&memo-message-uuid=b",
        "",
        "memo-message-uuid=",
        "a=%C3%A6&memo-message-uuid=%C3%A6%ZZ",
    ):
        request = rf.post(f"/apis/v1/memos/?{query}")
        assert query_value(request, "memo-message-uuid") == rf.post(f"/apis/v1/memos/?{query}").GET.get(
            "memo-message-uuid"
        )
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    with pytest.raises(TooManyFieldsSent):
        query_value(rf.post("/apis/v1/memos/?a=1&b=2&c=3&d=4"), "a")


def test_the_flush_at_exit_waits_for_the_threads_publish():
    # A script that ends right after a send: its exit must not cut the thread's publish short.
    started, release = threading.Event(), threading.Event()

    class SlowTask(FakeTask):
        def apply_async(self, args, **options):
            started.set()
            release.wait(5)
            super().apply_async(args, **options)

    one, many = SlowTask("one"), FakeTask("many")
    wake_ups = WakeUps(window=60)
    wake_ups.add(one, many, 7)  # quiet: the thread publishes at once
    assert started.wait(5)
    flushed = threading.Thread(target=wake_ups.flush)
    flushed.start()
    flushed.join(0.3)
    assert flushed.is_alive()  # waits for the publish under way
    release.set()
    flushed.join(5)
    assert not flushed.is_alive() and one.calls == [(7,)]
