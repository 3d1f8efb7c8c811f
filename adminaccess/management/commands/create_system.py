"""Create a sender or recipient system and its first API token, from a script.

Prints one line of JSON with the system id and the API token. The token is shown only here:
the hub stores a hash of it. Bad arguments change nothing.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator, validate_email
from django.db import transaction

from adminaccess.models import System
from adminaccess.services import system_create
from digitalpost.commands import command_error
from rights.models import Organisation
from rights.services import validate_cvr

FLAGS = {"organisation": "--organisation", "is_default": "--default"}


class Command(BaseCommand):
    help = "Create a sender or recipient system with an API token; print both as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--organisation", required=True, metavar="CVR")
        parser.add_argument("--kind", required=True, choices=["sender", "recipient"])
        parser.add_argument("--name", default="", help='Default: "Sender system N" / "Recipient system N".')
        parser.add_argument(
            "--protocol",
            default="",
            choices=System.Protocol.values,
            help="Recipient systems; default REST_PULL.",
        )
        parser.add_argument("--endpoint", default="", help="Where the hub pushes to (REST_PUSH).")
        parser.add_argument(
            "--default", action="store_true", help="The organisation's default recipient system."
        )
        parser.add_argument("--memo-version", default="1.2", choices=["1.1", "1.2"])
        parser.add_argument("--technical-contact-email", default="")

    def handle(self, *args, **options):
        kind = options["kind"].upper()
        name = options["name"].strip()
        endpoint = options["endpoint"].strip()
        email = options["technical_contact_email"].strip()
        try:
            cvr = validate_cvr(options["organisation"])
        except ValidationError as error:
            raise command_error(error, {"cvr": "--organisation"}) from error
        if endpoint:
            if kind != System.Kind.RECIPIENT:
                raise CommandError("--endpoint: Only recipient systems have an endpoint.")
            try:
                URLValidator(schemes=["http", "https"])(endpoint)
            except ValidationError as error:
                raise CommandError(f"--endpoint: {endpoint!r} is not an http(s) URL.") from error
            if len(endpoint) > System._meta.get_field("endpoint").max_length:
                raise CommandError("--endpoint: An endpoint URL is at most 500 characters.")
        if email:
            try:
                validate_email(email)
            except ValidationError as error:
                raise CommandError(
                    f"--technical-contact-email: {email!r} is not an e-mail address."
                ) from error
        if len(name) > System._meta.get_field("name").max_length:
            raise CommandError("--name: A name is at most 200 characters.")
        try:
            with transaction.atomic():
                organisation = Organisation.objects.filter(cvr=cvr).first()
                if organisation is None:
                    raise CommandError(f"--organisation: No organisation has CVR {cvr}.")
                if not name:
                    number = System.objects.filter(organisation=organisation, kind=kind).count() + 1
                    name = f"{System.Kind(kind).label} {number}"
                system, token = system_create(
                    organisation=organisation,
                    kind=kind,
                    name=name,
                    protocol=options["protocol"],
                    endpoint=endpoint,
                    memo_version=options["memo_version"],
                    is_default=options["default"],
                    technical_contact_email=email,
                )
        except ValidationError as error:
            raise command_error(error, FLAGS) from error
        self.stdout.write(
            json.dumps(
                {
                    "systemId": str(system.system_id),
                    "apiToken": token,
                    "kind": system.kind,
                    "organisation": organisation.cvr,
                    "protocol": system.protocol or None,
                    "default": system.is_default,
                    "memoVersion": system.memo_version,
                }
            )
        )
