"""``GET /healthz``: is the database reachable, can the broker be reached, is a worker alive?

Only the database decides the status code (503 without it the hub can accept nothing). A
broker or worker problem is reported in the body with 200, because the hub still accepts
mail then: the outbox keeps it until workers run again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"status": "error", "error": exc.__class__.__name__}
    return {"status": "ok", "vendor": connection.vendor}


def _broker() -> dict:
    from digitalpost.celery import app

    url = app.conf.broker_url or ""
    kind = url.split("://", 1)[0]
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return {"status": "error", "transport": kind, "error": exc.__class__.__name__}
    return {"status": "ok", "transport": kind}


def _worker() -> dict:
    from adminaccess.models import Heartbeat

    try:
        beat = Heartbeat.objects.filter(name="worker").first()
    except Exception:
        return {"status": "unknown"}
    if beat is None:
        return {"status": "unknown", "detail": "no heartbeat yet"}
    age = timezone.now() - beat.seen_at
    status = "ok" if age <= settings.WORKER_HEARTBEAT_STALE_AFTER else "stale"
    return {
        "status": status,
        "last_seen": beat.seen_at.isoformat(),
        "age_seconds": int(age.total_seconds()),
    }


@never_cache
@require_GET
def healthz(request):
    database = _database()
    body = {
        "database": database,
        "broker": _broker(),
        "worker": _worker() if database["status"] == "ok" else {"status": "unknown"},
    }
    body["status"] = "ok" if database["status"] == "ok" else "error"
    return JsonResponse(body, status=200 if database["status"] == "ok" else 503)
