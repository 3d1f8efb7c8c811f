"""The database refuses contact groups, contact points and routing rules that break the rules."""

import pytest
from django.db import IntegrityError, transaction

import contactstructure.models
from adminaccess.models import System
from contactstructure.models import (
    CITIZEN_MAX_ATTACHMENTS,
    CITIZEN_MAX_BYTES,
    ContactGroup,
    ContactPoint,
    RoutingRule,
)
from tests.factories import (
    OrganisationFactory,
    constraints_violated_in,
    declared_constraints,
    make_contact_point,
    make_system,
    violates,
)

pytestmark = pytest.mark.django_db


def test_every_constraint_in_contactstructure_models_has_a_test_here():
    untested = declared_constraints(contactstructure.models) - constraints_violated_in(__file__)
    assert sorted(untested) == []


def _group(organisation, label="Familie", parent=None) -> ContactGroup:
    return ContactGroup.objects.create(organisation=organisation, parent=parent, label=label)


# ContactGroup


def test_sibling_groups_cannot_share_a_label():
    organisation = OrganisationFactory()
    parent = _group(organisation, "Borger")
    _group(organisation, "Familie", parent=parent)
    with violates("contactgroup_label_unique", ContactGroup):
        _group(organisation, "Familie", parent=parent)


def test_groups_under_different_parents_or_organisations_may_share_a_label():
    organisation, other = OrganisationFactory(), OrganisationFactory()
    citizens, companies = _group(organisation, "Borger"), _group(organisation, "Virksomhed")
    _group(organisation, "Skat", parent=citizens)
    _group(organisation, "Skat", parent=companies)
    _group(other, "Borger")
    assert ContactGroup.objects.filter(label="Skat").count() == 2
    assert ContactGroup.objects.filter(label="Borger").count() == 2


def test_top_level_groups_of_an_organisation_cannot_share_a_label():
    organisation = OrganisationFactory()
    _group(organisation, "Borger")
    with violates("contactgroup_top_level_label_unique", ContactGroup):
        _group(organisation, "Borger")
    assert ContactGroup.objects.filter(organisation=organisation, label="Borger").count() == 1


def test_a_group_cannot_be_its_own_parent():
    group = _group(OrganisationFactory())
    group.parent = group
    with violates("contactgroup_not_own_parent", ContactGroup):
        group.save(update_fields=["parent"])
    group.refresh_from_db()
    assert group.parent is None


# ContactPoint


def test_a_contact_point_id_is_unique_in_its_organisation_but_not_across_organisations():
    organisation, other = OrganisationFactory(), OrganisationFactory()
    make_contact_point(organisation, contact_point_id="borgerservice")
    with violates("contactpoint_id_unique_in_organisation", ContactPoint):
        make_contact_point(organisation, contact_point_id="borgerservice", label="Twin")
    make_contact_point(other, contact_point_id="borgerservice")
    assert ContactPoint.objects.filter(contact_point_id="borgerservice").count() == 2


@pytest.mark.parametrize("max_size_bytes", [0, CITIZEN_MAX_BYTES + 1])
def test_a_contact_point_size_limit_is_between_one_byte_and_the_citizen_limit(max_size_bytes):
    with violates("contactpoint_size_within_citizen_limit", ContactPoint):
        make_contact_point(max_size_bytes=max_size_bytes)


@pytest.mark.parametrize("max_size_bytes", [1, CITIZEN_MAX_BYTES])
def test_a_contact_point_size_limit_at_either_bound_saves(max_size_bytes):
    point = make_contact_point(max_size_bytes=max_size_bytes)
    assert ContactPoint.objects.get(pk=point.pk).max_size_bytes == max_size_bytes


def test_a_contact_point_cannot_allow_more_attachments_than_a_citizen_may_send():
    with violates("contactpoint_attachments_within_limit", ContactPoint):
        make_contact_point(max_attachments=CITIZEN_MAX_ATTACHMENTS + 1)


@pytest.mark.parametrize("max_attachments", [0, CITIZEN_MAX_ATTACHMENTS])
def test_a_contact_point_may_allow_from_none_to_the_citizen_limit_of_attachments(max_attachments):
    point = make_contact_point(max_attachments=max_attachments)
    assert ContactPoint.objects.get(pk=point.pk).max_attachments == max_attachments


def test_a_required_first_field_has_a_label():
    with violates("contactpoint_field1_labelled", ContactPoint):
        make_contact_point(field1_required=True, field1_label="")


def test_a_required_second_field_has_a_label():
    with violates("contactpoint_field2_labelled", ContactPoint):
        make_contact_point(field2_required=True, field2_label="")


def test_labelled_fields_may_be_required_and_unlabelled_ones_optional():
    point = make_contact_point(
        field1_label="Sagsnummer", field1_required=True, field2_label="", field2_required=False
    )
    assert ContactPoint.objects.get(pk=point.pk).field1_required is True


def test_a_deep_link_key_belongs_to_one_contact_point():
    point = make_contact_point()
    with pytest.raises(IntegrityError), transaction.atomic():
        make_contact_point(point.organisation, deep_link_key=point.deep_link_key)
    assert ContactPoint.objects.filter(deep_link_key=point.deep_link_key).count() == 1


# RoutingRule


def _rule(**fields) -> RoutingRule:
    point = make_contact_point()
    system, _ = make_system(point.organisation, kind=System.Kind.RECIPIENT)
    return RoutingRule.objects.create(contact_point=point, recipient_system=system, **fields)


def test_a_routing_rule_has_a_condition():
    with violates("routingrule_has_a_condition", RoutingRule):
        _rule(kle_prefix="", content_key="")


@pytest.mark.parametrize(
    "condition",
    [{"kle_prefix": "27.24"}, {"content_key": "sagstype", "content_value": "klage"}],
)
def test_a_routing_rule_may_match_on_kle_or_on_content(condition):
    rule = _rule(**condition)
    assert RoutingRule.objects.filter(pk=rule.pk).count() == 1
