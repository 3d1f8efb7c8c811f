import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contactstructure.models import ContactGroup, RoutingRule
from mailbox.models import Delivery, Folder, MailboxItem, Message
from memo import parse, validate
from rights.models import MailboxAccess
from tests.factories import CompanyFactory, PersonFactory, make_access, make_contact_point
from tests.mailbox.writing.conftest import act_in
from tests.mailbox.writing.helpers import recipient_system, writing_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def parking(town):
    return make_contact_point(
        town,
        contact_point_id="parkering",
        label="Parkering og bøder",
        keywords=["P-afgift", "Bøde"],
        kle_codes=["05.04.00"],
        field1_label="Registreringsnummer",
        field1_required=True,
        field2_label="Afgiftsnummer",
    )


def url(point) -> str:
    return f"/post/write/{point.deep_link_key}/"


def post_letter(client, point, capture, **data):
    data.setdefault("title", "Klage over afgift")
    data.setdefault("text", "Jeg holdt lovligt.")
    data.setdefault("field1", "AB 12 345")
    data.setdefault("action", "send")
    with capture(execute=True):
        return client.post(url(point), data)


def memo_of(message: Message):
    with message.memo_file.open("rb") as f:
        data = f.read()
    report = validate(data)
    assert report.ok, report.errors
    return parse(data)


# --- Finding the contact point --------------------------------------------------------------


def test_suggestions_find_a_contact_point_by_its_label(anna_client, parking):
    response = anna_client.get("/post/write/suggestions/", {"q": "parkering"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    body = response.content.decode()
    assert url(parking) in body
    assert "<html" not in body


def test_suggestions_find_a_contact_point_by_a_keyword_whatever_the_case(anna_client, parking):
    response = anna_client.get("/post/write/suggestions/", {"q": "BØDE"})

    assert url(parking) in response.content.decode()


def test_suggestions_leave_out_what_does_not_match(anna_client, parking, town):
    make_contact_point(town, label="Daginstitutioner", keywords=["vuggestue"])

    response = anna_client.get("/post/write/suggestions/", {"q": "vuggestue"})

    assert url(parking) not in response.content.decode()
    assert "Daginstitutioner" in response.content.decode()


def test_the_plain_search_works_without_javascript(anna_client, parking):
    response = anna_client.get("/post/write/", {"q": "p-afgift"})

    assert response.status_code == 200
    assert url(parking) in response.content.decode()
    assert 'hx-get="/post/write/suggestions/"' in response.content.decode()


def test_search_leaves_out_inactive_invisible_and_hidden_group_points(anna_client, town):
    hidden_group = ContactGroup.objects.create(organisation=town, label="Intern", is_visible=False)
    inactive = make_contact_point(town, label="Skat inaktiv", is_active=False)
    invisible = make_contact_point(town, label="Skat usynlig", is_visible=False)
    in_hidden = make_contact_point(town, label="Skat skjult gruppe", group=hidden_group)
    shown = make_contact_point(town, label="Skat synlig")

    body = anna_client.get("/post/write/", {"q": "skat"}).content.decode()

    assert url(shown) in body
    for point in (inactive, invisible, in_hidden):
        assert url(point) not in body


def test_browsing_shows_the_tree_with_info_texts(anna_client, town):
    family = ContactGroup.objects.create(organisation=town, label="Familie", info_text="Børn og unge")
    school = ContactGroup.objects.create(organisation=town, parent=family, label="Skole")
    ContactGroup.objects.create(organisation=town, label="Tom gruppe")
    point = make_contact_point(town, label="Skoleindskrivning", group=school, info_text="Indskriv dit barn")

    response = anna_client.get(f"/post/write/authority/{town.cvr}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "Familie" in body and "Børn og unge" in body and "Skole" in body
    assert url(point) in body and "Indskriv dit barn" in body
    assert "Tom gruppe" not in body


def test_the_write_page_lists_authorities_to_browse(anna_client, town, parking):
    body = anna_client.get("/post/write/").content.decode()

    assert f"/post/write/authority/{town.cvr}/" in body


def test_companies_are_not_authorities_to_browse(anna_client):
    company = CompanyFactory()

    assert anna_client.get(f"/post/write/authority/{company.cvr}/").status_code == 404


# --- The form (deep link) -------------------------------------------------------------------


def test_the_deep_link_opens_the_form_with_the_contact_points_fields(anna_client, parking):
    response = anna_client.get(url(parking))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Registreringsnummer" in body and "Afgiftsnummer" in body
    assert 'name="csrfmiddlewaretoken"' in body


def test_the_deep_link_asks_for_a_login_first(client, parking):
    response = client.get(url(parking))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert str(parking.deep_link_key) in response["Location"]


@pytest.mark.parametrize("change", [{"is_active": False}, {"is_visible": False}])
def test_an_inactive_or_invisible_point_is_refused(
    anna_client, parking, change, django_capture_on_commit_callbacks
):
    type(parking).objects.filter(pk=parking.pk).update(**change)
    before = writing_rows()

    assert anna_client.get(url(parking)).status_code == 404
    assert post_letter(anna_client, parking, django_capture_on_commit_callbacks).status_code == 404
    assert writing_rows() == before


def test_it_sends_a_valid_memo_to_the_contact_points_system(
    anna_client, anna, town, parking, default_system, django_capture_on_commit_callbacks
):
    own = recipient_system(town, name="Parkering")
    type(parking).objects.filter(pk=parking.pk).update(recipient_system=own)

    response = post_letter(anna_client, parking, django_capture_on_commit_callbacks, field2="A-99")

    assert response.status_code == 302
    message = Message.objects.get(sender_person=anna)
    memo = memo_of(message)
    assert memo.header.label == "Klage over afgift"
    assert memo.header.sender.sender_id == anna.cpr
    assert memo.header.recipient.recipient_id == town.cvr
    assert memo.header.recipient.contact_point.contact_point_id == "parkering"
    assert [(i.label, i.value) for i in memo.header.recipient.contact_point.contact_info] == [
        ("Registreringsnummer", "AB 12 345"),
        ("Afgiftsnummer", "A-99"),
    ]
    assert memo.header.content_data.kle_data.subject_key == "05.04.00"
    assert message.recipient_system == own and message.contact_point == parking
    assert Delivery.objects.get(message=message).recipient_system == own
    item = MailboxItem.objects.get(mailbox=anna.mailbox, message=message)
    assert item.folder.kind == Folder.Kind.SENT
    assert item.party == town.name  # Sent is sorted and shown by whom the letter is to


def test_a_routing_rule_on_the_kle_code_wins(
    anna_client, anna, town, parking, default_system, django_capture_on_commit_callbacks
):
    fines = recipient_system(town, name="Bøder")
    RoutingRule.objects.create(contact_point=parking, kle_prefix="05.04", recipient_system=fines)

    post_letter(anna_client, parking, django_capture_on_commit_callbacks)

    assert Message.objects.get(sender_person=anna).recipient_system == fines


def test_without_a_system_of_its_own_the_point_uses_the_default(
    anna_client, anna, parking, default_system, django_capture_on_commit_callbacks
):
    post_letter(anna_client, parking, django_capture_on_commit_callbacks)

    message = Message.objects.get(sender_person=anna)
    assert message.recipient_system == default_system
    assert Delivery.objects.get(message=message).state == Delivery.State.READY_FOR_FETCH


def test_without_any_active_recipient_system_it_says_so_and_sends_nothing(
    anna_client, parking, django_capture_on_commit_callbacks
):
    before = writing_rows()

    response = post_letter(anna_client, parking, django_capture_on_commit_callbacks)

    assert response.status_code == 400
    assert "has no active recipient system" in response.content.decode()
    assert writing_rows() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"field1": ""}, "field1"),
        ({"title": ""}, "title"),
        ({"text": ""}, "text"),
        ({"title": "x" * 257}, "title"),
    ],
)
def test_it_enforces_required_fields(
    anna_client, parking, default_system, data, field, django_capture_on_commit_callbacks
):
    before = writing_rows()

    response = post_letter(anna_client, parking, django_capture_on_commit_callbacks, **data)

    assert response.status_code == 400
    assert f'id="id_{field}-error1"' in response.content.decode()
    assert writing_rows() == before


def test_an_optional_field_may_be_left_empty(
    anna_client, anna, parking, default_system, django_capture_on_commit_callbacks
):
    assert post_letter(anna_client, parking, django_capture_on_commit_callbacks, field2="").status_code == 302

    memo = memo_of(Message.objects.get(sender_person=anna))
    assert len(memo.header.recipient.contact_point.contact_info) == 1


def test_it_enforces_the_contact_points_own_limits(
    anna_client, parking, default_system, django_capture_on_commit_callbacks
):
    type(parking).objects.filter(pk=parking.pk).update(max_size_bytes=1000, max_attachments=1)
    two = [SimpleUploadedFile(f"{n}.pdf", b"%PDF-1.4", content_type="application/pdf") for n in range(2)]
    big = [SimpleUploadedFile("big.pdf", b"%PDF" + b"0" * 1000, content_type="application/pdf")]
    before = writing_rows()

    too_many = post_letter(anna_client, parking, django_capture_on_commit_callbacks, attachments=two)
    too_big = post_letter(anna_client, parking, django_capture_on_commit_callbacks, attachments=big)

    assert too_many.status_code == 400 and "at most 1 files; you attached 2" in too_many.content.decode()
    assert too_big.status_code == 400 and 'id="id_attachments-error1"' in too_big.content.decode()
    assert writing_rows() == before


def test_a_company_cannot_write_to_a_company(client, django_capture_on_commit_callbacks):
    company, other = CompanyFactory(), CompanyFactory()
    # A contact point on a company can only exist against the rules; it is never writable.
    point = make_contact_point(other, label="Firmapost")
    employee = PersonFactory()
    make_access(
        mailbox=company.mailbox,
        grantee=employee,
        level=MailboxAccess.Level.READ_WRITE,
        kind=MailboxAccess.Kind.EMPLOYEE,
    )
    client.force_login(employee.user)
    act_in(client, company.mailbox)
    before = writing_rows()

    assert client.get("/post/write/", {"q": "firmapost"}).content.decode().count(url(point)) == 0
    assert post_letter(client, point, django_capture_on_commit_callbacks).status_code == 404
    assert writing_rows() == before


def test_a_company_writes_to_an_authority_as_itself(
    client, town, parking, default_system, django_capture_on_commit_callbacks
):
    company = CompanyFactory()
    employee = PersonFactory()
    make_access(
        mailbox=company.mailbox,
        grantee=employee,
        level=MailboxAccess.Level.READ_WRITE,
        kind=MailboxAccess.Kind.EMPLOYEE,
    )
    client.force_login(employee.user)
    act_in(client, company.mailbox)

    assert post_letter(client, parking, django_capture_on_commit_callbacks).status_code == 302

    message = Message.objects.get(sender_organisation=company)
    memo = memo_of(message)
    assert (memo.header.sender.sender_id, memo.header.sender.id_type) == (company.cvr, "CVR")
    assert memo.header.sender.representative.representative_id == employee.cpr
    assert MailboxItem.objects.get(message=message).mailbox == company.mailbox


def test_a_read_only_representative_cannot_open_the_form(
    client, anna, parking, django_capture_on_commit_callbacks
):
    reader = PersonFactory()
    make_access(mailbox=anna.mailbox, grantee=reader, level=MailboxAccess.Level.READ)
    client.force_login(reader.user)
    act_in(client, anna.mailbox)
    before = writing_rows()

    assert client.get("/post/write/").status_code == 403
    assert client.get(url(parking)).status_code == 403
    assert post_letter(client, parking, django_capture_on_commit_callbacks).status_code == 403
    assert writing_rows() == before


def test_forms_need_the_csrf_token(anna, parking, default_system):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(anna.user)
    before = writing_rows()

    response = strict.post(url(parking), {"title": "T", "text": "x", "field1": "y", "action": "send"})

    assert response.status_code == 403
    assert writing_rows() == before


def test_the_form_warns_before_writing_when_nothing_can_receive_it(anna_client, parking):
    body = anna_client.get(url(parking)).content.decode()

    assert "cannot receive messages right now" in body


def test_the_form_does_not_warn_when_the_point_has_an_active_system(anna_client, town, parking):
    type(parking).objects.filter(pk=parking.pk).update(recipient_system=recipient_system(town))

    assert "cannot receive messages right now" not in anna_client.get(url(parking)).content.decode()


def test_control_characters_in_the_title_and_fields_are_dropped_not_fatal(
    anna_client, anna, parking, default_system, django_capture_on_commit_callbacks
):
    response = post_letter(
        anna_client,
        parking,
        django_capture_on_commit_callbacks,
        title="Klage\x00 over\nafgift\x1b",
        field1="AB\x0c1",
    )

    assert response.status_code == 302
    memo = memo_of(Message.objects.get(sender_person=anna))
    assert memo.header.label == "Klage over afgift"
    assert memo.header.recipient.contact_point.contact_info[0].value == "AB1"


def test_a_field_error_is_tied_to_its_input(
    anna_client, parking, default_system, django_capture_on_commit_callbacks
):
    response = post_letter(anna_client, parking, django_capture_on_commit_callbacks, field1="")

    body = response.content.decode()
    assert 'aria-describedby="id_field1-error1"' in body
    assert 'href="#id_field1"' in body
