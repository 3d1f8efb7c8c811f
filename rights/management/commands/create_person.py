"""Create a citizen, with a mailbox and a login identity, from a script.

Prints one line of JSON describing what was created. Bad arguments change nothing.
"""

from __future__ import annotations

import json
import re

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from digitalpost.commands import command_error
from rights.models import Person
from rights.services import person_create

#: The same form the database demands of a NemSMS number.
MOBILE = re.compile(r"^\+?[0-9]{8,15}\Z")


class Command(BaseCommand):
    help = "Create a person (citizen) with a mailbox; print it as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--cpr", required=True, help="CPR number, 10 digits (a dash is allowed).")
        parser.add_argument("--name", required=True)
        parser.add_argument("--email", default="", help="E-mail for notifications.")
        parser.add_argument("--mobile", default="", help="Mobile number for notifications: 8-15 digits.")
        parser.add_argument("--address", default="", help="Postal address, used for remote print.")

    def handle(self, *args, cpr: str, name: str, email: str, mobile: str, address: str, **options):
        email, mobile = email.strip(), mobile.strip()
        if email:
            try:
                validate_email(email)
            except ValidationError as error:
                raise CommandError(f"--email: {email!r} is not an e-mail address.") from error
        if mobile and not MOBILE.match(mobile):
            raise CommandError(f"--mobile: {mobile!r} is not a mobile number (8-15 digits, optional +).")
        if len(name.strip()) > Person._meta.get_field("name").max_length:
            raise CommandError("--name: A name is at most 200 characters.")
        try:
            with transaction.atomic():
                person = person_create(
                    cpr=cpr, name=name, email=email, mobile=mobile, address=address.strip()
                )
        except ValidationError as error:
            raise command_error(error, {}) from error
        self.stdout.write(
            json.dumps(
                {
                    "cpr": person.cpr,
                    "name": person.name,
                    "email": person.email,
                    "mobile": person.mobile,
                    "mailboxId": person.mailbox.pk,
                }
            )
        )
