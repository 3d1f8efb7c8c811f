"""Faults with real processes, on PostgreSQL and a private Redis: afterwards every accepted
message is delivered exactly once.

- a Celery worker killed (SIGKILL) in the middle of a push;
- the broker down while messages are accepted;
- a push endpoint that times out.

Each scenario runs the hub's own code in separate processes (a worker, a "sender" and a
"sweep" process, as in production), sharing the test database and a Redis server this module
starts on a free port, so stopping it disturbs nothing else.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection

from adminaccess.models import System
from mailbox.models import Delivery, DeliveryAttempt, MailboxItem, Message
from tests.factories import OrganisationFactory, PersonFactory, make_system

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres_and_redis():
    if connection.vendor != "postgresql":
        pytest.skip("fault tests need PostgreSQL (set DATABASE_URL)")
    if not shutil.which("redis-server"):
        pytest.skip("fault tests need redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self) -> None:
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


class BlockingPushServer:
    """Answers 200, but holds the first request until released (so a worker is mid-push)."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.release = threading.Event()
        self.hold_first = True
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append(body)
                if outer.hold_first and len(outer.received) == 1:
                    outer.release.wait(timeout=30)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the worker that asked is gone

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/memo"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def push_server():
    server = BlockingPushServer()
    yield server
    server.close()


def _env(redis_url: str, media: Path) -> dict:
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="digitalpost.settings.development",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        REDIS_URL=redis_url,
        MEDIA_ROOT=str(media),
        DIGITALPOST_VAR_DIR=str(media.parent),
        DIGITALPOST_STUCK_AFTER_SECONDS="1",
        PYTHONPATH=str(ROOT),
    )
    return env


def _run(env: dict, code: str) -> str:
    script = "import django; django.setup()\n" + textwrap.dedent(code)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


SEND = """
import uuid
from adminaccess.models import System
from mailbox.sending import memo_send
from tests.mailbox.api.helpers import letter
system = System.objects.get(pk={system})
for recipient, kind in {recipients!r}:
    cvr = system.organisation.cvr
    message_uuid, data = letter(sender_cvr=cvr, recipient_id=recipient, recipient_type=kind)
    result = memo_send(data=data, system=system, expected_uuid=message_uuid)
    print(result.receipt.status, message_uuid)
"""

RECOVER = """
from datetime import timedelta
from django.utils import timezone
from mailbox.delivery import deliveries_sweep
from mailbox.resend import push_sweep
later = timezone.now() + timedelta(seconds=5)
deliveries_sweep(now=later)
push_sweep(now=later)
"""


def _wait_for(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_a_worker_killed_mid_push_is_recovered_and_the_message_delivered_once(
    redis_server, push_server, tmp_path
):
    sender = OrganisationFactory()
    sender_system = make_system(sender)[0]
    authority = OrganisationFactory()
    make_system(
        authority, kind=System.Kind.RECIPIENT, is_default=True,
        protocol=System.Protocol.REST_PUSH, endpoint=push_server.url,
    )  # fmt: skip
    env = _env(redis_server.url, tmp_path / "media")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "digitalpost", "worker", "--pool=solo", "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        out = _run(env, SEND.format(system=sender_system.pk, recipients=[(authority.cvr, "CVR")]))
        assert out.startswith("RECEIVED")
        _wait_for(lambda: len(push_server.received) == 1)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    push_server.release.set()
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.IN_PROGRESS  # claimed by the worker that died
    _run(env, RECOVER)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.READY_FOR_FETCH
    assert Message.objects.get().state == Message.State.DELIVERED
    assert list(DeliveryAttempt.objects.values_list("outcome", flat=True)) == ["SUCCESS"]
    # The endpoint saw the message twice (the first answer never reached the hub): recipient
    # systems recognise a resend by its messageUUID, as NgDP requires.
    assert len(push_server.received) == 2


def test_messages_accepted_while_the_broker_is_down_are_delivered_once_it_is_back(redis_server, tmp_path):
    sender = OrganisationFactory()
    sender_system = make_system(sender)[0]
    people = [PersonFactory() for _ in range(5)]
    env = _env(redis_server.url, tmp_path / "media")
    redis_server.stop()
    out = _run(env, SEND.format(system=sender_system.pk, recipients=[(p.cpr, "CPR") for p in people]))
    assert [line.split()[0] for line in out.splitlines()] == ["RECEIVED"] * 5
    assert MailboxItem.objects.count() == 0
    redis_server.start()
    _run(env, RECOVER)
    _run(env, RECOVER)
    assert sorted(MailboxItem.objects.values_list("mailbox__owner_person__cpr", flat=True)) == sorted(
        p.cpr for p in people
    )
    assert set(Message.objects.values_list("state", flat=True)) == {Message.State.DELIVERED}


def test_a_push_endpoint_that_times_out_gets_the_message_once_it_answers(redis_server, push_server, tmp_path):
    sender = OrganisationFactory()
    sender_system = make_system(sender)[0]
    authority = OrganisationFactory()
    make_system(
        authority, kind=System.Kind.RECIPIENT, is_default=True,
        protocol=System.Protocol.REST_PUSH, endpoint=push_server.url,
    )  # fmt: skip
    env = _env(redis_server.url, tmp_path / "media") | {"DIGITALPOST_PUSH_READ_TIMEOUT": "0.3"}
    _run(env, SEND.format(system=sender_system.pk, recipients=[(authority.cvr, "CVR")]))
    # No worker runs: the sweep's probe is the first try, and the endpoint holds it too long.
    _run(env, RECOVER)
    attempt = DeliveryAttempt.objects.get()
    assert attempt.outcome == DeliveryAttempt.Outcome.TEMPORARY_FAILURE
    assert "Timeout" in attempt.error
    push_server.release.set()
    Delivery.objects.update(next_attempt_at=Delivery.objects.get().next_attempt_at.replace(year=2000))
    _run(env, RECOVER)
    assert list(DeliveryAttempt.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "TEMPORARY_FAILURE",
        "SUCCESS",
    ]
    assert Delivery.objects.get().state == Delivery.State.READY_FOR_FETCH
