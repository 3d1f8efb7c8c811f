"""The embedded default: one machine, no services, demo data, development login."""

from digitalpost.settings.base import *  # noqa: F403
from digitalpost.settings.base import env

DEBUG = env.bool("DEBUG", default=True)
# A fixed, clearly-marked key is fine here: this settings module is never used in production.
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
DIGITALPOST_DEV_LOGIN = env.bool("DIGITALPOST_DEV_LOGIN", default=True)
DIGITALPOST_TEST_PORTAL = env.bool("DIGITALPOST_TEST_PORTAL", default=True)
