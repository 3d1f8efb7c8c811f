"""The browser inbox on PostgreSQL: a folder page and a search in a mailbox of 10,000 letters.

Bulk-created rows (realistic titles, senders and document text, indexed for full-text search),
measured through the Django test client: p95 server time and SQL queries per page, for page 1
and a deep page, beside a 100-letter mailbox to show the query count does not depend on size.
Targets: inbox p95 < 50 ms, search p95 < 150 ms, queries per page independent of mailbox size.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust). Creates and drops its own database.
`python bench/bench_inbox.py [--messages N] [--runs N] [--keep]`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta

from _common import ROOT, table

DB = "dp_bench_inbox"
PG = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]

SENDERS = [
    "Skattestyrelsen",
    "Aarhus Kommune",
    "Københavns Kommune",
    "Udbetaling Danmark",
    "Region Midtjylland",
    "Politiet",
    "Styrelsen for Arbejdsmarked og Rekruttering",
    "Sundhedsstyrelsen",
    "Familieretshuset",
    "Odense Kommune",
    "Motorstyrelsen",
    "Færdselsstyrelsen",
]
TITLES = [
    "Årsopgørelse {year}",
    "Forskudsopgørelse {year}",
    "Indkaldelse til tandpleje",
    "Afgørelse om boligstøtte",
    "Besked om ændret afhentning af affald",
    "Påmindelse om vaccination",
    "Kvittering for din ansøgning",
    "Svar på ansøgning om børnehaveplads",
    "Opkrævning af ejendomsskat",
    "Indkaldelse til samtale på jobcenteret",
    "Fornyelse af kørekort",
    "Afgørelse om folkepension",
    "Varsling af vejarbejde",
    "Tilbud om plads i dagtilbud",
]
PARAGRAPHS = [
    "Du har fået en restskat på {n} kroner, som skal betales inden den 1. juli.",
    "Vi har modtaget din ansøgning og behandler den hurtigst muligt.",
    "Du kan klage over afgørelsen inden fire uger fra du har modtaget dette brev.",
    "Dit barn er indkaldt til eftersyn hos den kommunale tandpleje.",
    "Storskrald hentes fremover hver anden torsdag i lige uger.",
    "Boligstøtten udgør {n} kroner om måneden fra næste måned.",
    "Husk at medbringe sygesikringskort og gyldig legitimation.",
    "Har du spørgsmål, kan du ringe til borgerservice på telefon 70 12 34 56.",
    "Ejendomsskatten for første halvår er {n} kroner og opkræves over to rater.",
    "Samtalen handler om dine muligheder for at komme i job eller uddannelse.",
]


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run([*PG, "-d", db, "-c", sql], check=True, capture_output=True)


def setup_django() -> None:
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "digitalpost.settings.test"
    os.environ["DIGITALPOST_VAR_DIR"] = tempfile.mkdtemp(prefix="dp-bench-")
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def fill_mailbox(person, organisations, count: int, rng: random.Random) -> None:
    """``count`` delivered letters in ``person``'s inbox, with documents, actions and indexed text."""
    from django.db import transaction
    from django.utils import timezone

    from mailbox.models import Action, Document, Folder, MailboxItem, Message, MessageText
    from mailbox.search import message_vectors_update

    now = timezone.now()
    inbox = Folder.objects.get(mailbox=person.mailbox, kind=Folder.Kind.INBOX)
    for start in range(0, count, 2000):
        n = min(2000, count - start)
        with transaction.atomic():
            messages = []
            for _ in range(n):
                sender = rng.choice(organisations)
                title = rng.choice(TITLES).format(year=rng.randint(2015, 2026))
                messages.append(
                    Message(
                        message_uuid=uuid.uuid4(),
                        memo_version="1.2",
                        label=title,
                        reply_allowed=rng.random() < 0.2,
                        reply_by=now + timedelta(days=rng.randint(-30, 60)) if rng.random() < 0.1 else None,
                        mandatory=rng.random() < 0.05,
                        legal_notification=rng.random() < 0.03,
                        sender_id_type="CVR",
                        sender_id=sender.cvr,
                        sender_label=sender.name,
                        sender_organisation=sender,
                        recipient_id_type="CPR",
                        recipient_id=person.cpr,
                        recipient_mailbox=person.mailbox,
                        channel=Message.Channel.MAILBOX,
                        state=Message.State.DELIVERED,
                        delivered_at=now,
                        memo_file="memo/bench.xml",
                        memo_size=10_000,
                        memo_sha256="",
                    )
                )
            Message.objects.bulk_create(messages)
            received = [now - timedelta(minutes=rng.randint(0, 60 * 24 * 365 * 5)) for _ in messages]
            MailboxItem.objects.bulk_create(
                MailboxItem(
                    mailbox=person.mailbox,
                    message=m,
                    folder=inbox,
                    party=MailboxItem.party_of(m),
                    title=m.label,
                    received_at=r,
                    read_at=None if rng.random() < 0.3 else r + timedelta(hours=1),
                )
                for m, r in zip(messages, received, strict=True)
            )
            documents = Document.objects.bulk_create(
                Document(message=m, kind=Document.Kind.MAIN, position=0, label=m.label) for m in messages
            )
            extra = [m for m in messages if rng.random() < 0.2]
            Document.objects.bulk_create(
                Document(message=m, kind=Document.Kind.ADDITIONAL, position=1, label="bilag.pdf")
                for m in extra
            )
            Action.objects.bulk_create(
                Action(
                    document=d,
                    position=0,
                    label="Betal",
                    action_code="BETALING",
                    end_at=now + timedelta(days=14),
                    url="https://betaling.example.dk/",
                )
                for d in documents
                if rng.random() < 0.1
            )
            MessageText.objects.bulk_create(
                MessageText(
                    message=m,
                    text="\n".join(
                        rng.choice(PARAGRAPHS).format(n=rng.randint(100, 99_999))
                        for _ in range(rng.randint(3, 8))
                    ),
                )
                for m in messages
            )
            message_vectors_update(message_ids=[m.pk for m in messages])


def measure(client, url: str, runs: int) -> tuple[float, float, int, float]:
    """(p50 ms, p95 ms, SQL queries, p50 ms of this process's CPU) for GET ``url``.

    The CPU figure leaves out PostgreSQL and waiting for a core, so it moves less than the
    wall-clock figures when the machine is busy with other work."""
    from django.db import connection

    for _ in range(3):
        assert client.get(url).status_code == 200, url
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)):
        assert client.get(url).status_code == 200
    times, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.thread_time()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        assert response.status_code == 200
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    return statistics.median(times), p95, len(queries), statistics.median(cpu)


def run(messages: int, small: int, runs: int) -> list[str]:
    from django.test import Client

    from tests.factories import OrganisationFactory, PersonFactory

    rng = random.Random(20261201)
    organisations = [OrganisationFactory(name=name) for name in SENDERS]
    big, little = PersonFactory(name="Stor Postkasse"), PersonFactory(name="Lille Postkasse")
    started = time.perf_counter()
    fill_mailbox(big, organisations, messages, rng)
    fill_mailbox(little, organisations, small, rng)
    # Other people's mail, so the indexes are not the big mailbox's alone.
    for n in range(20):
        fill_mailbox(PersonFactory(name=f"Borger {n}"), organisations, messages // 20, rng)
    print(
        f"  generated {messages * 2 + small:,} letters in {time.perf_counter() - started:.1f} s", flush=True
    )
    psql("VACUUM ANALYZE", DB)

    clients = {}
    for person in (big, little):
        clients[person.pk] = Client()
        clients[person.pk].force_login(person.user)
    deep = max(1, (messages // 25) * 3 // 4)
    scenarios = [
        ("inbox, page 1", "/post/", 50),
        (f"inbox, page {deep}", f"/post/?page={deep}", 50),
        ("inbox, sorted by sender, page 1", "/post/?sort=sender", 50),
        ("inbox, sorted by title, page 1", "/post/?sort=title", 50),
        ("inbox, unread only, page 1", "/post/?unread=on", 50),
        ("search 'restskat' (document text), page 1", "/post/?q=restskat", 150),
        ("search 'restskat', deep page", "/post/?q=restskat&page={deep_search}", 150),
        ("search 'skattestyrelsen' (sender), page 1", "/post/?q=skattestyrelsen", 150),
        ("search 'kommune tandpleje' (two words), page 1", "/post/?q=kommune+tandpleje", 150),
    ]
    rows = []
    from mailbox.models import Folder
    from mailbox.search import items_search
    from mailbox.selectors import Listing, mailbox_items_list

    inbox = Folder.objects.get(mailbox=big.mailbox, kind=Folder.Kind.INBOX)
    matches = items_search(
        mailbox_items_list(mailbox=big.mailbox, folder=inbox, listing=Listing()), "restskat"
    ).count()
    deep_search = max(1, (matches // 25) * 3 // 4)
    for name, url, target in scenarios:
        url = url.format(deep_search=deep_search)
        p50, p95, queries, cpu = measure(clients[big.pk], url, runs)
        small_url = url.split("page=")[0].rstrip("&?") or "/post/"
        _, _, small_queries, _ = measure(clients[little.pk], small_url, 3)
        rows.append(
            [
                name,
                f"{p50:.1f}",
                f"{p95:.1f}",
                f"{cpu:.1f}",
                f"< {target}",
                "met" if p95 < target else "NOT met",
                str(queries),
                str(small_queries),
            ]
        )
    header = [
        "page",
        "p50 ms",
        "p95 ms",
        "CPU ms",
        "target",
        "",
        f"queries ({messages:,})",
        f"queries ({small})",
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return [
        f"  load average during the run: {load:.1f} on {os.cpu_count()} cores",
        f"  mailbox of {messages:,} letters ({matches:,} match 'restskat'); {runs} runs each",
        table(rows, header),
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DB} afterwards")
    args = parser.parse_args()
    try:
        psql(f"DROP DATABASE IF EXISTS {DB}")
        psql(f"CREATE DATABASE {DB}")
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        print(f"bench_inbox: skipped, PostgreSQL is not reachable ({exc})")
        return 0
    try:
        setup_django()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        print("Browser inbox on PostgreSQL (Django test client, server time)", flush=True)
        print("\n".join(run(args.messages, args.small, args.runs)), flush=True)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            psql(f"DROP DATABASE IF EXISTS {DB}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
