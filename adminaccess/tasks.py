from celery import shared_task
from django.utils import timezone

from adminaccess.models import Heartbeat


@shared_task
def record_worker_heartbeat() -> None:
    """Beat queues this; a worker running it proves beat, broker and worker all work."""
    Heartbeat.objects.update_or_create(name="worker", defaults={"seen_at": timezone.now()})
