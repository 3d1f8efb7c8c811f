"""Staff members and held messages for the event-log, recall and statistics tests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from mailbox.models import Message
from mailbox.sending import memo_send
from rights.models import StaffRole
from rights.services import staff_role_grant
from tests.factories import PersonFactory
from tests.mailbox.api.helpers import letter

Role = StaffRole.Role


def tomorrow():
    return timezone.localdate() + timedelta(days=1)


def staff_member(organisation, *roles, name="Sagsbehandler Sofie"):
    person = PersonFactory(name=name)
    for role in roles:
        staff_role_grant(user=person.user, organisation=organisation, role=role)
    return person


def held(organisation, system, *, recipient=None, value_date=None, label="Brev fra kommunen") -> Message:
    """A value-dated message sent through the API, waiting for its date."""
    recipient = recipient or PersonFactory()
    message_uuid, data = letter(
        sender_cvr=organisation.cvr,
        recipient_id=recipient.cpr,
        value_date=value_date or tomorrow(),
        label=label,
    )
    memo_send(data=data, system=system, expected_uuid=message_uuid)
    return Message.objects.get(message_uuid=message_uuid, sender_organisation=organisation)
