"""A contact-structure administrator builds a structure, exports it, imports a file and applies it."""

import pytest

from adminaccess.models import System
from contactstructure import importexport
from contactstructure.models import ContactGroup, ContactPoint, ImportJob
from rights.models import Person
from tests.browser.conftest import log_in, shot
from tests.contactstructure.views.helpers import staff_member
from tests.factories import OrganisationFactory, make_system

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def administrator():
    authority = OrganisationFactory(name="Browser Kommune", cvr="29189838")
    make_system(authority, kind=System.Kind.RECIPIENT, protocol="REST_PULL", name="Sag og Dok")
    person = staff_member(authority)
    # The login applies the person's language; the names below are the English msgids.
    Person.objects.filter(pk=person.pk).update(language="en")
    return person


def test_an_administrator_builds_exports_and_imports_a_contact_structure(page, administrator, tmp_path):
    log_in(page, administrator)
    page.goto("/admin/contact-structure/")
    page.get_by_role("link", name="New group").click()
    page.get_by_label("Label").fill("Borgerservice")
    page.get_by_label("Info text").fill("Pas, kørekort og flytning.")
    page.get_by_role("button", name="Create group").click()
    assert "The group “Borgerservice” was created." in page.content()

    page.get_by_role("link", name="Add contact point in Borgerservice").click()
    page.get_by_label("Id", exact=True).fill("pas")
    page.get_by_label("Label").fill("Pas og kørekort")
    page.get_by_label("KLE codes").fill("05.04.00, 5.4")
    page.get_by_label("Search keywords").fill("pas, kørekort")
    page.get_by_label("Free-text field 1").fill("Sagsnummer")
    page.get_by_label("Recipient system").select_option(label="Sag og Dok")
    page.get_by_role("button", name="Create contact point").click()
    # The bad KLE code is refused, tied to its field, and nothing is stored.
    assert (
        page.locator("#id_kle_codes-error")
        .inner_text()
        .endswith("5.4 is not a KLE code (NN, NN.NN or NN.NN.NN).")
    )
    assert page.locator("#id_kle_codes").get_attribute("aria-invalid") == "true"
    shot(page, "contact-structure-point-error")
    assert not ContactPoint.objects.exists()
    page.get_by_label("KLE codes").fill("05.04.00")
    page.get_by_role("button", name="Create contact point").click()
    point = ContactPoint.objects.get()
    assert page.locator("#deep-link").inner_text().endswith(f"/post/write/{point.deep_link_key}/")
    page.get_by_label("KLE code or prefix").fill("05.04")
    page.get_by_label("Send to recipient system").select_option(label="Sag og Dok")
    page.get_by_role("button", name="Add rule").click()
    assert "KLE starts with 05.04" in page.locator("#routing-rule-table").inner_text()
    shot(page, "contact-structure-point-edit")

    page.goto("/admin/contact-structure/")
    assert page.locator(f"#point-{point.pk}").is_visible()
    shot(page, "contact-structure-editor")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export as XLSX").click()
    exported = tmp_path / "export.xlsx"
    download.value.save_as(exported)
    rows = importexport.read_file(exported.read_bytes(), "xlsx")
    assert rows[1][1][:3] == ["Borgerservice", "pas", "Pas og kørekort"]

    # A file with one bad row: the report shows it and nothing is applied.
    header = ",".join(importexport.IMPORT_COLUMNS)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"{header}\nBorgerservice > Flytning,flyt,Flytning,,,,,,,,,,,,\n,skat,Skat,,,1.2,,,,,,,,,\n"
    )
    page.goto("/admin/contact-structure/import/")
    page.get_by_text("The columns of the file").click()
    shot(page, "contact-structure-import")
    page.get_by_label("File (XLSX or CSV)").set_input_files(str(bad))
    page.get_by_role("button", name="Upload and check").click()
    page.locator("#import-report").wait_for()
    assert "1.2 is not a KLE code" in page.locator("#import-report").inner_text()
    assert page.get_by_role("button", name="Apply the file").count() == 0
    shot(page, "contact-structure-import-report")

    good = tmp_path / "good.csv"
    good.write_text(f"{header}\nBorgerservice > Flytning,flyt,Flytning,,,,,,,,,,,,\n")
    page.goto("/admin/contact-structure/import/")
    page.get_by_label("File (XLSX or CSV)").set_input_files(str(good))
    page.get_by_role("button", name="Upload and check").click()
    page.get_by_role("button", name="Apply the file").wait_for()
    shot(page, "contact-structure-import-valid")
    page.get_by_role("button", name="Apply the file").click()
    page.get_by_text("The file was applied.").wait_for()
    shot(page, "contact-structure-import-applied")

    assert ImportJob.objects.filter(status=ImportJob.Status.APPLIED).count() == 1
    assert ContactPoint.objects.get(contact_point_id="flyt").group.parent.label == "Borgerservice"
    assert ContactGroup.objects.count() == 2
    page.goto("/admin/contact-structure/")
    assert page.get_by_text("Flytning").first.is_visible()


def test_the_import_page_shows_progress_and_updates_itself(page, administrator):
    authority = administrator.user.staff_roles.get().organisation
    job = ImportJob.objects.create(
        organisation=authority,
        file_name="stor.xlsx",
        file_format="xlsx",
        status=ImportJob.Status.VALIDATING,
        total_rows=4000,
        processed_rows=1000,
    )
    log_in(page, administrator)
    page.goto(f"/admin/contact-structure/import/{job.pk}/")
    assert page.locator("#import-progress").get_attribute("value") == "25"
    shot(page, "contact-structure-import-progress")

    ImportJob.objects.filter(pk=job.pk).update(processed_rows=3000)
    page.get_by_text("Checked 3000 of 4000 rows").wait_for()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.VALID, processed_rows=4000, created_count=4000
    )

    # htmx swaps the status in place, without a reload.
    page.get_by_role("button", name="Apply the file").wait_for()
    assert page.locator("#import-progress").count() == 0
