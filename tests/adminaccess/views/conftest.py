import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english(client):
    """Assert on the English msgids, whatever catalogue exists: requests and services alike."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield
