"""Two pollers sharing one recipient system's queue, for real, on PostgreSQL.

Each poller lists, fetches and answers with a business receipt, at the same time as the
other, on its own database connection. Listing claims nothing, so both see the same
messages; the conditional UPDATE on the delivery lets exactly one receipt per message count.
SQLite serialises every writer, so only PostgreSQL can show the race; elsewhere this skips.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from django.test import Client

from adminaccess.models import Event
from mailbox.models import Delivery, Receipt
from tests.mailbox.api.helpers import letter, send
from tests.mailbox.api.test_pull import MEMOS, party

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)"),
]

MESSAGES = 50
POLLERS = 2


def poll(county, *, reverse: bool, start: threading.Barrier, outcomes: list, errors: list) -> None:
    """List, fetch and answer until the queue is empty, noting each answer's status."""
    client = Client()
    try:
        start.wait(timeout=30)
        for _ in range(10 * MESSAGES):  # a bound, so a bug cannot hang the test run
            listed = client.get(MEMOS, {"size": 7}, **county.as_recipient)
            assert listed.status_code == 200, listed.content
            content = listed.json()["content"]
            if not content:
                return
            for message_uuid in reversed(content) if reverse else content:
                fetched = client.get(f"{MEMOS}{message_uuid}", **county.as_recipient)
                assert fetched.status_code == 200, fetched.content
                answered = client.post(
                    f"{MEMOS}{message_uuid}/receipt",
                    data={"receiptStatus": "COMPLETED"},
                    content_type="application/json",
                    **county.as_recipient,
                )
                outcomes.append((message_uuid, answered.status_code))
        raise AssertionError("the queue never emptied")
    except BaseException as exc:
        errors.append(exc)
    finally:
        connection.close()


def test_two_pollers_on_one_queue_receipt_every_message_exactly_once():
    town, county = party(), party()
    sent = set()
    client = Client()
    for _ in range(MESSAGES):
        message_uuid, data = letter(
            sender_cvr=town.organisation.cvr, recipient_id=county.organisation.cvr, recipient_type="CVR"
        )
        # Outside a transaction the delivery task runs as soon as the send commits.
        assert send(client, town.sender, town.sender_token, data, message_uuid).status_code == 201
        sent.add(str(message_uuid))
    assert Delivery.objects.filter(state=Delivery.State.READY_FOR_FETCH).count() == MESSAGES

    start = threading.Barrier(POLLERS)
    outcomes: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    pollers = [
        threading.Thread(
            target=poll,
            args=(county,),
            kwargs={"reverse": bool(n % 2), "start": start, "outcomes": outcomes, "errors": errors},
        )
        for n in range(POLLERS)
    ]
    for poller in pollers:
        poller.start()
    for poller in pollers:
        poller.join(timeout=120)

    assert not any(p.is_alive() for p in pollers)
    assert errors == []
    accepted = Counter(u for u, code in outcomes if code == 201)
    assert set(accepted) == sent
    assert set(accepted.values()) == {1}
    assert {code for _, code in outcomes} <= {201, 409}
    # The database agrees: one DONE delivery, one BUSINESS receipt and one log line of each
    # kind per message, and nothing left to fetch.
    deliveries = Delivery.objects.filter(message__message_uuid__in=sent)
    assert deliveries.filter(state=Delivery.State.DONE, completed_at__isnull=False).count() == MESSAGES
    business = Receipt.objects.filter(kind=Receipt.Kind.BUSINESS, sender_system=town.sender, in_queue=True)
    assert Counter(str(u) for u in business.values_list("message_uuid", flat=True)) == Counter(
        {u: 1 for u in sent}
    )
    for tag in (
        Event.Tag.MEMO_SEND_FETCHED_BY_RECIPIENT_SYSTEM,
        Event.Tag.BUSINESS_RECEIPT_RECEIVED_BY_RECIPIENT_SYSTEM,
    ):
        logged = Event.objects.filter(tag=tag, system=county.recipient).values_list("message_uuid", flat=True)
        assert Counter(str(u) for u in logged) == Counter({u: 1 for u in sent}), tag
    assert Client().get(MEMOS, **county.as_recipient).json()["totalElements"] == 0
