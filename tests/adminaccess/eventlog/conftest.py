import pytest


@pytest.fixture
def client(client):
    # The pages are Danish by default; the tests read the English msgids.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client
