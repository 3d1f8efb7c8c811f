"""Tests: in-memory where possible, real PostgreSQL/Redis where DATABASE_URL/REDIS_URL say so."""

from digitalpost.settings.base import *  # noqa: F403
from digitalpost.settings.base import VAR_DIR

DEBUG = False
SECRET_KEY = "test-only-key"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
DIGITALPOST_DEV_LOGIN = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = VAR_DIR / "test-media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "memo": {"BACKEND": "mailbox.storage.DatabaseStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tasks run inline so a test sees the whole path of a message; the broker is still
# configured from REDIS_URL for the tests that talk to it on purpose.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
DIGITALPOST_TEST_PORTAL = True
# The product speaks Danish by default (base settings); tests read English text unless they ask
# for Danish, so a changed translation never breaks an unrelated test (see tests/digitalpost/test_i18n.py).
LANGUAGE_CODE = "en"
