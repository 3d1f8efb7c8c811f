"""The WSGI application (gunicorn: ``digitalpost.wsgi:application``).

Outside development, once Django is set up and the URLconf (and with it every view module) is
imported, all the objects loaded so far are moved out of the cyclic garbage collector's sight
with ``gc.freeze()``: they live as long as the process, and otherwise every full collection
walks some 130,000 objects again, a pause of a busy worker of 60-140 ms on the
2-core bench machine (20-35 ms frozen), which showed in the send API's p99.
"""

import gc
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digitalpost.settings.development")
application = get_wsgi_application()


def freeze_loaded_objects() -> None:
    """Import the URLconf, collect what loading left behind, and freeze the rest."""
    get_resolver().url_patterns  # noqa: B018 - imports every URL module and view
    gc.collect()
    gc.freeze()


if not settings.DEBUG:
    freeze_loaded_objects()
