"""Start the whole hub on one machine: web, a Celery worker and beat, stopped by one Ctrl-C.

Before starting, it migrates, seeds the demo world (idempotently) and prints where to log
in. Processes are supervised by honcho from the repository's Procfile, the same commands
docker-compose runs.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from digitalpost import demo


class Command(BaseCommand):
    help = "Migrate, seed demo data, print how to log in, then run web + worker + beat."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-start", action="store_true", help="Prepare and print, do not start.")

    def handle(self, *args, port: int, no_start: bool, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        for folder in ("queue", "processed"):
            (settings.BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        if settings.DIGITALPOST_DEV_LOGIN:
            call_command("seed_demo", verbosity=0)
        self.stdout.write(banner(port))
        if no_start:
            return
        honcho = shutil.which("honcho", path=str(Path(sys.executable).parent)) or shutil.which("honcho")
        root = str(settings.BASE_DIR)
        env = {
            **os.environ,
            "PORT": str(port),
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        }
        os.chdir(root)
        # honcho supervises the Procfile's processes and stops them all on one Ctrl-C.
        os.execve(honcho, [honcho, "start", "-f", "Procfile", "-d", root, "-p", str(port)], env)  # noqa: S606


def banner(port: int) -> str:
    base = f"http://127.0.0.1:{port}"
    database = settings.DATABASES["default"]
    db = database["ENGINE"].rsplit(".", 1)[-1] + f" ({database['NAME']})"
    broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
    citizen, employee, staff = demo.CITIZEN, demo.EMPLOYEE, demo.STAFF
    company, authority = demo.COMPANY, demo.AUTHORITY
    lines = [
        "",
        "=" * 72,
        "  Digital Post hub is starting",
        f"  Web:       {base}/        Health: {base}/healthz",
        f"  Database:  {db}",
        f"  Broker:    {broker}   (worker and beat run beside the web server)",
        "",
    ]
    if settings.DIGITALPOST_DEV_LOGIN:
        lines += [
            f"  Log in at {base}/login/ (development login standing in for MitID):",
            f"    citizen:          {citizen['name']} (CPR {citizen['cpr']})",
            f"    company employee: {employee['name']} for {company['name']} (CVR {company['cvr']})",
            f"    authority staff:  {staff['name']} at {authority['name']} (CVR {authority['cvr']})",
            f"  Citizens and companies read their mail at {base}/post/; staff work in",
            f"  Administrativ Adgang at {base}/admin/ (systems, contact structure, event log, recall...).",
            "",
            "  Sender system (REST API, HTTP Basic auth):",
            f"    systemId  {demo.SENDER_SYSTEM_ID}",
            f"    apiToken  {demo.SENDER_TOKEN}",
            f"    .venv/bin/python -m memo example --sender {authority['cvr']} --recipient {citizen['cpr']}"
            " > letter.xml",
            f"    curl -u {demo.SENDER_SYSTEM_ID}:{demo.SENDER_TOKEN} \\",
            '         -H "Content-Type: application/xml" --data-binary @letter.xml \\',
            f'         "{base}/apis/v1/memos/?memo-message-uuid=<messageUUID in letter.xml>"',
            f"    API documentation: {base}/apis/v1/docs/",
            "",
        ]
    lines += ["  Stop everything with Ctrl-C.", "=" * 72, ""]
    return "\n".join(lines)
