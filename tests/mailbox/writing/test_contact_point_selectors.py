import pytest

from contactstructure.models import ContactGroup
from contactstructure.selectors import contact_group_tree, contact_point_for_writing, contact_points_search
from tests.factories import make_contact_point

pytestmark = pytest.mark.django_db


def test_search_ranks_a_label_that_starts_with_the_query_first(town):
    keyword = make_contact_point(town, label="Borgerservice", keywords=["pas"])
    contains = make_contact_point(town, label="Fornyelse af pas")
    starts = make_contact_point(town, label="Pas og kørekort")

    assert contact_points_search("pas") == [starts, contains, keyword]


def test_search_needs_every_word_and_matches_the_authority_name(town):
    point = make_contact_point(town, label="Affald", keywords=["storskrald"])
    make_contact_point(town, label="Affald erhverv")

    assert contact_points_search("storskrald byens") == [point]
    assert contact_points_search("  ") == []


def test_a_point_under_a_hidden_ancestor_group_is_hidden(town):
    hidden = ContactGroup.objects.create(organisation=town, label="Skjult", is_visible=False)
    child = ContactGroup.objects.create(organisation=town, parent=hidden, label="Synligt barn")
    point = make_contact_point(town, label="Under skjult", group=child)

    assert contact_points_search("under skjult") == []
    assert contact_point_for_writing(key=point.deep_link_key) is None
    assert contact_group_tree(town).is_empty


def test_the_tree_keeps_order_and_leaves_out_empty_and_hidden_branches(town):
    second = ContactGroup.objects.create(organisation=town, label="B-gruppe", position=2)
    first = ContactGroup.objects.create(organisation=town, label="A-gruppe", position=1)
    ContactGroup.objects.create(organisation=town, parent=first, label="Tom undergruppe")
    inner = ContactGroup.objects.create(organisation=town, parent=first, label="Undergruppe")
    make_contact_point(town, label="Inde", group=inner)
    make_contact_point(town, label="Anden", group=second)
    make_contact_point(town, label="Inaktiv", group=second, is_active=False)
    loose = make_contact_point(town, label="Uden gruppe")

    tree = contact_group_tree(town)

    assert [node.group.label for node in tree.groups] == ["A-gruppe", "B-gruppe"]
    assert [node.group.label for node in tree.groups[0].children] == ["Undergruppe"]
    assert [p.label for p in tree.groups[1].points] == ["Anden"]
    assert tree.points == [loose]


@pytest.mark.parametrize("query", ["BØRNEHAVE", "rnehave", "skolebørn 0-6", "Byens børn"])
def test_search_matches_danish_letters_and_case_in_labels_and_keywords(town, query):
    point = make_contact_point(town, label="Børnehaver", keywords=["Skolebørn", "0-6 år"])
    make_contact_point(town, label="Ældrepleje", keywords=["hjemmehjælp"])

    assert contact_points_search(query) == [point]
