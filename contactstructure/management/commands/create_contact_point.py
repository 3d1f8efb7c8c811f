"""Create a contact point of an authority, from a script.

Prints one line of JSON describing what was created. Bad arguments change nothing.
"""

from __future__ import annotations

import json
import uuid

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from adminaccess.models import System
from contactstructure.services import contact_point_create
from digitalpost.commands import command_error
from rights.models import Organisation
from rights.services import validate_cvr

FLAGS = {
    "contact_point_id": "--id",
    "group_label": "--group",
    "kle_codes": "--kle",
    "info_text": "--info",
    "field1_label": "--field1",
    "field2_label": "--field2",
}


def comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class Command(BaseCommand):
    help = "Create a contact point of an authority; print it as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--organisation", required=True, metavar="CVR")
        parser.add_argument("--id", required=True, dest="contact_point_id", help="The MeMo contactPointID.")
        parser.add_argument("--label", required=True)
        parser.add_argument("--recipient-system", default="", metavar="SYSTEM_ID")
        parser.add_argument("--group", default="", metavar="LABEL", help="Top-level group; made if missing.")
        parser.add_argument("--keywords", default="", help='Comma-separated, e.g. "pas,kørekort".')
        parser.add_argument("--kle", default="", help='Comma-separated KLE codes, e.g. "05.04.00,28.03".')
        parser.add_argument("--info", default="")
        parser.add_argument("--field1", default="", metavar="LABEL")
        parser.add_argument("--field1-required", action="store_true")
        parser.add_argument("--field2", default="", metavar="LABEL")
        parser.add_argument("--field2-required", action="store_true")
        parser.add_argument("--max-size-bytes", type=int, default=None)
        parser.add_argument("--max-attachments", type=int, default=None)

    def handle(self, *args, **options):
        try:
            cvr = validate_cvr(options["organisation"])
        except ValidationError as error:
            raise command_error(error, {"cvr": "--organisation"}) from error
        system_id = None
        if options["recipient_system"]:
            try:
                system_id = uuid.UUID(options["recipient_system"])
            except ValueError as error:
                raise CommandError(
                    f"--recipient-system: {options['recipient_system']!r} is not a system id (a UUID)."
                ) from error
        limits = {
            field: options[field]
            for field in ("max_size_bytes", "max_attachments")
            if options[field] is not None
        }
        try:
            with transaction.atomic():
                organisation = Organisation.objects.filter(cvr=cvr).first()
                if organisation is None:
                    raise CommandError(f"--organisation: No organisation has CVR {cvr}.")
                recipient_system = None
                if system_id is not None:
                    recipient_system = System.objects.filter(system_id=system_id).first()
                    if recipient_system is None:
                        raise CommandError(f"--recipient-system: No system has id {system_id}.")
                contact_point = contact_point_create(
                    organisation=organisation,
                    contact_point_id=options["contact_point_id"],
                    label=options["label"],
                    recipient_system=recipient_system,
                    group_label=options["group"],
                    info_text=options["info"],
                    keywords=comma_list(options["keywords"]),
                    kle_codes=comma_list(options["kle"]),
                    field1_label=options["field1"],
                    field1_required=options["field1_required"],
                    field2_label=options["field2"],
                    field2_required=options["field2_required"],
                    **limits,
                )
        except ValidationError as error:
            raise command_error(error, FLAGS) from error
        self.stdout.write(
            json.dumps(
                {
                    "organisation": organisation.cvr,
                    "id": contact_point.contact_point_id,
                    "label": contact_point.label,
                    "recipientSystem": str(recipient_system.system_id) if recipient_system else None,
                    "deepLinkKey": str(contact_point.deep_link_key),
                    "group": contact_point.group.label if contact_point.group else None,
                }
            )
        )
