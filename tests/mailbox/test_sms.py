"""Pluggable SMS backends: the logging one keeps an outbox, the setting picks the backend."""

from __future__ import annotations

import logging

import pytest

from mailbox import sms
from mailbox.sms import (
    SMS,
    LoggingSMSBackend,
    SMSBackend,
    SMSError,
    SMSPermanentError,
    SMSTemporaryError,
    get_sms_backend,
)


class RecordingBackend(SMSBackend):
    sent: list[tuple[str, str]] = []

    def send(self, to: str, text: str) -> None:
        self.sent.append((to, text))


@pytest.fixture(autouse=True)
def empty_outbox():
    sms.outbox.clear()
    RecordingBackend.sent.clear()
    yield
    sms.outbox.clear()


def test_the_logging_backend_keeps_each_sms_in_the_outbox_in_order():
    backend = LoggingSMSBackend()
    backend.send("+4512345678", "Første")
    backend.send("+4587654321", "Anden")
    assert sms.outbox == [SMS(to="+4512345678", text="Første"), SMS(to="+4587654321", text="Anden")]


def test_the_logging_backend_logs_to_the_sms_logger(caplog):
    with caplog.at_level(logging.INFO, logger="digitalpost.sms"):
        LoggingSMSBackend().send("+4512345678", "Hej")
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("digitalpost.sms", "INFO", "SMS to +4512345678: Hej")
    ]


def test_the_logging_backend_keeps_only_the_newest_sms(monkeypatch):
    monkeypatch.setattr(sms, "OUTBOX_LIMIT", 3)
    backend = LoggingSMSBackend()
    for n in range(5):
        backend.send("+4512345678", str(n))
    assert [m.text for m in sms.outbox] == ["2", "3", "4"]


def test_the_default_backend_is_the_logging_one():
    assert type(get_sms_backend()) is LoggingSMSBackend


def test_the_setting_chooses_the_backend(settings):
    settings.DIGITALPOST_SMS_BACKEND = "tests.mailbox.test_sms.RecordingBackend"
    backend = get_sms_backend()
    backend.send("+4512345678", "Hej")
    assert type(backend) is RecordingBackend
    assert RecordingBackend.sent == [("+4512345678", "Hej")]
    assert sms.outbox == []


def test_an_explicit_path_wins_over_the_setting():
    assert type(get_sms_backend("tests.mailbox.test_sms.RecordingBackend")) is RecordingBackend


def test_an_unknown_backend_is_a_clear_error(settings):
    settings.DIGITALPOST_SMS_BACKEND = "mailbox.sms.NoSuchBackend"
    with pytest.raises(ImportError, match='does not define a "NoSuchBackend"'):
        get_sms_backend()


def test_the_base_backend_sends_nothing():
    with pytest.raises(NotImplementedError):
        SMSBackend().send("+4512345678", "Hej")


def test_every_backend_has_a_timeout():
    assert SMSBackend.timeout == 10.0
    assert LoggingSMSBackend.timeout == 10.0


def test_both_kinds_of_failure_are_sms_errors():
    assert issubclass(SMSTemporaryError, SMSError)
    assert issubclass(SMSPermanentError, SMSError)
    assert not issubclass(SMSTemporaryError, SMSPermanentError)
