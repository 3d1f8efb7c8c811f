"""Two user administrators removing each other at the same moment, for real, on PostgreSQL.

Without the lock each would count two administrators and both would go, leaving none. With the
organisation's row locked, the second waits, counts one and is refused. SQLite serialises every
writer; it skips here.
"""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import translation

from adminaccess.models import Event
from rights.models import StaffRole
from rights.services import staff_role_remove
from tests.adminaccess.views.helpers import make_staff
from tests.factories import OrganisationFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)"),
]

ROUNDS = 8  # without the lock, about two rounds in five end with no administrator
Role = StaffRole.Role


def _race(*works) -> tuple[list[bool], list[BaseException]]:
    barrier = threading.Barrier(len(works))
    results: list[bool] = []
    refused: list[BaseException] = []

    def run(work):
        try:
            barrier.wait(timeout=30)
            with translation.override("en"):
                results.append(work())
        except ValidationError as exc:
            refused.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, refused


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_administrators_removing_each_other_leave_one(round_):
    organisation = OrganisationFactory()
    first = make_staff(organisation, Role.USER_ADMINISTRATOR)
    second = make_staff(organisation, Role.USER_ADMINISTRATOR)

    def remove(person, by):
        return lambda: staff_role_remove(
            user=person.user, organisation=organisation, role=Role.USER_ADMINISTRATOR, removed_by=by.user
        )

    results, refused = _race(remove(first, second), remove(second, first))

    assert results == [True]
    assert [e.messages for e in refused] == [
        ["The organisation's last user administrator cannot be removed."]
    ]
    assert StaffRole.objects.filter(organisation=organisation, role=Role.USER_ADMINISTRATOR).count() == 1
    assert Event.objects.filter(tag=Event.Tag.ROLE_REMOVED, organisation=organisation).count() == 1
