"""Settings shared by every way the hub runs. Everything that differs comes from the environment.

The embedded default (``make run``) needs no services: SQLite under ``var/`` and a Celery
broker kept in files under ``var/broker``. Setting ``DATABASE_URL`` and ``REDIS_URL`` switches
to PostgreSQL and Redis without touching code.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(environ.Env().str("DIGITALPOST_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
# A .env file is a convenience for development; production passes real environment variables.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "rights",
    "mailbox",
    "contactstructure",
    "adminaccess",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "digitalpost.urls"
WSGI_APPLICATION = "digitalpost.wsgi.application"
ASGI_APPLICATION = "digitalpost.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "digitalpost.context_processors.hub",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'digitalpost.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: WAL lets readers run beside the writer, and
    # IMMEDIATE transactions make writers queue for the lock instead of failing mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "rights.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language and time ------------------------------------------------------------------------
LANGUAGE_CODE = "da"
LANGUAGES = [("da", "Dansk"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Copenhagen"
USE_I18N = True
USE_TZ = True

# --- Files --------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# DKFDS comes from npm; `make install` puts it in node_modules and collectstatic serves it.
if (BASE_DIR / "node_modules" / "dkfds" / "dist").is_dir():
    STATICFILES_DIRS.append(("dkfds", BASE_DIR / "node_modules" / "dkfds" / "dist"))
if (BASE_DIR / "node_modules" / "htmx.org" / "dist").is_dir():
    STATICFILES_DIRS.append(("htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    # Documents and stored MeMo go through Django's storage API so production can point
    # this at object storage without code changes.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # The MeMo as received: in the database, committed with its message (mailbox/storage.py).
    # MEMO_STORAGE=django.core.files.storage.FileSystemStorage keeps them under MEDIA_ROOT.
    "memo": {"BACKEND": env.str("MEMO_STORAGE", default="mailbox.storage.DatabaseStorage")},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# An authority may send 99.5 MB of documents; base64 and XML add about a third.
DATA_UPLOAD_MAX_MEMORY_SIZE = 140 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Celery ---------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # The embedded default: a broker kept in files, so a newcomer installs no server.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only once it has run, so a worker that dies mid-task leaves it on
# the queue; every task is idempotent, so running it twice is harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "adminaccess.tasks.record_worker_heartbeat",
        "schedule": timedelta(seconds=30),
    },
    # Picks up deliveries a lost task left behind (see mailbox/delivery.py).
    "sweep-deliveries": {"task": "mailbox.tasks.sweep_deliveries", "schedule": timedelta(seconds=60)},
    # Queues again the chunks of batch uploads whose task was lost (see mailbox/batches.py).
    "sweep-batches": {"task": "mailbox.tasks.sweep_batches", "schedule": timedelta(seconds=60)},
    # Retries failed pushes and applies the seven-day rule (see mailbox/resend.py).
    "resend-sweep": {"task": "mailbox.tasks.resend_sweep", "schedule": timedelta(seconds=60)},
    # Hands rendered remote-print letters to the print provider (see mailbox/printing.py).
    "export-print-jobs": {"task": "mailbox.tasks.export_print_jobs", "schedule": timedelta(seconds=60)},
    # Releases value-dated mail on its date, set-based (see mailbox/release.py).
    "release-value-dated": {"task": "mailbox.tasks.release_value_dated", "schedule": timedelta(seconds=60)},
    # Sends pending e-mail/SMS/NemSMS notifications and retries due ones (see mailbox/notifications.py).
    "send-notifications": {"task": "mailbox.tasks.send_notifications", "schedule": timedelta(seconds=30)},
    # Makes document text searchable where a lost task left it out (see mailbox/search.py).
    "sweep-message-texts": {"task": "mailbox.tasks.sweep_message_texts", "schedule": timedelta(minutes=10)},
    # Warns technical contacts of certificates about to expire, once each (adminaccess/services.py).
    "warn-expiring-certificates": {
        "task": "adminaccess.tasks.warn_expiring_certificates",
        "schedule": timedelta(days=1),
    },
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "mailbox.api.common.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Digital Post hub API (NgDP-compatible)",
    "DESCRIPTION": "Sender and recipient systems exchange MeMo messages with the hub.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # by_method() paths (/memos/) are one view per method; this generator documents each.
    "DEFAULT_GENERATOR_CLASS": "mailbox.api.schema.SchemaGenerator",
    "ENUM_NAME_OVERRIDES": {
        "ReceiptStatusEnum": "mailbox.models.Receipt.Status",
        "BusinessReceiptStatusEnum": ["COMPLETED", "INVALID"],
    },
    # Path UUIDs in either case (mailbox/api/urls.py).
    "PATH_CONVERTER_OVERRIDES": {"anyuuid": {"type": "string", "format": "uuid"}},
}

# --- The hub ----------------------------------------------------------------------------------
# Mutual TLS ends at the reverse proxy. Only a proxy at one of these addresses may tell the
# hub, in this header, which client certificate (URL-encoded PEM, as nginx's
# $ssl_client_escaped_cert) a system presented, or which address a call came from.
DIGITALPOST_TRUSTED_PROXIES = env.list("DIGITALPOST_TRUSTED_PROXIES", default=[])
DIGITALPOST_CLIENT_CERT_HEADER = env.str("DIGITALPOST_CLIENT_CERT_HEADER", default="X-SSL-Client-Cert")
# A delivery a worker claimed but did not finish (the worker died) is retried after this long;
# longer than any delivery can take (the task time limit).
DIGITALPOST_STUCK_AFTER_SECONDS = env.int("DIGITALPOST_STUCK_AFTER_SECONDS", default=600)
# Value-date release on PostgreSQL: how many database connections release a large date's mail
# side by side (each claims its own batches with SKIP LOCKED); 1 releases in one connection.
DIGITALPOST_RELEASE_CONNECTIONS = env.int("DIGITALPOST_RELEASE_CONNECTIONS", default=2)
# Pushing to recipient systems: every call has a timeout (seconds).
DIGITALPOST_PUSH_CONNECT_TIMEOUT = env.float("DIGITALPOST_PUSH_CONNECT_TIMEOUT", default=5.0)
DIGITALPOST_PUSH_READ_TIMEOUT = env.float("DIGITALPOST_PUSH_READ_TIMEOUT", default=30.0)
# The resend flow: minutes to wait after the 1st, 2nd, ... failed push; the last repeats.
DIGITALPOST_RESEND_SCHEDULE_MINUTES = env.list(
    "DIGITALPOST_RESEND_SCHEDULE_MINUTES", cast=int, default=[1, 5, 15, 60, 240]
)
# Warn the technical contact after this many days of failure; deactivate after seven.
DIGITALPOST_FAILURE_WARNING_DAYS = env.list("DIGITALPOST_FAILURE_WARNING_DAYS", cast=int, default=[1, 3, 6])
DIGITALPOST_DEACTIVATE_AFTER_DAYS = env.int("DIGITALPOST_DEACTIVATE_AFTER_DAYS", default=7)
# Largest request body the API reads, checked before reading: one MeMo, and one batch.
DIGITALPOST_MAX_MEMO_BYTES = env.int("DIGITALPOST_MAX_MEMO_BYTES", default=140 * 1024 * 1024)
DIGITALPOST_MAX_BATCH_BYTES = env.int("DIGITALPOST_MAX_BATCH_BYTES", default=512 * 1024 * 1024)

# Shown on pages and in the start-up banner, e.g. http://localhost:8000.
HUB_BASE_URL = env.str("HUB_BASE_URL", default="http://localhost:8000")
# The development login (pick a demo person) stands in for MitID. Never on in production.
DIGITALPOST_DEV_LOGIN = env.bool("DIGITALPOST_DEV_LOGIN", default=False)
# A worker that has not reported for this long is shown as stale on /healthz.
WORKER_HEARTBEAT_STALE_AFTER = timedelta(seconds=env.int("WORKER_HEARTBEAT_STALE_AFTER", default=120))

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Digital Post <noreply@digitalpost.localhost>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Remote print (fjernprint) ----------------------------------------------------------------
# Who receives exported print batches (see mailbox/print_export.py); the default writes one
# folder per batch, which a print provider's pickup job can collect.
DIGITALPOST_PRINT_EXPORTER = env.str(
    "DIGITALPOST_PRINT_EXPORTER", default="mailbox.print_export.FolderExporter"
)
DIGITALPOST_PRINT_FOLDER = Path(env.str("DIGITALPOST_PRINT_FOLDER", default=str(VAR_DIR / "print")))

# --- Notifications (e-mail, SMS, NemSMS) ------------------------------------------------------
# Who sends SMS and NemSMS (see mailbox/sms.py); the default only logs, for development.
DIGITALPOST_SMS_BACKEND = env.str("DIGITALPOST_SMS_BACKEND", default="mailbox.sms.LoggingSMSBackend")
# Tries per notification before it is given up as FAILED (temporary failures only).
DIGITALPOST_NOTIFICATION_MAX_ATTEMPTS = env.int("DIGITALPOST_NOTIFICATION_MAX_ATTEMPTS", default=5)

# The test portal in Administrativ Adgang (test citizens, companies and test messages).
# Off unless switched on; development and tests switch it on.
DIGITALPOST_TEST_PORTAL = env.bool("DIGITALPOST_TEST_PORTAL", default=False)

# --- Logging in: MitID through OpenID Connect, throttling, devices -------------------------------
# MitID (through NemLog-in or another broker) over OpenID Connect, with mozilla-django-oidc.
# Configured only from the environment; without a client id and the three endpoints it is off
# and /oidc/ does not exist. The login maps the CPR claim to a known Person and never creates
# people (see rights/oidc.py).
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="") or None
OIDC_OP_LOGOUT_ENDPOINT = env.str("OIDC_OP_LOGOUT_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid")
# The claim that carries the CPR number; brokers differ (NemLog-in's is the default).
OIDC_CPR_CLAIM = env.str("OIDC_CPR_CLAIM", default="https://data.gov.dk/model/core/eid/cprNumber")
OIDC_USE_PKCE = env.bool("OIDC_USE_PKCE", default=True)
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=10.0)
OIDC_ENABLED = bool(
    OIDC_RP_CLIENT_ID and OIDC_OP_AUTHORIZATION_ENDPOINT and OIDC_OP_TOKEN_ENDPOINT and OIDC_OP_USER_ENDPOINT
)
OIDC_RP_IDP_SIGN_KEY = env.str("OIDC_RP_IDP_SIGN_KEY", default="") or None
if OIDC_ENABLED and OIDC_RP_SIGN_ALGO[:2] in ("RS", "ES"):
    # Signed ID tokens need the provider's keys; say so at start-up, not at the first login.
    from django.core.exceptions import ImproperlyConfigured

    if not (OIDC_OP_JWKS_ENDPOINT or OIDC_RP_IDP_SIGN_KEY):
        raise ImproperlyConfigured(
            f"OIDC_RP_SIGN_ALGO={OIDC_RP_SIGN_ALGO} needs OIDC_OP_JWKS_ENDPOINT (or OIDC_RP_IDP_SIGN_KEY)."
        )
# A refused login (unknown CPR, failed verification) lands on a page that says why.
LOGIN_REDIRECT_URL_FAILURE = "/oidc/refused/"

# Throttled logins (django-axes): after AXES_FAILURE_LIMIT failures from one username and
# address, that pair is locked out for AXES_COOLOFF_TIME. Covers the Django admin login and the
# OIDC callback (which has no username, so it is throttled per address).
INSTALLED_APPS += ["axes", "mozilla_django_oidc"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "rights.middleware.LoginSessionMiddleware",
)
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out caller before any other backend looks at the credentials.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    *(["rights.oidc.MitIDBackend"] if OIDC_ENABLED else []),
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The caller's address as the API sees it: X-Forwarded-For only from a trusted proxy.
AXES_CLIENT_IP_CALLABLE = "adminaccess.authentication.client_address"
AXES_LOCKOUT_TEMPLATE = "rights/locked_out.html"

# Verification codes for a new e-mail address or mobile number (rights/account.py).
DIGITALPOST_VERIFICATION_CODE_MINUTES = env.int("DIGITALPOST_VERIFICATION_CODE_MINUTES", default=15)
DIGITALPOST_VERIFICATION_MAX_ATTEMPTS = env.int("DIGITALPOST_VERIFICATION_MAX_ATTEMPTS", default=5)
