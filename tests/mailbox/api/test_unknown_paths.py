"""Paths under /apis/ that name no operation, and methods a path does not take: the answer is
NgDP's JSON error body, never the site's HTML page."""

from __future__ import annotations

import uuid

import pytest

from adminaccess.models import System
from tests.factories import OrganisationFactory, make_system
from tests.mailbox.api.helpers import basic

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth():
    system, token = make_system(OrganisationFactory())
    return basic(system, token)


def _error(response, status_code: int, code: str) -> dict:
    assert response.status_code == status_code
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code
    assert body["fieldErrors"] == []
    return body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/apis/v1/memos/null,null"),
        ("delete", "/apis/v1/memos/not-a-uuid"),
        ("post", "/apis/v1/memos/12345/receipt"),
        ("get", "/apis/v1/receipts/null"),
        ("get", "/apis/v1/nothing-here/"),
        ("get", "/apis/v2/memos/"),
        ("get", "/apis/"),
    ],
)
def test_a_path_that_names_no_operation_is_a_json_404(client, auth, method, path):
    response = getattr(client, method)(path, **auth)
    body = _error(response, 404, "NOT_FOUND")
    assert path in body["message"]


def test_the_404_needs_no_credentials(client):
    _error(client.get("/apis/v1/memos/null"), 404, "NOT_FOUND")


def test_get_without_the_trailing_slash_is_redirected_as_before(client, auth):
    response = client.get("/apis/v1/memos?page=0&size=5", **auth)
    assert response.status_code == 301
    assert response["Location"] == "/apis/v1/memos/?page=0&size=5"


def test_post_without_the_trailing_slash_is_told_the_path(client, auth):
    message_uuid = uuid.uuid4()
    response = client.post(
        f"/apis/v1/memos?memo-message-uuid={message_uuid}",
        data=b"<x/>",
        content_type="application/xml",
        **auth,
    )
    body = _error(response, 404, "NOT_FOUND")
    assert "/apis/v1/memos/" in body["message"]


def test_a_method_the_path_does_not_take_is_a_json_405(client, auth):
    response = client.put("/apis/v1/memos/", data=b"", content_type="application/xml", **auth)
    body = _error(response, 405, "METHOD_NOT_ALLOWED")
    assert response["Allow"] == "POST, GET"
    assert "PUT" in body["message"]


def test_a_method_an_operation_view_does_not_take_is_a_json_405(client):
    system, token = make_system(OrganisationFactory(), kind=System.Kind.RECIPIENT)
    response = client.put(f"/apis/v1/memos/{uuid.uuid4()}/receipt", data=b"{}", **basic(system, token))
    _error(response, 405, "METHOD_NOT_ALLOWED")


def test_site_pages_keep_their_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
