"""Queueing Celery tasks after commit, without letting a broker outage fail the caller.

The database is the record of truth: a task only saves the sweep a little waiting. So when
the broker cannot be reached, the work is already safe in its outbox row, the request that
accepted it still succeeds, and the periodic sweep (beat) picks the row up when workers and
broker are back.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver

log = logging.getLogger(__name__)

# One quick try: a request must not hang on a broker that is down.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def enqueue(task, *args) -> bool:
    """Queue ``task(*args)`` now; log and return False if the broker cannot take it."""
    try:
        task.apply_async(args=args, retry=True, retry_policy=PUBLISH_RETRY)
    except Exception:  # kombu raises many kinds; any of them means "the sweep will do it"
        log.warning("Could not queue %s%r; the sweep will pick it up", task.name, args, exc_info=True)
        return False
    return True


def enqueue_after_commit(task, *args) -> None:
    """Queue ``task(*args)`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(task, *args))


#: Whether a task runs eagerly, by the task object's identity (with the object, so that the
#: id cannot pass to another): Celery's own lookup walks its settings' maps, some 20-50 us a
#: call, a share of every send. Read once per task object, again after override_settings.
_eager: dict[int, tuple[object, bool]] = {}


def runs_eagerly(task) -> bool:
    """``task.app.conf.task_always_eager``, remembered per task object (see :data:`_eager`)."""
    known = _eager.get(id(task))
    if known is None or known[0] is not task:
        known = _eager[id(task)] = (task, bool(task.app.conf.task_always_eager))
    return known[1]


@receiver(setting_changed)
def _forget_eagerness(*, setting: str, **kwargs) -> None:
    if setting.startswith("CELERY_"):
        _eager.clear()


class WakeUps:
    """Coalesces "there is new work" signals into one publish per short window.

    The single-send API used to publish one delivery task per accepted message (a Redis round
    trip, about 0.8 ms of the request). The outbox row is already the record, so the request
    only notes the row's id here after commit; a background thread of this process publishes
    the ids as ONE task: ``one(id)`` for a lone id, ``many(ids)`` for more. A process that
    published nothing in the last ``window`` seconds publishes at once; after a publish, what
    comes in gathers until the window has passed and goes out together. So a quiet hub
    delivers without delay, and under load a process publishes at most once per window
    (Celery's publish costs 1-5 ms of CPU, a share of every message at one per 100 ms) and
    delivery starts at most one window late.

    Nothing is lost that the database does not still hold: if the process dies before its
    window is published (or the broker is down), the ids are still PENDING outbox rows and
    the periodic sweep delivers them. Where tasks run eagerly (tests, inline mode) there is
    no thread: each id is queued at once, exactly as :func:`enqueue` does.
    """

    def __init__(self, window: float = 0.5) -> None:
        self.window = window
        self._last = float("-inf")  # time.monotonic() of the last publish
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._publishing = threading.Lock()
        self._pending: dict[tuple, list] = {}
        self._pid: int | None = None
        self._thread: threading.Thread | None = None

    def add(self, one, many, item) -> None:
        if runs_eagerly(one):
            enqueue(one, item)
            return
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked child: the thread is not ours
                self._pending, self._pid = {}, os.getpid()
                self._publishing = threading.Lock()  # one the parent's thread held stays held
                self._thread = threading.Thread(target=self._run, name="wake-ups", daemon=True)
                self._thread.start()
            # Keyed by identity: hashing a shared_task's proxy resolves it, every time.
            pending = self._pending.get((id(one), id(many)))
            if pending is None:
                pending = self._pending[id(one), id(many)] = (one, many, [])
            pending[2].append(item)
            self._wake.notify()

    def flush(self) -> int:
        """Publish whatever is waiting now; returns the number of tasks published. A flush
        waits for one under way (the thread's), so that the flush at exit returns only once
        everything taken is published: a process that ends right after a send (a script, a
        worker's shutdown) does not cut the thread's publish short."""
        with self._publishing:
            with self._lock:
                pending, self._pending = self._pending, {}
                self._last = time.monotonic()
            published = 0
            for one, many, items in pending.values():
                if len(items) == 1:
                    enqueue(one, items[0])
                else:
                    enqueue(many, items)
                published += 1
            return published

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending:
                    self._wake.wait()
                wait = self._last + self.window - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # published lately: let the window fill
            try:
                self.flush()
            except Exception:  # never let the thread die: the sweep is the safety net anyway
                log.exception("Publishing wake-ups failed; the sweep will pick the rows up")


wake_ups = WakeUps()
atexit.register(wake_ups.flush)


def wake_up_after_commit(one, many, item) -> None:
    """Once the current transaction commits, have ``item`` handled by the next window's task."""
    transaction.on_commit(lambda: wake_ups.add(one, many, item))
