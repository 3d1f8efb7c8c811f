"""NemSMS registration: a citizen's mobile number for text-only NemSMS messages.

The citizen registers it in the inbox settings, or citizen-service staff do it on their
behalf; either way the event log says who.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction

from adminaccess.models import Event
from adminaccess.services import event_log_write
from rights.models import Person, User

_MOBILE = re.compile(r"^\+?[0-9]{8,15}$")


def normalise_mobile(mobile: str) -> str:
    mobile = re.sub(r"[\s-]", "", mobile or "")
    if not _MOBILE.match(mobile):
        raise ValidationError(
            {"mobile": "A mobile number is 8 to 15 digits, optionally starting with +."},
            code="mobile-invalid",
        )
    return mobile


@transaction.atomic
def nemsms_register(
    *, person: Person, mobile: str, actor_user: User | None = None, actor_person: Person | None = None
) -> Person:
    mobile = normalise_mobile(mobile)
    person.nemsms_mobile = mobile
    person.save(update_fields=["nemsms_mobile"])
    event_log_write(
        tag=Event.Tag.NEMSMS_REGISTERED,
        mailbox=getattr(person, "mailbox", None),
        actor_user=actor_user,
        actor_person=actor_person,
        subject=person.cpr,
        details={"mobileEnding": mobile[-2:]},
    )
    return person


@transaction.atomic
def nemsms_remove(
    *, person: Person, actor_user: User | None = None, actor_person: Person | None = None
) -> Person:
    if not person.nemsms_mobile:
        raise ValidationError({"mobile": "No NemSMS number is registered."}, code="not-registered")
    person.nemsms_mobile = ""
    person.save(update_fields=["nemsms_mobile"])
    event_log_write(
        tag=Event.Tag.NEMSMS_REMOVED,
        mailbox=getattr(person, "mailbox", None),
        actor_user=actor_user,
        actor_person=actor_person,
        subject=person.cpr,
    )
    return person
