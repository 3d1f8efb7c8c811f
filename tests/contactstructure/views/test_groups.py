"""Creating, editing, moving and deleting contact groups in the editor."""

import pytest
from django.urls import reverse

from adminaccess.models import Event
from contactstructure.models import ContactGroup
from tests.contactstructure.views.helpers import counts, group, last_event
from tests.factories import OrganisationFactory, make_contact_point

pytestmark = pytest.mark.django_db

CREATE = reverse("adminaccess:contact-structure-group-create")


def edit_url(g):
    return reverse("adminaccess:contact-structure-group-edit", kwargs={"group_id": g.pk})


def group_post(**overrides):
    data = {"label": "Borgerservice", "parent": "", "info_text": "", "position": "", "is_visible": "on"}
    data.update(overrides)
    return data


def test_it_creates_a_top_level_group_and_logs_it(admin_client, authority, administrator):
    response = admin_client.post(CREATE, group_post(info_text="Pas og kørekort."))

    assert response.status_code == 302
    created = ContactGroup.objects.get()
    assert (created.organisation, created.parent, created.label, created.info_text, created.is_visible) == (
        authority,
        None,
        "Borgerservice",
        "Pas og kørekort.",
        True,
    )
    event = last_event()
    assert (event.organisation, event.actor_user) == (authority, administrator.user)
    assert event.details == {
        "action": "contact_group_created",
        "groupId": created.pk,
        "label": "Borgerservice",
        "parentId": None,
    }


def test_a_new_group_goes_last_among_its_siblings(admin_client, authority):
    parent = group(authority, "Borger")
    group(authority, "A", parent=parent, position=4)

    admin_client.post(CREATE, group_post(label="B", parent=parent.pk))

    assert ContactGroup.objects.get(label="B").parent == parent
    assert ContactGroup.objects.get(label="B").position == 5


def test_the_create_page_preselects_the_parent_from_the_link(admin_client, authority):
    parent = group(authority, "Borger")
    response = admin_client.get(CREATE, {"parent": parent.pk})
    assert response.context["form"].initial["parent"] == parent.pk


def test_it_refuses_a_sibling_with_the_same_label_and_changes_nothing(admin_client, authority):
    group(authority, "Borgerservice")
    before = counts()

    response = admin_client.post(CREATE, group_post())

    assert response.status_code == 400
    assert response.context["form"].errors == {"label": ["There is already a group with this label here."]}
    assert counts() == before


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("", "This field is required."),
        ("Pas > Kørekort", "A group label cannot contain “>”; it separates groups in a path."),
        ("x" * 201, "Ensure this value has at most 200 characters (it has 201)."),
    ],
)
def test_it_refuses_a_bad_label(admin_client, label, message):
    before = counts()
    response = admin_client.post(CREATE, group_post(label=label))
    assert response.status_code == 400
    assert response.context["form"].errors["label"] == [message]
    assert counts() == before


def test_it_refuses_a_parent_of_another_organisation(admin_client):
    foreign = group(OrganisationFactory(), "Fremmed")
    before = counts()

    response = admin_client.post(CREATE, group_post(parent=foreign.pk))

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["parent"]
    assert counts() == before


def test_it_edits_and_moves_a_group_under_another_parent(admin_client, authority):
    citizens, moving = group(authority, "Borger"), group(authority, "Familie")

    response = admin_client.post(
        edit_url(moving),
        group_post(
            label="Familie og børn", parent=citizens.pk, position="2", info_text="Ny tekst", is_visible=""
        ),
    )

    assert response.status_code == 302
    moving.refresh_from_db()
    assert (moving.label, moving.parent, moving.position, moving.info_text, moving.is_visible) == (
        "Familie og børn",
        citizens,
        2,
        "Ny tekst",
        False,
    )
    assert last_event().details["changes"] == {
        "label": ["Familie", "Familie og børn"],
        "parent": [None, citizens.pk],
        "info_text": ["", "Ny tekst"],
        "is_visible": [True, False],
        "position": [0, 2],
    }


def test_saving_a_group_unchanged_logs_nothing(admin_client, authority):
    g = group(authority, "Borger", info_text="Tekst")
    before = Event.objects.count()
    response = admin_client.post(edit_url(g), group_post(label="Borger", info_text="Tekst", position="0"))
    assert response.status_code == 302
    assert Event.objects.count() == before


def test_it_refuses_moving_a_group_into_its_own_subgroup(admin_client, authority):
    top = group(authority, "Borger")
    child = group(authority, "Familie", parent=top)
    grandchild = group(authority, "Børn", parent=child)
    before = counts()

    for target in (top, child, grandchild):
        response = admin_client.post(
            edit_url(top), group_post(label="Borger", parent=target.pk, position="0")
        )
        assert response.status_code == 400
        assert list(response.context["form"].errors) == ["parent"]
    top.refresh_from_db()
    assert top.parent is None
    assert counts() == before


def test_the_parent_choices_leave_out_the_group_and_its_subgroups(admin_client, authority):
    top = group(authority, "Borger")
    child = group(authority, "Familie", parent=top)
    other = group(authority, "Virksomhed")
    response = admin_client.get(edit_url(top))
    choices = [value for value, _ in response.context["form"].fields["parent"].choices]
    assert choices == ["", other.pk]
    assert child.pk not in choices


def test_it_moves_a_group_up_and_down_among_its_siblings(admin_client, authority):
    a, _b, c = (group(authority, label, position=i) for i, label in enumerate("ABC"))
    shift = reverse("adminaccess:contact-structure-group-shift", kwargs={"group_id": c.pk})

    assert admin_client.post(shift, {"direction": "up"}).status_code == 302
    order = list(ContactGroup.objects.order_by("position").values_list("label", flat=True))
    assert order == ["A", "C", "B"]

    admin_client.post(
        reverse("adminaccess:contact-structure-group-shift", kwargs={"group_id": a.pk}), {"direction": "down"}
    )
    order = list(ContactGroup.objects.order_by("position").values_list("label", flat=True))
    assert order == ["C", "A", "B"]
    assert last_event().details["action"] == "contact_group_moved"


def test_moving_the_first_group_up_changes_nothing(admin_client, authority):
    a = group(authority, "A", position=0)
    group(authority, "B", position=1)
    before = counts()
    shift = reverse("adminaccess:contact-structure-group-shift", kwargs={"group_id": a.pk})
    admin_client.post(shift, {"direction": "up"})
    assert counts() == before


def test_it_refuses_a_move_without_a_direction(admin_client, authority):
    a = group(authority, "A")
    shift = reverse("adminaccess:contact-structure-group-shift", kwargs={"group_id": a.pk})
    assert admin_client.post(shift, {"direction": "sideways"}).status_code == 400


def test_it_deletes_an_empty_group(admin_client, authority):
    g = group(authority, "Tom")
    url = reverse("adminaccess:contact-structure-group-delete", kwargs={"group_id": g.pk})

    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url)

    assert response.status_code == 302
    assert not ContactGroup.objects.exists()
    assert last_event().details == {"action": "contact_group_deleted", "groupId": g.pk, "label": "Tom"}


@pytest.mark.parametrize("content", ["group", "point"])
def test_it_refuses_deleting_a_group_that_is_not_empty(admin_client, authority, content):
    g = group(authority, "Borger")
    if content == "group":
        group(authority, "Familie", parent=g)
    else:
        make_contact_point(authority, group=g)
    before = counts()
    url = reverse("adminaccess:contact-structure-group-delete", kwargs={"group_id": g.pk})

    response = admin_client.post(url)

    assert response.status_code == 400
    groups, points = (1, 0) if content == "group" else (0, 1)
    assert response.context["error"] == (
        f"“Borger” still holds {groups} groups and {points} contact points. Move or delete them first."
    )
    assert counts() == before


@pytest.mark.parametrize("name", ["group-edit", "group-delete", "group-shift"])
def test_a_group_of_another_organisation_is_404(admin_client, name):
    foreign = group(OrganisationFactory(), "Fremmed")
    before = counts()
    url = reverse(f"adminaccess:contact-structure-{name}", kwargs={"group_id": foreign.pk})

    assert admin_client.get(url).status_code in (404, 405)
    assert (
        admin_client.post(url, group_post(label="Mit", position="0") | {"direction": "up"}).status_code == 404
    )
    foreign.refresh_from_db()
    assert foreign.label == "Fremmed"
    assert counts() == before
