"""Background steps of a contact-structure import. Each takes the job's id and is safe to run
twice: the job's status says what is left to do."""

from celery import shared_task

from contactstructure import services


@shared_task
def validate_import_job(job_id: int) -> None:
    services.import_job_validate(job_id=job_id)


@shared_task
def apply_import_job(job_id: int) -> None:
    services.import_job_apply(job_id=job_id)
