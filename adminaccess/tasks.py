from celery import shared_task
from django.utils import timezone

from adminaccess.models import Heartbeat


@shared_task
def record_worker_heartbeat() -> None:
    """Beat queues this; a worker running it proves beat, broker and worker all work."""
    Heartbeat.objects.update_or_create(name="worker", defaults={"seen_at": timezone.now()})


@shared_task
def warn_expiring_certificates() -> int:
    """Daily: warn technical contacts of certificates expiring within 30 days, once each."""
    from adminaccess.services import certificate_expiry_warnings_send

    return certificate_expiry_warnings_send()
