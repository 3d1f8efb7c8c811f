import pytest


@pytest.fixture
def authority(db):
    from tests.factories import OrganisationFactory

    return OrganisationFactory(name="Test Kommune")


@pytest.fixture
def citizen(db):
    from tests.factories import PersonFactory

    return PersonFactory(name="Test Borger")
