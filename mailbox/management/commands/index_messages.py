"""Make the document text of every delivered message searchable. Safe to run any time, twice."""

from django.core.management.base import BaseCommand

from mailbox.search import INDEX_BATCH, message_texts_sweep


class Command(BaseCommand):
    help = "Extract the text of delivered messages that are not yet searchable (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=INDEX_BATCH, help="Messages per round.")

    def handle(self, *args, batch: int, **options):
        done = message_texts_sweep(batch=batch)
        self.stdout.write(f"Indexed {done} messages.")
