"""Queueing Celery tasks after commit, without letting a broker outage fail the caller.

The database is the record of truth: a task only saves the sweep a little waiting. So when
the broker cannot be reached, the work is already safe in its outbox row, the request that
accepted it still succeeds, and the periodic sweep (beat) picks the row up when workers and
broker are back.
"""

from __future__ import annotations

import logging

from django.db import transaction

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
