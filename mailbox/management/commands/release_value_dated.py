"""Release held mail whose value date has come, now, instead of waiting for beat's next minute.

`--as-of DATE` releases as if it were that date: for test environments and demos only, so it
is refused unless the development login is on (never in production).
"""

from __future__ import annotations

import json
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from mailbox.release import release_due


class Command(BaseCommand):
    help = "Release value-dated messages that are due (optionally as of another date, in test setups)."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="release as if today were this date")

    def handle(self, *args, as_of: str | None, **options):
        today = timezone.localdate()
        if as_of:
            try:
                today = date.fromisoformat(as_of)
            except ValueError:
                raise CommandError(f"--as-of: {as_of!r} is not a date (YYYY-MM-DD).") from None
            if not settings.DIGITALPOST_DEV_LOGIN:
                raise CommandError("--as-of is for test environments; it is refused in production.")
        released = release_due(today=today)
        self.stdout.write(json.dumps({"asOf": today.isoformat(), "released": released}))
