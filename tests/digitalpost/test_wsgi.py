"""The WSGI module: the application, and the objects it freezes out of the garbage collector."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc
import digitalpost.wsgi as wsgi
from django.urls import get_resolver
print(gc.get_freeze_count(), 'url_patterns' in get_resolver().__dict__, callable(wsgi.application))
"""


def load_wsgi(settings_module: str) -> list[str]:
    """What a fresh process that imports digitalpost.wsgi sees: the frozen object count,
    whether the URLconf was loaded, whether the application is there."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_outside_development_the_loaded_objects_are_frozen_with_the_urlconf():
    frozen, urlconf_loaded, application = load_wsgi("digitalpost.settings.test")

    # Django, every app and every view module: well over ten thousand objects.
    assert int(frozen) > 10_000
    assert urlconf_loaded == "True"
    assert application == "True"


def test_in_development_nothing_is_frozen_and_the_urlconf_waits_for_the_first_request():
    frozen, urlconf_loaded, application = load_wsgi("digitalpost.settings.development")

    assert frozen == "0"
    assert urlconf_loaded == "False"
    assert application == "True"
