"""Routing rules of a contact point: KLE prefix or content key/value -> recipient system."""

import pytest
from django.urls import reverse

from adminaccess.models import System
from contactstructure.models import RoutingRule
from tests.contactstructure.views.helpers import counts, last_event
from tests.factories import OrganisationFactory, make_contact_point, make_system

pytestmark = pytest.mark.django_db


@pytest.fixture
def point(authority):
    return make_contact_point(authority, contact_point_id="pas")


def create_url(point):
    return reverse("adminaccess:contact-structure-rule-create", kwargs={"point_id": point.pk})


def rule_post(system, **overrides):
    data = {
        "priority": "10",
        "kle_prefix": "",
        "content_key": "",
        "content_value": "",
        "recipient_system": system.pk,
    }
    data.update(overrides)
    return {f"rule-{name}": value for name, value in data.items()}


def test_it_adds_a_kle_rule_and_logs_it(admin_client, point, recipient, administrator):
    response = admin_client.post(create_url(point), rule_post(recipient, kle_prefix="27.24"))

    assert response.status_code == 302
    rule = RoutingRule.objects.get()
    assert (rule.contact_point, rule.kle_prefix, rule.priority, rule.recipient_system) == (
        point,
        "27.24",
        10,
        recipient,
    )
    event = last_event()
    assert (event.actor_user, event.system) == (administrator.user, recipient)
    assert event.details["action"] == "routing_rule_created"


def test_it_adds_a_content_rule(admin_client, point, recipient):
    admin_client.post(
        create_url(point), rule_post(recipient, content_key="afdeling", content_value="jobcenter")
    )
    rule = RoutingRule.objects.get()
    assert (rule.kle_prefix, rule.content_key, rule.content_value) == ("", "afdeling", "jobcenter")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({}, "kle_prefix", "A rule needs a KLE prefix or a content key."),
        ({"kle_prefix": "27.2"}, "kle_prefix", "27.2 is not a KLE code (NN, NN.NN or NN.NN.NN)."),
        ({"content_value": "x"}, "content_key", "A content value needs a content key."),
    ],
)
def test_it_refuses_a_rule_without_a_sound_condition(
    admin_client, point, recipient, overrides, field, message
):
    before = counts()
    response = admin_client.post(create_url(point), rule_post(recipient, **overrides))
    assert response.status_code == 400
    assert response.context["rule_form"].errors[field] == [message]
    assert counts() == before


def test_it_refuses_a_system_of_another_organisation(admin_client, point):
    foreign, _ = make_system(OrganisationFactory(), kind=System.Kind.RECIPIENT, protocol="REST_PULL")
    before = counts()
    response = admin_client.post(create_url(point), rule_post(foreign, kle_prefix="27"))
    assert response.status_code == 400
    assert list(response.context["rule_form"].errors) == ["recipient_system"]
    assert counts() == before


def test_it_edits_and_deletes_a_rule(admin_client, authority, point, recipient):
    other, _ = make_system(authority, kind=System.Kind.RECIPIENT, protocol="REST_PULL", name="Jobcenter")
    rule = point.routing_rules.create(kle_prefix="27", recipient_system=recipient)
    edit = reverse(
        "adminaccess:contact-structure-rule-edit", kwargs={"point_id": point.pk, "rule_id": rule.pk}
    )

    assert admin_client.get(edit).status_code == 200
    response = admin_client.post(edit, rule_post(other, kle_prefix="27.24", priority="5"))

    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.kle_prefix, rule.priority, rule.recipient_system) == ("27.24", 5, other)
    assert last_event().details["changes"]["kle_prefix"] == ["27", "27.24"]

    delete = reverse(
        "adminaccess:contact-structure-rule-delete", kwargs={"point_id": point.pk, "rule_id": rule.pk}
    )
    assert admin_client.post(delete).status_code == 302
    assert not RoutingRule.objects.exists()
    assert last_event().details["action"] == "routing_rule_deleted"


def test_a_rule_of_another_point_is_404(admin_client, authority, point, recipient):
    foreign_point = make_contact_point(OrganisationFactory())
    foreign_system, _ = make_system(
        foreign_point.organisation, kind=System.Kind.RECIPIENT, protocol="REST_PULL"
    )
    foreign = foreign_point.routing_rules.create(kle_prefix="27", recipient_system=foreign_system)
    before = counts()

    for name in ("rule-edit", "rule-delete"):
        # Through one's own point, the other's rule id is still not found.
        url = reverse(
            f"adminaccess:contact-structure-{name}", kwargs={"point_id": point.pk, "rule_id": foreign.pk}
        )
        assert admin_client.post(url, rule_post(recipient, kle_prefix="05")).status_code == 404
    foreign.refresh_from_db()
    assert foreign.kle_prefix == "27"
    assert counts() == before
