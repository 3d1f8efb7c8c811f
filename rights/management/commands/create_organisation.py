"""Create an authority or a company, with its mailbox, from a script.

Prints one line of JSON describing what was created. Bad arguments change nothing.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from digitalpost.commands import command_error
from rights.models import Organisation
from rights.services import organisation_create

# Service fields whose flag is not simply --<field-with-dashes>.
FLAGS = {
    "may_send_legal_notification": "--legal-notification-allowed",
    "may_send_mandatory_post": "--mandatory-post-allowed",
}


class Command(BaseCommand):
    help = "Create an organisation (authority or company) with its mailbox; print it as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--cvr", required=True, help="CVR number, 8 digits.")
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", required=True, choices=["authority", "company"])
        parser.add_argument("--legal-notification-allowed", action="store_true")
        parser.add_argument("--mandatory-post-allowed", action="store_true")
        parser.add_argument("--technical-contact-email", default="")

    def handle(self, *args, **options):
        email = options["technical_contact_email"].strip()
        if email:
            try:
                validate_email(email)
            except ValidationError as error:
                raise CommandError(
                    f"--technical-contact-email: {email!r} is not an e-mail address."
                ) from error
        if len(options["name"].strip()) > Organisation._meta.get_field("name").max_length:
            raise CommandError("--name: A name is at most 200 characters.")
        try:
            with transaction.atomic():
                organisation = organisation_create(
                    cvr=options["cvr"],
                    name=options["name"],
                    kind=options["kind"].upper(),
                    may_send_legal_notification=options["legal_notification_allowed"],
                    may_send_mandatory_post=options["mandatory_post_allowed"],
                    technical_contact_email=email,
                )
        except ValidationError as error:
            raise command_error(error, FLAGS) from error
        self.stdout.write(
            json.dumps(
                {
                    "cvr": organisation.cvr,
                    "name": organisation.name,
                    "kind": organisation.kind,
                    "legalNotificationAllowed": organisation.may_send_legal_notification,
                    "mandatoryPostAllowed": organisation.may_send_mandatory_post,
                    "mailboxId": organisation.mailbox.pk,
                }
            )
        )
