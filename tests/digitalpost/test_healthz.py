from datetime import timedelta
from unittest import mock

from django.db.utils import OperationalError
from django.utils import timezone

from adminaccess.models import Heartbeat
from adminaccess.tasks import record_worker_heartbeat


def test_it_reports_database_broker_and_worker(client, db):
    record_worker_heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["broker"]["status"] == "ok"
    assert body["worker"]["status"] == "ok"
    assert body["worker"]["age_seconds"] == 0


def test_it_says_the_worker_is_unknown_before_any_heartbeat(client, db):
    assert client.get("/healthz").json()["worker"] == {"status": "unknown", "detail": "no heartbeat yet"}


def test_it_says_the_worker_is_stale_when_the_heartbeat_is_old(client, db, settings):
    Heartbeat.objects.create(name="worker", seen_at=timezone.now() - timedelta(minutes=10))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["worker"]["status"] == "stale"


def test_it_answers_503_when_the_database_is_unreachable(client, db):
    with mock.patch("digitalpost.health.connection.cursor", side_effect=OperationalError("down")):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == {"status": "error", "error": "OperationalError"}
    assert body["worker"] == {"status": "unknown"}


def test_it_reports_a_broker_that_cannot_be_reached(client, db):
    with mock.patch("digitalpost.celery.app.connection_for_write", side_effect=ConnectionError("no")):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"]["status"] == "error"


def test_it_only_answers_get(client, db):
    assert client.post("/healthz").status_code == 405
