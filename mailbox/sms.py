"""Sending SMS: notifications about new mail, and NemSMS messages themselves.

The hub talks to an SMS gateway through a small pluggable backend, chosen by dotted path in
``settings.DIGITALPOST_SMS_BACKEND`` (as Django chooses its e-mail backend). A backend tells
the caller how a failure should be treated by the exception it raises:

- :class:`SMSTemporaryError`: may heal (gateway down, timeout, throttled); the notification
  is tried again later, up to a maximum;
- :class:`SMSPermanentError`: will not heal (number refused, text rejected); no retry.

Every backend that calls out must bound the call with :attr:`SMSBackend.timeout`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger("digitalpost.sms")


class SMSError(Exception):
    """An SMS could not be sent."""


class SMSTemporaryError(SMSError):
    """Sending failed in a way that may heal: try again later."""


class SMSPermanentError(SMSError):
    """Sending failed and trying again will not help."""


@dataclass(frozen=True)
class SMS:
    to: str
    text: str


#: What :class:`LoggingSMSBackend` sent, newest last: the SMS twin of ``django.core.mail.outbox``.
outbox: list[SMS] = []
#: The logging backend is the default, so it may run for days in a worker: keep only the tail.
OUTBOX_LIMIT = 1000


class SMSBackend:
    """Base class: subclasses send one text to one number, or raise an :class:`SMSError`."""

    #: Seconds any outbound call may take; a gateway that hangs is a temporary failure.
    timeout: float = 10.0

    def send(self, to: str, text: str) -> None:
        raise NotImplementedError


class LoggingSMSBackend(SMSBackend):
    """For development and tests: logs each SMS and keeps it in :data:`outbox`. Sends nothing."""

    def send(self, to: str, text: str) -> None:
        log.info("SMS to %s: %s", to, text)
        outbox.append(SMS(to=to, text=text))
        del outbox[:-OUTBOX_LIMIT]


def get_sms_backend(path: str | None = None) -> SMSBackend:
    """An instance of the configured backend (or of ``path``)."""
    return import_string(path or settings.DIGITALPOST_SMS_BACKEND)()
