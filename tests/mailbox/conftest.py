"""Fixtures shared by the mailbox tests (the API tests define their own, as (system, token))."""

from __future__ import annotations

import pytest

from tests.factories import OrganisationFactory, make_system


@pytest.fixture
def sender():
    """An authority that sends."""
    return OrganisationFactory(name="Kommunen")


@pytest.fixture
def sender_system(sender):
    """Its sender system."""
    return make_system(sender)[0]
