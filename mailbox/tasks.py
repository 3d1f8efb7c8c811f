from celery import shared_task

from mailbox.delivery import deliveries_sweep, delivery_process
from mailbox.release import release_due


@shared_task(ignore_result=True)
def deliver(delivery_id: int) -> str:
    return delivery_process(delivery_id)


@shared_task(ignore_result=True)
def sweep_deliveries() -> int:
    """Beat runs this every minute; harmless when run twice."""
    return deliveries_sweep()


@shared_task(ignore_result=True)
def release_value_dated() -> int:
    """Beat runs this every minute; it releases in batches whatever is due, and nothing twice."""
    return release_due()
