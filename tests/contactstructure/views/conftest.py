import pytest
from django.conf import settings

from adminaccess.models import System
from tests.contactstructure.views.helpers import staff_member
from tests.factories import OrganisationFactory, make_system


@pytest.fixture
def authority(db):
    return OrganisationFactory(name="Test Kommune", cvr="29189838")


@pytest.fixture
def administrator(authority):
    return staff_member(authority)


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator.user)
    # Messages are asserted in English, the language they are written in.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def recipient(authority):
    system, _ = make_system(authority, kind=System.Kind.RECIPIENT, protocol="REST_PULL", name="Sag og Dok")
    return system
