"""The contact structure as XLSX/CSV: export, check, apply, and a no-op round trip."""

import csv
import io

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from adminaccess.models import Event, System
from contactstructure import importexport, services
from contactstructure.models import ContactGroup, ContactPoint, ImportJob, RoutingRule
from tests.factories import OrganisationFactory, make_contact_point, make_system, row_counts

pytestmark = pytest.mark.django_db

MODELS = (ContactGroup, ContactPoint, RoutingRule, Event, ImportJob)
HEADER = ",".join(importexport.IMPORT_COLUMNS)


@pytest.fixture
def authority(db):
    return OrganisationFactory(name="Test Kommune", cvr="29189838")


@pytest.fixture
def recipient(authority):
    system, _ = make_system(authority, kind=System.Kind.RECIPIENT, protocol="REST_PULL", name="Sag og Dok")
    return system


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Upload, check and (optionally) apply a file the way the pages do, with eager tasks."""

    def run(organisation, name, data, *, apply=True):
        with django_capture_on_commit_callbacks(execute=True):
            job = services.import_job_create(organisation=organisation, file_name=name, data=data)
        job.refresh_from_db()
        if apply and job.status == ImportJob.Status.VALID:
            with django_capture_on_commit_callbacks(execute=True):
                assert services.import_job_confirm(job=job)
            job.refresh_from_db()
        return job

    return run


def csv_file(*rows: str) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode()


def snapshot(organisation) -> dict:
    groups = sorted(
        ContactGroup.objects.filter(organisation=organisation).values_list(
            "pk", "parent_id", "label", "info_text", "position", "is_visible"
        )
    )
    points = sorted(
        ContactPoint.objects.filter(organisation=organisation).values_list(
            "pk",
            "group_id",
            "contact_point_id",
            "label",
            "info_text",
            "keywords",
            "kle_codes",
            "field1_label",
            "field1_required",
            "field2_label",
            "field2_required",
            "max_size_bytes",
            "max_attachments",
            "is_visible",
            "is_active",
            "recipient_system_id",
            "deep_link_key",
        )
    )
    return {"groups": groups, "points": points}


def build_structure(authority, recipient):
    twin_a, _ = make_system(authority, kind=System.Kind.RECIPIENT, protocol="REST_PULL", name="Tvilling")
    make_system(authority, kind=System.Kind.RECIPIENT, protocol="REST_PULL", name="Tvilling")
    top = ContactGroup.objects.create(organisation=authority, label="Borgerservice", info_text="Pas m.m.")
    child = ContactGroup.objects.create(
        organisation=authority, parent=top, label="Pas og kørekort", position=3
    )
    ContactGroup.objects.create(organisation=authority, label="Tom gruppe", is_visible=False)
    make_contact_point(
        authority,
        group=child,
        contact_point_id="pas",
        label="Pas",
        info_text='Linje 1\nLinje 2, med komma; og semikolon "citat"',
        keywords=["pas", "kørekort", "-minus"],
        kle_codes=["05.04.00", "05.04"],
        field1_label="Sagsnummer",
        field1_required=True,
        field2_label="=Telefon",
        max_size_bytes=1_234_567,
        max_attachments=0,
        recipient_system=recipient,
    )
    make_contact_point(
        authority,
        group=top,
        contact_point_id="@formel",
        label='=HYPERLINK("https://evil.example")',
        info_text="'citeret",
        is_visible=False,
        is_active=False,
        recipient_system=twin_a,
    )
    make_contact_point(authority, contact_point_id="123", label="Uden gruppe")


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_an_export_imported_again_changes_nothing(authority, recipient, run, file_format):
    build_structure(authority, recipient)
    before, counts = snapshot(authority), row_counts(ContactGroup, ContactPoint, RoutingRule, Event)
    data = (
        importexport.export_xlsx(authority) if file_format == "xlsx" else importexport.export_csv(authority)
    )

    job = run(authority, f"export.{file_format}", data)

    assert job.errors == []
    assert (job.status, job.total_rows, job.created_count, job.updated_count, job.unchanged_count) == (
        ImportJob.Status.APPLIED,
        3,
        0,
        0,
        3,
    )
    assert job.groups_created_count == 0
    assert snapshot(authority) == before
    assert row_counts(ContactGroup, ContactPoint, RoutingRule, Event) == counts


def test_an_ambiguous_system_name_is_exported_as_the_system_id(authority, recipient):
    build_structure(authority, recipient)
    rows = {row[1]: row for row in importexport.export_rows(authority)[1:]}
    twin = ContactPoint.objects.get(contact_point_id="@formel").recipient_system
    assert rows["@formel"][14] == str(twin.system_id)
    assert rows["pas"][14] == "Sag og Dok"
    assert rows["pas"][0] == "Borgerservice > Pas og kørekort"


def test_it_creates_groups_from_paths_and_contact_points_from_rows(authority, recipient, run):
    existing = ContactGroup.objects.create(organisation=authority, label="Borgerservice", position=7)
    data = csv_file(
        'Borgerservice > Pas og kørekort,pas,Pas,Om pas,"pas, kørekort",05.04.00,Sagsnummer,yes,,no,'
        "2000000,3,yes,no,Sag og Dok",
        "Børn og unge > Dagtilbud > Vuggestue,vug,Vuggestue,,,,,,,,,,,,",
    )

    job = run(authority, "ny.csv", data)

    assert (job.status, job.created_count, job.groups_created_count) == (ImportJob.Status.APPLIED, 2, 4)
    pas = ContactPoint.objects.get(contact_point_id="pas")
    assert (pas.group.label, pas.group.parent) == ("Pas og kørekort", existing)
    assert (pas.label, pas.info_text, pas.keywords, pas.kle_codes) == (
        "Pas",
        "Om pas",
        ["pas", "kørekort"],
        ["05.04.00"],
    )
    assert (pas.field1_label, pas.field1_required, pas.max_size_bytes, pas.max_attachments) == (
        "Sagsnummer",
        True,
        2000000,
        3,
    )
    assert (pas.is_visible, pas.is_active, pas.recipient_system) == (True, False, recipient)
    vug = ContactPoint.objects.get(contact_point_id="vug")
    assert [vug.group.label, vug.group.parent.label, vug.group.parent.parent.label] == [
        "Vuggestue",
        "Dagtilbud",
        "Børn og unge",
    ]
    assert (vug.max_size_bytes, vug.max_attachments, vug.is_visible, vug.recipient_system) == (
        10485760,
        10,
        True,
        None,
    )
    event = Event.objects.get(tag=Event.Tag.CONTACT_STRUCTURE_CHANGED)
    assert event.details == {
        "action": "contact_structure_imported",
        "importJobId": job.pk,
        "fileName": "ny.csv",
        "created": ["pas", "vug"],
        "updated": [],
        "groupsCreated": [
            "Børn og unge",
            "Borgerservice > Pas og kørekort",
            "Børn og unge > Dagtilbud",
            "Børn og unge > Dagtilbud > Vuggestue",
        ],
    }


def test_it_merges_updating_matching_ids_and_leaving_the_rest(authority, run):
    kept = make_contact_point(authority, contact_point_id="kept", label="Bliver")
    changed = make_contact_point(authority, contact_point_id="pas", label="Gammelt navn")

    job = run(authority, "merge.csv", csv_file(",pas,Nyt navn,,,,,,,,,,,,"))

    assert (job.status, job.created_count, job.updated_count) == (ImportJob.Status.APPLIED, 0, 1)
    changed.refresh_from_db()
    kept.refresh_from_db()
    assert (changed.label, kept.label) == ("Nyt navn", "Bliver")
    assert changed.deep_link_key == ContactPoint.objects.get(pk=changed.pk).deep_link_key


def test_one_bad_row_applies_nothing_and_is_reported_by_row_and_column(authority, run):
    make_contact_point(authority, contact_point_id="pas", label="Pas")
    before = snapshot(authority)
    counts = row_counts(ContactGroup, ContactPoint, Event)
    data = csv_file(
        "Ny gruppe,ny,Ny,,,,,,,,,,,,",
        ",pas,Pas ændret,,,,,,,,,,,,",
        "Ny gruppe,bad,Dårlig,,,5.4,,yes,,,20000000,,maybe,,Findes ikke",
    )

    job = run(authority, "bad.csv", data)

    assert job.status == ImportJob.Status.INVALID
    assert job.errors == [
        {"row": 4, "column": "kle_codes", "message": "5.4 is not a KLE code (NN, NN.NN or NN.NN.NN)."},
        {"row": 4, "column": "field1_label", "message": "A required field needs a label."},
        {"row": 4, "column": "max_size_bytes", "message": "The size limit must be between 1 byte and 10 MB."},
        {"row": 4, "column": "visible", "message": "Write yes or no."},
        {
            "row": 4,
            "column": "recipient_system",
            "message": "There is no system “Findes ikke” in this organisation.",
        },
    ]
    assert snapshot(authority) == before
    assert row_counts(ContactGroup, ContactPoint, Event) == counts
    assert services.import_job_confirm(job=job) is False


def test_it_reports_duplicate_ids_and_bad_group_paths(authority, run):
    data = csv_file(",a,A,,,,,,,,,,,,", ",a,B,,,,,,,,,,,,", "X >  > Y,c,C,,,,,,,,,,,,", ",,D,,,,,,,,,,,,")
    job = run(authority, "dup.csv", data)
    assert job.errors == [
        {"row": 3, "column": "id", "message": "Row 2 already has this id."},
        {"row": 4, "column": "group", "message": "A group needs a label."},
        {"row": 5, "column": "id", "message": "A contact point needs an id."},
    ]


def test_it_reports_missing_and_unknown_columns(authority, run):
    job = run(authority, "cols.csv", b"id,label,colour\r\na,A,red\r\n")
    assert job.status == ImportJob.Status.INVALID
    assert job.errors[0] == {
        "row": 1,
        "column": "colour",
        "message": "Unknown column. The columns are: " + ", ".join(importexport.COLUMNS) + ".",
    }
    assert {e["column"] for e in job.errors[1:]} == set(importexport.IMPORT_COLUMNS) - {"id", "label"}


def test_a_recipient_system_is_found_by_system_id_and_must_be_the_organisations_active_one(
    authority, recipient, run
):
    make_system(authority, kind=System.Kind.SENDER, name="Afsender")
    foreign, _ = make_system(
        OrganisationFactory(), kind=System.Kind.RECIPIENT, protocol="REST_PULL", name="Fremmed"
    )
    off, _ = make_system(authority, kind=System.Kind.RECIPIENT, protocol="REST_PULL", name="Slukket")
    System.objects.filter(pk=off.pk).update(status=System.Status.DEACTIVATED, deactivated_at=timezone.now())

    job = run(
        authority,
        "systems.csv",
        csv_file(
            f",a,A,,,,,,,,,,,,{str(recipient.system_id).upper()}",
            ",b,B,,,,,,,,,,,,Afsender",
            f",c,C,,,,,,,,,,,,{foreign.system_id}",
            ",d,D,,,,,,,,,,,,Slukket",
        ),
    )

    assert [(e["row"], e["message"]) for e in job.errors] == [
        (3, "This is a sender system; mail can only go to a recipient system."),
        (4, f"There is no system “{foreign.system_id}” in this organisation."),
        (5, "This recipient system is deactivated."),
    ]


def test_a_shared_recipient_system_name_must_be_given_as_its_id(authority, recipient, run):
    make_system(authority, kind=System.Kind.RECIPIENT, protocol="REST_PULL", name="Sag og Dok")
    job = run(authority, "twins.csv", csv_file(",a,A,,,,,,,,,,,,sag og dok"))
    assert job.errors == [
        {
            "row": 2,
            "column": "recipient_system",
            "message": "Several recipient systems are called “sag og dok”; use the system id.",
        }
    ]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("structure.pdf", b"%PDF-1.4", "Only XLSX and CSV files can be imported."),
        ("structure.xlsx", b"id,label\r\n", "The file is called .xlsx but is not an XLSX workbook."),
        ("structure.csv", b"PK\x03\x04rest", "The file is called .csv but is not a text file."),
        ("structure.csv", b"", "The file is empty."),
        ("big.csv", b"x" * (5 * 1024 * 1024 + 1), "The file is 5.0 MB; at most 5 MB can be imported."),
    ],
)
def test_it_refuses_files_that_are_not_xlsx_or_csv_or_too_big(authority, name, data, message):
    before = row_counts(*MODELS)
    with pytest.raises(ValidationError) as refused:
        services.import_job_create(organisation=authority, file_name=name, data=data)
    assert refused.value.message_dict == {"file": [message]}
    assert row_counts(*MODELS) == before


def test_it_refuses_a_file_with_too_many_rows(authority, run, monkeypatch):
    monkeypatch.setattr(importexport, "MAX_ROWS", 3)
    job = run(authority, "many.csv", csv_file(*[f",p{i},P,,,,,,,,,,,," for i in range(4)]))
    assert job.status == ImportJob.Status.INVALID
    assert job.errors == [
        {
            "row": 0,
            "column": "",
            "message": "The file has more than 3 rows; import at most 3 contact points at a time.",
        }
    ]
    assert not ContactPoint.objects.exists()


def test_a_broken_workbook_is_reported(authority, run):
    job = run(authority, "broken.xlsx", b"PK\x03\x04" + b"\x00" * 100)
    assert job.errors == [{"row": 0, "column": "", "message": "The file is not a readable XLSX workbook."}]


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_cells_that_a_spreadsheet_would_run_as_formulas_are_escaped(authority, recipient, file_format):
    build_structure(authority, recipient)

    if file_format == "csv":
        text = importexport.export_csv(authority).decode("utf-8-sig")
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        types = None
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(importexport.export_xlsx(authority))).active
        cells = [cell.value for row in sheet.iter_rows() for cell in row if cell.value is not None]
        types = {cell.data_type for row in sheet.iter_rows() for cell in row}

    assert '\'=HYPERLINK("https://evil.example")' in cells
    assert "'@formel" in cells
    assert "'=Telefon" in cells
    assert "''citeret" in cells
    dangerous = [c for c in cells if isinstance(c, str) and c.startswith(("=", "+", "-", "@"))]
    assert dangerous == []
    if types is not None:
        assert "f" not in types  # no cell is a formula


def test_a_danish_excel_csv_with_semicolons_in_windows_1252_is_read(authority, run):
    header = ";".join(importexport.IMPORT_COLUMNS)
    data = f"{header}\r\nBørn og unge;pas;Pladsanvisning;;;;;;;;;;ja;nej;\r\n".encode("cp1252")
    job = run(authority, "excel.csv", data)
    assert job.status == ImportJob.Status.APPLIED
    point = ContactPoint.objects.get()
    assert (point.label, point.group.label, point.is_visible, point.is_active) == (
        "Pladsanvisning",
        "Børn og unge",
        True,
        False,
    )


def test_applying_checks_the_file_again_and_applies_nothing_if_it_no_longer_fits(
    authority, recipient, run, django_capture_on_commit_callbacks
):
    job = run(authority, "late.csv", csv_file(",pas,Pas,,,,,,,,,,,,Sag og Dok"), apply=False)
    assert job.status == ImportJob.Status.VALID
    System.objects.filter(pk=recipient.pk).update(
        status=System.Status.DEACTIVATED, deactivated_at=timezone.now()
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.import_job_confirm(job=job)
    job.refresh_from_db()

    assert job.status == ImportJob.Status.INVALID
    assert job.errors == [
        {"row": 2, "column": "recipient_system", "message": "This recipient system is deactivated."}
    ]
    assert not ContactPoint.objects.exists()


def test_confirming_twice_applies_once(authority, run, django_capture_on_commit_callbacks):
    job = run(authority, "twice.csv", csv_file(",pas,Pas,,,,,,,,,,,,"))
    assert job.status == ImportJob.Status.APPLIED
    with django_capture_on_commit_callbacks(execute=True):
        assert services.import_job_confirm(job=job) is False
    services.import_job_apply(job_id=job.pk)
    assert ContactPoint.objects.count() == 1
    assert Event.objects.filter(tag=Event.Tag.CONTACT_STRUCTURE_CHANGED).count() == 1


def test_a_company_cannot_import_a_contact_structure(run):
    from tests.factories import CompanyFactory

    job = run(CompanyFactory(), "firma.csv", csv_file(",pas,Pas,,,,,,,,,,,,"))
    assert job.errors == [{"row": 0, "column": "", "message": "Only authorities have a contact structure."}]


def test_a_job_no_task_works_on_can_be_started_again(authority, django_capture_on_commit_callbacks):
    # The broker was down when the file was uploaded: the job waits, and nothing else happened.
    job = services.import_job_create(
        organisation=authority, file_name="late.csv", data=csv_file(",pas,Pas,,,,,,,,,,,,")
    )
    assert job.status == ImportJob.Status.PENDING
    assert services.import_job_restart(job=job) is False  # not stuck yet: leave it to its task

    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - ImportJob.STUCK_AFTER * 2)
    job.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.import_job_restart(job=job) is True
    job.refresh_from_db()

    assert job.status == ImportJob.Status.VALID


def test_a_late_duplicate_check_does_not_undo_a_confirmed_job(authority, run):
    job = run(authority, "dup.csv", csv_file(",pas,Pas,,,,,,,,,,,,"), apply=False)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.APPLYING)
    services.import_job_validate(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.APPLYING


def test_the_report_is_written_in_the_uploaders_language(authority, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.import_job_create(
            organisation=authority, file_name="x.csv", data=b"id\r\na\r\n", language="en"
        )
    job.refresh_from_db()
    assert job.language == "en"
    assert job.errors[0]["message"] == "This column is missing."


def test_a_very_bad_file_keeps_the_first_errors_and_counts_them_all(authority, run, monkeypatch):
    monkeypatch.setattr(services, "MAX_REPORTED_ERRORS", 2)
    job = run(authority, "bad.csv", csv_file(*[f",p{i},P,,,9,,,,,,,,," for i in range(3)]))
    assert job.error_count == 3
    assert job.errors[2] == {"row": 0, "column": "", "message": "…and 1 more errors."}
    assert len(job.errors) == 3


def test_a_workbook_with_endless_empty_rows_is_refused_not_cut_short(authority, run, monkeypatch):
    monkeypatch.setattr(importexport, "MAX_ROWS", 2)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(importexport.IMPORT_COLUMNS))
    sheet.cell(row=30, column=2, value="late")  # far below many empty rows
    sheet.cell(row=30, column=3, value="Sent")
    out = io.BytesIO()
    workbook.save(out)

    job = run(authority, "long.xlsx", out.getvalue())

    assert job.errors == [
        {
            "row": 0,
            "column": "",
            "message": "The file has more than 2 rows; import at most 2 contact points at a time.",
        }
    ]


def test_empty_rows_between_rows_are_skipped_and_row_numbers_kept(authority, run):
    job = run(authority, "gaps.csv", csv_file(",a,A,,,,,,,,,,,,", ",,,,,,,,,,,,,,", ",b,B,,,9,,,,,,,,,"))
    assert job.errors == [
        {"row": 4, "column": "kle_codes", "message": "9 is not a KLE code (NN, NN.NN or NN.NN.NN)."}
    ]
