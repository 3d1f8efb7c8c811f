"""The import and export pages: upload, report, confirm, progress."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from adminaccess.models import Event
from contactstructure import importexport
from contactstructure.models import ContactPoint, ImportJob
from tests.contactstructure.views.helpers import counts
from tests.factories import OrganisationFactory, make_contact_point

pytestmark = pytest.mark.django_db

UPLOAD = reverse("adminaccess:contact-structure-import")
HEADER = ",".join(importexport.IMPORT_COLUMNS)


def upload(client, name, data, capture):
    with capture(execute=True):
        return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data)})


def job_url(job, name="import-job"):
    return reverse(f"adminaccess:contact-structure-{name}", kwargs={"job_id": job.pk})


def test_it_checks_an_upload_shows_the_report_and_applies_on_confirm(
    admin_client, authority, administrator, django_capture_on_commit_callbacks
):
    data = f"{HEADER}\r\nBorgerservice > Pas,pas,Pas,,,,,,,,,,,,\r\n".encode()

    response = upload(admin_client, "ny.csv", data, django_capture_on_commit_callbacks)

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job_url(job)
    assert (job.organisation, job.created_by, job.status) == (
        authority,
        administrator.user,
        ImportJob.Status.VALID,
    )
    page = admin_client.get(job_url(job)).content.decode()
    assert "Applying it creates 1 contact points, updates 0, leaves 0 unchanged and creates 2 groups." in page
    assert "The file is merged" in page
    assert not ContactPoint.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(job_url(job, "import-apply"))

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.APPLIED
    assert ContactPoint.objects.get().group.label == "Pas"
    event = Event.objects.get(tag=Event.Tag.CONTACT_STRUCTURE_CHANGED)
    assert (event.organisation, event.actor_user, event.details["created"]) == (
        authority,
        administrator.user,
        ["pas"],
    )
    assert "The file was applied." in admin_client.get(job_url(job)).content.decode()


def test_a_file_with_a_bad_row_shows_the_row_and_cannot_be_applied(
    admin_client, authority, django_capture_on_commit_callbacks
):
    data = f"{HEADER}\r\n,ok,OK,,,,,,,,,,,,\r\n,bad,Bad,,,9.9,,,,,,,,,\r\n".encode()
    upload(admin_client, "bad.csv", data, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()

    response = admin_client.get(job_url(job))

    html = response.content.decode()
    assert job.status == ImportJob.Status.INVALID
    assert "Nothing was changed." in html
    assert (
        "<td>3</td><td><code>kle_codes</code></td><td>9.9 is not a KLE code (NN, NN.NN or NN.NN.NN).</td>"
        in html
    )
    assert "Apply the file" not in html
    before = counts()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(job_url(job, "import-apply"))
    assert counts() == before
    assert not ContactPoint.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("structure.txt", b"id,label", "Only XLSX and CSV files can be imported."),
        ("structure.xlsx", b"id,label", "The file is called .xlsx but is not an XLSX workbook."),
        (
            "big.csv",
            b"x" * (5 * 1024 * 1024 + 1),
            "The file is larger than 5 MB; split it into smaller files.",
        ),
    ],
)
def test_it_refuses_a_file_that_is_not_xlsx_or_csv_or_too_big(
    admin_client, name, data, message, django_capture_on_commit_callbacks
):
    before = counts()
    response = upload(admin_client, name, data, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert response.context["form"].errors == {"file": [message]}
    assert message in response.content.decode()
    assert counts() == before


def test_the_progress_part_polls_while_the_job_runs_and_stops_when_done(admin_client, authority):
    job = ImportJob.objects.create(
        organisation=authority,
        file_name="big.csv",
        file_format="csv",
        status="VALIDATING",
        total_rows=400,
        processed_rows=100,
    )

    running = admin_client.get(job_url(job, "import-progress")).content.decode()
    assert f'hx-get="{job_url(job, "import-progress")}"' in running
    assert 'value="25"' in running
    assert "Checked 100 of 400 rows" in running
    assert f'href="{job_url(job)}"' in running  # the plain refresh link

    ImportJob.objects.filter(pk=job.pk).update(status="VALID", processed_rows=400)
    done = admin_client.get(job_url(job, "import-progress")).content.decode()
    assert "hx-get" not in done
    assert "Apply the file" in done


@pytest.mark.parametrize("name", ["import-job", "import-progress", "import-apply"])
def test_a_job_of_another_organisation_is_404(admin_client, name):
    foreign = ImportJob.objects.create(
        organisation=OrganisationFactory(), file_name="x.csv", file_format="csv", status="VALID"
    )
    method = admin_client.post if name == "import-apply" else admin_client.get
    assert method(job_url(foreign, name)).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "VALID"


@pytest.mark.parametrize(
    ("file_format", "content_type"),
    [
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("csv", "text/csv; charset=utf-8"),
    ],
)
def test_it_exports_the_organisations_points_only(admin_client, authority, file_format, content_type):
    make_contact_point(authority, contact_point_id="mine", label="Mit punkt")
    make_contact_point(OrganisationFactory(), contact_point_id="theirs", label="Fremmed punkt")

    response = admin_client.get(reverse("adminaccess:contact-structure-export"), {"format": file_format})

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"].startswith('attachment; filename="contact-structure-29189838-')
    rows = importexport.read_file(response.content, file_format)
    assert [cells[1] for _, cells in rows] == ["id", "mine"]


def test_it_refuses_an_unknown_export_format(admin_client):
    assert (
        admin_client.get(reverse("adminaccess:contact-structure-export"), {"format": "pdf"}).status_code
        == 404
    )


def test_a_stuck_job_offers_to_start_again_and_does(
    admin_client, authority, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    job = ImportJob.objects.create(
        organisation=authority,
        file_name="stuck.csv",
        file_format="csv",
        data=f"{HEADER}\r\n,pas,Pas,,,,,,,,,,,,\r\n".encode(),
        updated_at=timezone.now() - ImportJob.STUCK_AFTER * 2,
    )
    assert "Start again" in admin_client.get(job_url(job)).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(job_url(job, "import-restart"))

    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportJob.Status.VALID, 1)


def test_a_job_that_is_moving_offers_no_restart(admin_client, authority, django_capture_on_commit_callbacks):
    job = ImportJob.objects.create(organisation=authority, file_name="x.csv", file_format="csv", data=b"id")
    assert "Start again" not in admin_client.get(job_url(job)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(job_url(job, "import-restart"))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING
