from celery import shared_task

from mailbox.delivery import deliveries_sweep, delivery_process
from mailbox.printing import print_jobs_export
from mailbox.release import release_due
from mailbox.resend import push_sweep, recipient_systems_check


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
