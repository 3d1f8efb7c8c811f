from celery import shared_task

from mailbox.delivery import deliveries_sweep, delivery_process


@shared_task(ignore_result=True)
def deliver(delivery_id: int) -> str:
    return delivery_process(delivery_id)


@shared_task(ignore_result=True)
def sweep_deliveries() -> int:
    """Beat runs this every minute; harmless when run twice."""
    return deliveries_sweep()
