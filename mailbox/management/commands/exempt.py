"""Exempt a person or organisation from Digital Post, or end their exemption, from a script.

While exempt, their letters go to remote print. Prints one line of JSON describing the
exemption. Bad arguments change nothing.
"""

from __future__ import annotations

import json
import re
from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from digitalpost.commands import command_error
from mailbox.models import Mailbox
from mailbox.services import exemption_create, exemption_end
from rights.services import validate_cpr, validate_cvr

DEFAULT_REASON = "Exempted by command"
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def parse_date(flag: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        if not ISO_DATE.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"{flag}: {value!r} is not a date in the form YYYY-MM-DD.") from error


class Command(BaseCommand):
    help = "Exempt a person (--cpr) or organisation (--cvr) from Digital Post, or --end the exemption."

    def add_arguments(self, parser):
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--cpr")
        owner.add_argument("--cvr")
        parser.add_argument("--reason", default=None, help=f'Default: "{DEFAULT_REASON}".')
        parser.add_argument("--from", dest="valid_from", default=None, metavar="YYYY-MM-DD")
        parser.add_argument("--until", dest="valid_until", default=None, metavar="YYYY-MM-DD")
        parser.add_argument("--print-address", default=None, help="Default: the person's postal address.")
        parser.add_argument("--end", action="store_true", help="End the open exemption now.")

    def handle(self, *args, cpr, cvr, reason, valid_from, valid_until, print_address, end, **options):
        owner_flag = "--cpr" if cpr is not None else "--cvr"
        try:
            identifier = validate_cpr(cpr) if cpr is not None else validate_cvr(cvr)
        except ValidationError as error:
            raise command_error(error, {"cpr": "--cpr", "cvr": "--cvr"}) from error
        if end:
            given = [
                flag
                for flag, value in (
                    ("--reason", reason),
                    ("--from", valid_from),
                    ("--until", valid_until),
                    ("--print-address", print_address),
                )
                if value is not None
            ]
            if given:
                raise CommandError(f"--end: cannot be combined with {', '.join(given)}.")
        valid_from_date = parse_date("--from", valid_from)
        valid_until_date = parse_date("--until", valid_until)
        lookup = (
            {"owner_person__cpr": identifier} if cpr is not None else {"owner_organisation__cvr": identifier}
        )
        try:
            with transaction.atomic():
                mailbox = (
                    Mailbox.objects.select_related("owner_person", "owner_organisation")
                    .filter(**lookup)
                    .first()
                )
                if mailbox is None:
                    kind = "person" if cpr is not None else "organisation"
                    raise CommandError(f"{owner_flag}: No {kind} has {owner_flag[2:].upper()} {identifier}.")
                if end:
                    exemption = exemption_end(mailbox=mailbox)
                else:
                    exemption = exemption_create(
                        mailbox=mailbox,
                        reason=DEFAULT_REASON if reason is None else reason,
                        valid_from=valid_from_date,
                        valid_until=valid_until_date,
                        print_address=print_address,
                    )
        except ValidationError as error:
            flags = {"mailbox": owner_flag, "valid_from": "--from", "valid_until": "--until"}
            raise command_error(error, flags) from error
        self.stdout.write(
            json.dumps(
                {
                    "mailboxId": mailbox.pk,
                    "subject": identifier,
                    "reason": exemption.reason,
                    "validFrom": exemption.valid_from.isoformat(),
                    "validUntil": exemption.valid_until.isoformat() if exemption.valid_until else None,
                    "ended": exemption.ended_at is not None,
                }
            )
        )
