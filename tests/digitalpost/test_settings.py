"""Production refuses to start without what it must be given; development needs nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from digitalpost.celery import app

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 64


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE")
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS must be set"),
        (
            {"SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "hub.example.dk", "DIGITALPOST_DEV_LOGIN": "true"},
            "development login cannot be enabled",
        ),
    ],
)
def test_production_refuses_to_start_without_its_settings(env, complaint):
    result = _manage("check", DJANGO_SETTINGS_MODULE="digitalpost.settings.production", **env)
    assert result.returncode != 0
    assert complaint in result.stderr


def test_check_deploy_is_clean_under_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="digitalpost.settings.production",
        SECRET_KEY=GOOD_KEY + "-x9!Qz",
        ALLOWED_HOSTS="hub.example.dk",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_celery_is_json_only_with_late_acks_and_time_limits():
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit == 300
    assert conf.task_soft_time_limit < conf.task_time_limit


def test_the_broker_follows_redis_url():
    if os.environ.get("REDIS_URL"):
        assert os.environ["REDIS_URL"] == settings.CELERY_BROKER_URL
    else:
        assert settings.CELERY_BROKER_URL == "filesystem://"


def test_the_beat_schedule_lives_in_code():
    assert app.conf.beat_schedule["heartbeat"]["task"] == "adminaccess.tasks.record_worker_heartbeat"
