"""Push delivery, the resend flow and the seven-day rule, against a real HTTP server on loopback."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from adminaccess.models import Event, System
from mailbox.models import Delivery, DeliveryAttempt, Message, Receipt
from mailbox.resend import (
    backoff,
    push_delivery_process,
    push_sweep,
    recipient_system_reactivate,
    recipient_systems_check,
)
from mailbox.sending import memo_recall, memo_send
from tests.factories import OrganisationFactory, make_system
from tests.mailbox.api.helpers import letter

pytestmark = pytest.mark.django_db


class PushServer:
    """A recipient system's push endpoint: answers with the queued status codes (then 200)."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.delay = 0.0
        self.received: list[tuple[str, bytes]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.received.append((self.headers["Content-Type"], body))
                time.sleep(server.delay)
                self.send_response(server.statuses.pop(0) if server.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/memo"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    push_server = PushServer()
    yield push_server
    push_server.close()


@pytest.fixture
def world(server):
    sender = OrganisationFactory(name="Kommunen")
    sender_system = make_system(sender)[0]
    authority = OrganisationFactory(name="Styrelsen", technical_contact_email="it@styrelsen.example.dk")
    push, _ = make_system(
        authority, kind=System.Kind.RECIPIENT, is_default=True,
        protocol=System.Protocol.REST_PUSH, endpoint=server.url,
    )  # fmt: skip
    return sender, sender_system, authority, push


def _send(world) -> Delivery:
    sender, sender_system, authority, _ = world
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=authority.cvr, recipient_type="CVR")
    memo_send(data=data, system=sender_system, expected_uuid=message_uuid)
    return Delivery.objects.get(message__message_uuid=message_uuid)


def test_a_push_posts_the_memo_as_a_file_part_named_after_its_uuid(world, server):
    delivery = _send(world)
    assert push_delivery_process(delivery.pk) == "delivered"
    content_type, body = server.received[0]
    message = delivery.message
    assert content_type.startswith("multipart/form-data")
    assert f'name="file"; filename="{message.message_uuid}.xml"'.encode() in body
    with message.memo_file.open("rb") as stored:
        assert stored.read() in body
    delivery.refresh_from_db()
    message.refresh_from_db()
    assert (delivery.state, message.state) == (Delivery.State.READY_FOR_FETCH, Message.State.DELIVERED)
    assert list(DeliveryAttempt.objects.values_list("outcome", "status_code")) == [("SUCCESS", 200)]
    assert (
        Event.objects.filter(message=message, tag=Event.Tag.MEMO_SEND_SENT_TO_RECIPIENT_SYSTEM).count() == 1
    )


def test_running_the_same_push_twice_posts_once(world, server):
    delivery = _send(world)
    assert push_delivery_process(delivery.pk) == "delivered"
    assert push_delivery_process(delivery.pk) == "not-claimed"
    assert len(server.received) == 1


@pytest.mark.parametrize("status", [500, 503, 408, 429])
def test_a_failure_that_can_heal_is_retried_later(world, server, status):
    server.statuses = [status]
    delivery = _send(world)
    now = timezone.now()
    assert push_delivery_process(delivery.pk, now=now) == "failed-temporary"
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.attempts == 1
    assert delivery.next_attempt_at == now + timedelta(minutes=1)
    assert DeliveryAttempt.objects.get().outcome == DeliveryAttempt.Outcome.TEMPORARY_FAILURE
    assert System.objects.get(pk=delivery.recipient_system_id).failing_since == now


def test_the_retry_schedule_is_1_5_15_60_minutes_then_every_4_hours():
    assert [backoff(n) for n in range(1, 8)] == [timedelta(minutes=m) for m in (1, 5, 15, 60, 240, 240, 240)]


@pytest.mark.parametrize("status", [400, 404, 410, 413])
def test_a_permanent_refusal_is_not_retried_and_the_sender_gets_an_invalid_receipt(world, server, status):
    server.statuses = [status]
    delivery = _send(world)
    assert push_delivery_process(delivery.pk) == "failed-permanent"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.message.state) == (Delivery.State.FAILED, Message.State.FAILED)
    receipt = Receipt.objects.get(kind=Receipt.Kind.BUSINESS)
    assert (receipt.status, receipt.error_code, receipt.in_queue) == (
        "INVALID",
        "RECIPIENT_SYSTEM_REJECTED",
        True,
    )
    assert receipt.sender_system_id == delivery.message.sender_system_id
    assert push_delivery_process(delivery.pk) == "not-claimed"
    assert len(server.received) == 1


def test_an_endpoint_that_times_out_is_a_failure_that_can_heal(world, server, settings):
    settings.DIGITALPOST_PUSH_READ_TIMEOUT = 0.2
    server.delay = 1.0
    delivery = _send(world)
    assert push_delivery_process(delivery.pk) == "failed-temporary"
    assert "Timeout" in DeliveryAttempt.objects.get().error


def test_a_closed_port_is_a_failure_that_can_heal(world, server):
    server.close()
    delivery = _send(world)
    assert push_delivery_process(delivery.pk) == "failed-temporary"
    assert "ConnectionError" in DeliveryAttempt.objects.get().error


def test_a_recalled_message_is_not_pushed(world, server):
    delivery = _send(world)
    memo_recall(message_uuid=delivery.message.message_uuid, system=world[1])
    assert push_delivery_process(delivery.pk) == "not-claimed"
    assert server.received == []


def test_the_sweep_probes_a_down_system_once_and_postpones_the_rest(world, server):
    deliveries = [_send(world) for _ in range(5)]
    server.statuses = [503]
    now = timezone.now() + timedelta(seconds=1)
    counts = push_sweep(now=now)
    assert counts == {"probed": 1, "postponed": 4, "queued": 0}
    assert len(server.received) == 1
    assert DeliveryAttempt.objects.count() == 1
    assert set(
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).values_list("next_attempt_at", flat=True)
    ) == {now + timedelta(minutes=1)}


def test_when_the_system_is_back_the_sweep_delivers_everything(
    world, server, django_capture_on_commit_callbacks
):
    deliveries = [_send(world) for _ in range(4)]
    server.statuses = [503]
    push_sweep(now=timezone.now() + timedelta(seconds=1))
    later = timezone.now() + timedelta(minutes=2)
    with time_machine.travel(later, tick=False):
        counts = push_sweep(now=later)
    assert counts["probed"] == 1
    assert counts["queued"] == 3
    states = set(Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).values_list("state", flat=True))
    assert states == {Delivery.State.READY_FOR_FETCH}


def _failing_since(system: System, ago: timedelta) -> None:
    System.objects.filter(pk=system.pk).update(failing_since=timezone.now() - ago)


def test_warnings_go_to_the_technical_contact_after_1_3_and_6_days(world, server):
    _, _, _, push = world
    server.statuses = [503]
    delivery = _send(world)
    push_delivery_process(delivery.pk)
    sent = []
    for days in (0.5, 1, 2, 3, 5, 6, 6.5):
        _failing_since(push, timedelta(days=days))
        recipient_systems_check()
        sent.append(len(mail.outbox))
    assert sent == [0, 1, 1, 2, 2, 3, 3]
    assert mail.outbox[0].to == ["it@styrelsen.example.dk"]
    assert push.name in mail.outbox[0].subject


def test_a_system_failing_for_just_under_seven_days_stays_active(world, server):
    _, _, _, push = world
    server.statuses = [503]
    push_delivery_process(_send(world).pk)
    _failing_since(push, timedelta(days=7) - timedelta(seconds=1))
    recipient_systems_check()
    assert System.objects.get(pk=push.pk).status == System.Status.ACTIVE


def test_a_system_failing_for_seven_days_is_deactivated_and_its_mail_rerouted(world, server):
    _, _, authority, push = world
    server.statuses = [503]
    delivery = _send(world)
    push_delivery_process(delivery.pk)
    pull, _ = make_system(authority, kind=System.Kind.RECIPIENT, protocol=System.Protocol.REST_PULL)
    # The organisation names another default before the rule runs.
    System.objects.filter(pk=push.pk).update(is_default=False)
    System.objects.filter(pk=pull.pk).update(is_default=True)
    _failing_since(push, timedelta(days=7))
    assert recipient_systems_check()["deactivated"] == 1
    push.refresh_from_db()
    assert (push.status, push.deactivated_at is not None) == (System.Status.DEACTIVATED, True)
    delivery.refresh_from_db()
    assert delivery.recipient_system_id == pull.pk
    assert delivery.state == Delivery.State.PENDING
    event = Event.objects.get(tag=Event.Tag.RECIPIENT_SYSTEM_DEACTIVATED)
    assert event.details["rerouted"] == 1
    assert "deaktiveret" in mail.outbox[-1].subject


def test_one_success_in_the_window_keeps_the_system_active(world, server):
    _, _, _, push = world
    server.statuses = [503]
    push_delivery_process(_send(world).pk)
    _failing_since(push, timedelta(days=6))
    assert push_delivery_process(_send(world).pk) == "delivered"
    push.refresh_from_db()
    assert push.failing_since is None
    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        recipient_systems_check()
    assert System.objects.get(pk=push.pk).status == System.Status.ACTIVE


def test_when_the_default_itself_is_deactivated_mail_waits_until_reactivation(world, server):
    _, _, _, push = world
    server.statuses = [503]
    delivery = _send(world)
    push_delivery_process(delivery.pk)
    _failing_since(push, timedelta(days=7))
    recipient_systems_check()
    delivery.refresh_from_db()
    assert (delivery.recipient_system_id, delivery.state) == (push.pk, Delivery.State.PENDING)
    assert push_delivery_process(delivery.pk) == "waiting"
    assert recipient_system_reactivate(system=System.objects.get(pk=push.pk)) is True
    delivery.refresh_from_db()
    assert delivery.next_attempt_at <= timezone.now()
    assert push_delivery_process(delivery.pk) == "delivered"
    assert Event.objects.filter(tag=Event.Tag.RECIPIENT_SYSTEM_REACTIVATED).count() == 1
