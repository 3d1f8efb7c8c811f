from celery import shared_task

from mailbox.delivery import deliveries_sweep, delivery_process
from mailbox.printing import print_jobs_export
from mailbox.release import release_due
from mailbox.resend import push_sweep, recipient_systems_check


@shared_task(ignore_result=True)
def deliver(delivery_id: int) -> str:
    return delivery_process(delivery_id)


@shared_task(ignore_result=True)
def deliver_many(delivery_ids: list[int]) -> int:
    """One task for a batch's chunk of deliveries, instead of one publish per message."""
    return sum(delivery_process(pk) != "not-claimed" for pk in delivery_ids)


@shared_task(ignore_result=True)
def send_batch_chunk(chunk_id: int) -> str:
    """One chunk of a batch upload, judged once (see mailbox/batches.py)."""
    from mailbox.batches import batch_chunk_send

    return batch_chunk_send(chunk_id=chunk_id)


@shared_task(ignore_result=True)
def sweep_batches() -> int:
    """Beat runs this every minute: chunks whose task was lost are queued again."""
    from mailbox.batches import batches_sweep

    return batches_sweep()


@shared_task(ignore_result=True)
def sweep_deliveries() -> int:
    """Beat runs this every minute; harmless when run twice."""
    return deliveries_sweep()


@shared_task(ignore_result=True)
def release_value_dated() -> int:
    """Beat runs this every minute; it releases in batches whatever is due, and nothing twice."""
    return release_due()


@shared_task(ignore_result=True)
def resend_sweep() -> dict:
    """The resend flow and the seven-day rule; beat runs it every minute, harmless twice."""
    return {**push_sweep(), **recipient_systems_check()}


@shared_task(ignore_result=True)
def export_print_jobs() -> int:
    """Hand rendered letters to the print provider in batches until none are left."""
    batches = 0
    while print_jobs_export() is not None:
        batches += 1
    return batches


@shared_task(ignore_result=True)
def send_notification(notification_id: int) -> str:
    """Queued after commit for each new notification; a no-op once it is sent or not due."""
    from mailbox.notifications import notification_send

    return notification_send(notification_id=notification_id)


#: A sweep stops taking new notifications after this long, well inside the task time limits.
SEND_NOTIFICATIONS_BUDGET_SECONDS = 180


@shared_task(ignore_result=True)
def send_notifications() -> int:
    """Beat runs this every 30 s: sends pending notifications in batches, retries due ones.

    Harmless when run twice or side by side: every row is claimed before it is sent.
    """
    import time

    from mailbox.notifications import SEND_BATCH, notifications_send_pending

    deadline = time.monotonic() + SEND_NOTIFICATIONS_BUDGET_SECONDS
    tried = 0
    while (left := deadline - time.monotonic()) > 0:
        count = notifications_send_pending(batch=SEND_BATCH, time_budget=left)
        tried += count
        if count < SEND_BATCH:
            break
    return tried


@shared_task(ignore_result=True)
def index_message_texts(message_ids: list[int]) -> int:
    """Queued after delivery with the delivered ids: makes their documents' text searchable."""
    from mailbox.search import message_texts_index

    return message_texts_index(message_ids=message_ids)


#: The text sweep stops taking new batches after this long, well inside the task time limits.
INDEX_SWEEP_BUDGET_SECONDS = 180


@shared_task(ignore_result=True)
def sweep_message_texts() -> int:
    """Beat runs this every 10 minutes: indexes what a lost task left behind. Harmless twice."""
    from mailbox.search import message_texts_sweep

    return message_texts_sweep(time_budget=INDEX_SWEEP_BUDGET_SECONDS)
