"""Creating, editing, moving and deleting contact points in the editor."""

import pytest
from django.test import override_settings
from django.urls import reverse

from adminaccess.models import Event, System
from contactstructure.models import CITIZEN_MAX_BYTES, ContactPoint
from tests.contactstructure.views.helpers import counts, group, last_event, point_form
from tests.factories import OrganisationFactory, make_contact_point, make_system

pytestmark = pytest.mark.django_db

CREATE = reverse("adminaccess:contact-structure-point-create")
EDITOR = reverse("adminaccess:contact-structure")


def edit_url(point):
    return reverse("adminaccess:contact-structure-point-edit", kwargs={"point_id": point.pk})


def test_it_creates_a_contact_point_with_every_field(admin_client, authority, administrator, recipient):
    g = group(authority, "Borgerservice")

    response = admin_client.post(
        CREATE,
        point_form(
            group=g.pk,
            field1_label="Sagsnummer",
            field1_required="on",
            field2_label="Telefon",
            max_size_kb="2048",
            max_attachments="3",
            is_visible="",
            recipient_system=recipient.pk,
            kle_codes="05.04.00, 05.04",
        ),
    )

    point = ContactPoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == edit_url(point)
    assert (point.organisation, point.group, point.contact_point_id, point.label) == (
        authority,
        g,
        "pas",
        "Pas og kørekort",
    )
    assert (point.keywords, point.kle_codes) == (["pas", "kørekort"], ["05.04.00", "05.04"])
    assert (point.field1_label, point.field1_required, point.field2_label, point.field2_required) == (
        "Sagsnummer",
        True,
        "Telefon",
        False,
    )
    assert (point.max_size_bytes, point.max_attachments) == (2048 * 1024, 3)
    assert (point.is_visible, point.is_active, point.recipient_system) == (False, True, recipient)
    event = last_event()
    assert (event.organisation, event.actor_user, event.system) == (authority, administrator.user, recipient)
    assert event.details == {"action": "contact_point_created", "contactPointId": "pas"}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"kle_codes": "05.04.00, 5.4"}, "kle_codes", "5.4 is not a KLE code (NN, NN.NN or NN.NN.NN)."),
        ({"kle_codes": "05.04.00.01"}, "kle_codes", "05.04.00.01 is not a KLE code (NN, NN.NN or NN.NN.NN)."),
        ({"field1_required": "on"}, "field1_label", "A required field needs a label."),
        ({"field2_required": "on"}, "field2_label", "A required field needs a label."),
        ({"max_size_kb": "10241"}, "max_size_kb", "Ensure this value is less than or equal to 10240."),
        ({"max_size_kb": "0"}, "max_size_kb", "Ensure this value is greater than or equal to 1."),
        ({"max_attachments": "11"}, "max_attachments", "Ensure this value is less than or equal to 10."),
        ({"label": ""}, "label", "This field is required."),
        ({"contact_point_id": ""}, "contact_point_id", "This field is required."),
    ],
)
def test_it_refuses_bad_values_with_a_message_on_the_field(admin_client, overrides, field, message):
    before = counts()

    response = admin_client.post(CREATE, point_form(**overrides))

    assert response.status_code == 400
    assert response.context["form"].errors == {field: [message]}
    assert f'aria-describedby="id_{field}-error' in response.content.decode()
    assert counts() == before


def test_it_refuses_an_id_the_organisation_already_uses(admin_client, authority):
    make_contact_point(authority, contact_point_id="pas")
    before = counts()

    response = admin_client.post(CREATE, point_form())

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "contact_point_id": ["Another contact point already has this id."]
    }
    assert counts() == before


def test_another_organisation_may_use_the_same_id(admin_client, authority):
    make_contact_point(OrganisationFactory(), contact_point_id="pas")
    assert admin_client.post(CREATE, point_form()).status_code == 302


@pytest.mark.parametrize("kind", ["foreign", "sender", "deactivated"])
def test_it_offers_and_accepts_only_the_organisations_active_recipient_systems(admin_client, authority, kind):
    if kind == "foreign":
        system, _ = make_system(OrganisationFactory(), kind=System.Kind.RECIPIENT, protocol="REST_PULL")
    elif kind == "sender":
        system, _ = make_system(authority, kind=System.Kind.SENDER)
    else:
        system, _ = make_system(authority, kind=System.Kind.RECIPIENT, protocol="REST_PULL")
        from django.utils import timezone

        System.objects.filter(pk=system.pk).update(
            status=System.Status.DEACTIVATED, deactivated_at=timezone.now()
        )
    before = counts()

    assert system not in admin_client.get(CREATE).context["form"].fields["recipient_system"].queryset
    response = admin_client.post(CREATE, point_form(recipient_system=system.pk))

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["recipient_system"]
    assert counts() == before


def test_a_group_of_another_organisation_cannot_be_chosen(admin_client):
    foreign = group(OrganisationFactory(), "Fremmed")
    before = counts()
    response = admin_client.post(CREATE, point_form(group=foreign.pk))
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["group"]
    assert counts() == before


def test_it_edits_a_point_and_moves_it_to_another_group(admin_client, authority, recipient):
    old, new = group(authority, "Borgerservice"), group(authority, "Børn og unge")
    point = make_contact_point(authority, contact_point_id="pas", label="Pas", group=old)

    response = admin_client.post(
        edit_url(point),
        point_form(group=new.pk, label="Pas og kørekort", is_active="", recipient_system=recipient.pk),
    )

    assert response.status_code == 302
    point.refresh_from_db()
    assert (point.group, point.label, point.is_active, point.recipient_system) == (
        new,
        "Pas og kørekort",
        False,
        recipient,
    )
    event = last_event()
    assert event.details["action"] == "contact_point_changed"
    assert event.details["changes"]["group"] == [old.pk, new.pk]
    assert event.details["changes"]["label"] == ["Pas", "Pas og kørekort"]
    assert event.details["changes"]["recipient_system"] == [None, str(recipient.system_id)]


def test_saving_unchanged_keeps_the_size_limit_to_the_byte_and_logs_nothing(admin_client, authority):
    point = make_contact_point(
        authority,
        contact_point_id="pas",
        label="Pas og kørekort",
        info_text="Spørgsmål om pas.",
        keywords=["pas", "kørekort"],
        kle_codes=["05.04.00"],
        max_size_bytes=1_000_000,
    )
    form = admin_client.get(edit_url(point)).context["form"]
    data = point_form(max_size_kb=str(form.initial["max_size_kb"]))
    before = Event.objects.count()

    response = admin_client.post(edit_url(point), data)

    assert response.status_code == 302
    point.refresh_from_db()
    assert point.max_size_bytes == 1_000_000
    assert Event.objects.count() == before


def test_a_deactivated_system_a_point_already_has_may_stay(admin_client, authority, recipient):
    from django.utils import timezone

    point = make_contact_point(authority, contact_point_id="pas", recipient_system=recipient)
    System.objects.filter(pk=recipient.pk).update(
        status=System.Status.DEACTIVATED, deactivated_at=timezone.now()
    )

    response = admin_client.post(edit_url(point), point_form(label="Nyt navn", recipient_system=recipient.pk))

    assert response.status_code == 302
    point.refresh_from_db()
    assert (point.label, point.recipient_system) == ("Nyt navn", recipient)


def test_it_refuses_an_edit_to_an_id_another_point_has(admin_client, authority):
    make_contact_point(authority, contact_point_id="taken")
    point = make_contact_point(authority, contact_point_id="pas")
    before = counts()

    response = admin_client.post(edit_url(point), point_form(contact_point_id="taken"))

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "contact_point_id": ["Another contact point already has this id."]
    }
    point.refresh_from_db()
    assert point.contact_point_id == "pas"
    assert counts() == before


def test_it_deletes_a_point_with_its_rules(admin_client, authority, recipient):
    point = make_contact_point(authority, contact_point_id="pas")
    point.routing_rules.create(kle_prefix="05", recipient_system=recipient)
    url = reverse("adminaccess:contact-structure-point-delete", kwargs={"point_id": point.pk})

    assert "1 routing rule is deleted with it" in admin_client.get(url).content.decode()
    response = admin_client.post(url)

    assert response.status_code == 302
    assert not ContactPoint.objects.exists()
    assert last_event().details == {
        "action": "contact_point_deleted",
        "contactPointId": "pas",
        "label": "Borgerservice",
    }


@pytest.mark.parametrize("name", ["point-edit", "point-delete", "rule-create"])
def test_a_point_of_another_organisation_is_404(admin_client, name):
    foreign = make_contact_point(OrganisationFactory(), contact_point_id="fremmed", label="Fremmed")
    before = counts()
    url = reverse(f"adminaccess:contact-structure-{name}", kwargs={"point_id": foreign.pk})

    assert admin_client.post(url, point_form(label="Mit") | {"kle_prefix": "05"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.label == "Fremmed"
    assert counts() == before


@override_settings(HUB_BASE_URL="https://post.example.dk")
def test_the_editor_shows_the_tree_with_markers_and_deep_links(admin_client, authority):
    top = group(authority, "Borgerservice")
    child = group(authority, "Pas og kørekort", parent=top, is_visible=False)
    point = make_contact_point(authority, contact_point_id="pas", label="Pas", group=child, is_active=False)
    loose = make_contact_point(authority, contact_point_id="loose", label="Løs")
    make_contact_point(OrganisationFactory(), contact_point_id="fremmed", label="Fremmed punkt")

    response = admin_client.get(EDITOR)

    html = response.content.decode()
    assert response.status_code == 200
    [node] = response.context["tree"]
    assert node["group"] == top
    assert [c["group"] for c in node["children"]] == [child]
    assert node["children"][0]["points"] == [point]
    assert response.context["loose_points"] == [loose]
    assert f"https://post.example.dk/post/write/{point.deep_link_key}/" in html
    assert "Hidden" in html and "Inactive" in html
    assert "Fremmed punkt" not in html


def test_the_edit_page_shows_the_deep_link(admin_client, authority, settings):
    settings.HUB_BASE_URL = "https://post.example.dk/"
    point = make_contact_point(authority)
    html = admin_client.get(edit_url(point)).content.decode()
    assert f"https://post.example.dk/post/write/{point.deep_link_key}/" in html


def test_the_size_limit_of_a_new_point_is_the_citizen_limit_by_default(admin_client):
    admin_client.post(CREATE, point_form())
    assert ContactPoint.objects.get().max_size_bytes == CITIZEN_MAX_BYTES


def test_the_editor_lists_groups_in_their_order_with_move_buttons_only_where_they_move(
    admin_client, authority, recipient
):
    second = group(authority, "Anden", position=1)
    first = group(authority, "Første", position=0)
    point = make_contact_point(authority, group=first)
    point.routing_rules.create(kle_prefix="05", recipient_system=recipient)
    point.routing_rules.create(kle_prefix="06", recipient_system=recipient)

    response = admin_client.get(EDITOR)

    html = response.content.decode()
    assert [n["group"] for n in response.context["tree"]] == [first, second]
    shift = "adminaccess:contact-structure-group-shift"
    first_form = html[html.index(reverse(shift, kwargs={"group_id": first.pk})) :]
    first_form = first_form[: first_form.index("</form>")]
    assert 'value="down"' in first_form and 'value="up"' not in first_form
    second_form = html[html.index(reverse(shift, kwargs={"group_id": second.pk})) :]
    second_form = second_form[: second_form.index("</form>")]
    assert 'value="up"' in second_form and 'value="down"' not in second_form
    assert "2 routing rules" in html
