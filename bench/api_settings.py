"""Settings for bench/bench_api.py: production settings, on loopback, with a throw-away database.

The bench sets BENCH_DATABASE_URL, BENCH_REDIS_URL and BENCH_MEDIA_ROOT for the server it
starts; the defaults below are what it uses when nothing is set.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Production refuses to start without these; the bench gives fixed, loopback-only values.
os.environ.setdefault("SECRET_KEY", "bench-only-" + "k" * 60)
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ["DIGITALPOST_DEV_LOGIN"] = "False"

from digitalpost.settings.production import *  # noqa: F403
from digitalpost.settings.production import env

DEBUG = False
SECRET_KEY = "bench-only-" + "k" * 60
ALLOWED_HOSTS = ["127.0.0.1"]
SECURE_SSL_REDIRECT = False
ROOT_URLCONF = "bench.api_urls"

DATABASES = {
    "default": env.db_url("BENCH_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/dp_bench_api"),
}
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

CELERY_BROKER_URL = env.str("BENCH_REDIS_URL", default="redis://127.0.0.1:6379/14")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Nothing consumes the queue during the bench; publishing must not wait for a worker.
CELERY_TASK_ALWAYS_EAGER = False

MEDIA_ROOT = Path(env.str("BENCH_MEDIA_ROOT", default=str(Path(tempfile.gettempdir()) / "dp-bench-media")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "ERROR"},
}
