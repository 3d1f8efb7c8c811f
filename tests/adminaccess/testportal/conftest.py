import pytest


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English, so the assertions hold once the Danish catalogue exists."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
