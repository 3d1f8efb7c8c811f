"""Helpers for the account pages' tests."""

from __future__ import annotations

from django.test import Client

from rights.models import StaffRole
from rights.services import staff_role_grant
from tests.factories import CompanyFactory, PersonFactory


def logged_in(person, **client_kwargs) -> Client:
    """A browser logged in as ``person``; it asks for English, so messages are the msgids."""
    client_kwargs.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
    client = Client(**client_kwargs)
    client.force_login(person.user)
    return client


def company_with_administrator(**person_fields):
    company = CompanyFactory(name="Byg ApS")
    administrator = PersonFactory(**person_fields)
    staff_role_grant(user=administrator.user, organisation=company, role=StaffRole.Role.USER_ADMINISTRATOR)
    return company, administrator
